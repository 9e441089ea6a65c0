"""`callqa doctor`: one line per check with its fix, non-zero exit when a run would fail."""
from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from callqa.cli import app
from callqa.doctor import check_database, check_decoding, run_checks
from pipeline.config import PipelineConfig


@pytest.fixture
def ready(tmp_path):
    """A config whose model, database and report folder all exist and are writable."""
    model = tmp_path / "ct2-model"
    model.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        (model / name).write_text("x")
    data = {"asr": {"model": str(model)}, "store": {"url": f"sqlite:///{tmp_path / 'db' / 'callqa.db'}"},
            "report": {"out_dir": str(tmp_path / "reports")}}
    path = tmp_path / "callqa.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _doctor(config, monkeypatch):
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    return CliRunner().invoke(app, ["doctor", "--config", str(config)])


def test_ready_machine_passes_with_one_line_per_check(ready, monkeypatch):
    result = _doctor(ready, monkeypatch)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines[:5]] == ["decoding", "model", "database", "prefect",
                                                                   "disk"]
    assert lines[0].startswith("ok   decoding: PyAV") and "complete CTranslate2 model" in lines[1]
    assert all(line.startswith(("ok ", "warn ")) for line in lines)


def test_missing_model_fails_and_says_how_to_get_it(ready, tmp_path, monkeypatch):
    data = yaml.safe_load(ready.read_text())
    data["asr"] = {"model": "whisper-base", "models_dir": str(tmp_path / "empty-models")}
    ready.write_text(yaml.safe_dump(data))
    result = _doctor(ready, monkeypatch)
    assert result.exit_code == 1
    [model_line] = [line for line in result.output.splitlines() if line.startswith("fail model:")]
    assert "not assembled" in model_line and "fix: run `callqa models whisper-base`" in model_line
    assert "error: not ready for a run: model" in result.output


def test_unwritable_database_and_prefect_home_fail(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cfg = PipelineConfig.model_validate({"store": {"url": f"sqlite:///{blocker / 'callqa.db'}"},
                                         "report": {"out_dir": str(blocker / "reports")}})
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    checks = {c.name: c for c in run_checks(cfg)}
    assert checks["database"].status == "fail" and "not a writable directory" in checks["database"].detail
    assert checks["prefect home"].status == "fail" and "PREFECT_HOME" in checks["prefect home"].fix
    assert checks["chromium"].status in ("ok", "warn")  # only the browser tests need it


def test_existing_database_gets_a_rolled_back_write(tmp_path):
    from sqlalchemy import create_engine, inspect

    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    create_engine(url).connect().close()
    cfg = PipelineConfig.model_validate({"store": {"url": url}})
    assert check_database(cfg).status == "ok"
    assert inspect(create_engine(url)).get_table_names() == []  # nothing left behind
    bad = PipelineConfig.model_validate({"store": {"url": "postgresql+psycopg://u:secret@127.0.0.1:9/x"}})
    check = check_database(bad)
    assert check.status == "fail" and "secret" not in check.line


def test_broken_decoder_is_a_failure_with_the_fix(monkeypatch):
    import pipeline.audio
    from pipeline.errors import AudioError

    def broken(path, **kwargs):
        raise AudioError(f"{path}: cannot decode audio")

    monkeypatch.setattr(pipeline.audio, "decode_audio", broken)
    check = check_decoding()
    assert check.status == "fail" and "reinstall PyAV" in check.fix
