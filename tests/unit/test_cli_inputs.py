"""What the command line does with the inputs a user names: each recording once, none skipped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callqa.cli import app
from pipeline.types import CallMeta, Transcript


@pytest.fixture
def processed(monkeypatch):
    """Replace model loading and per-call processing by a recorder of the calls it was asked for."""
    import pipeline.calls

    seen: list[tuple[Path, CallMeta]] = []

    def fake_process(path, models, cfg, *, meta=None, progress=None):
        seen.append((Path(path), meta))
        return Transcript(call=meta, duration_s=1.0, utterances=())

    monkeypatch.setattr(pipeline.calls, "load_models", lambda cfg, diarization=True: None)
    monkeypatch.setattr(pipeline.calls, "process_call", fake_process)
    return seen


def test_named_file_unlisted_in_the_manifest_beside_it_is_transcribed(processed, tmp_path):
    folder = tmp_path / "some" / "dir"
    folder.mkdir(parents=True)
    (folder / "manifest.csv").write_text("file,call_id,agent_id\nother.wav,other,A01\n")
    for name in ("x.wav", "other.wav"):
        (folder / name).write_bytes(b"x")
    result = CliRunner().invoke(app, ["transcribe", str(folder / "x.wav"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert [(p.name, m.call_id) for p, m in processed] == [("x.wav", "x")]
    assert "1 transcripts written" in result.output


def test_files_with_one_manifest_are_transcribed_once_each(processed, tmp_path):
    manifest = tmp_path / "M.csv"
    manifest.write_text("file,call_id\n" + "".join(f"f{i}.wav,call{i}\n" for i in range(10)))
    files = [tmp_path / f"f{i}.wav" for i in range(10)]
    for path in files:
        path.write_bytes(b"x")
    result = CliRunner().invoke(app, ["transcribe", *map(str, files), "--manifest", str(manifest),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(m.call_id for _, m in processed) == sorted(f"call{i}" for i in range(10))
    assert "10 transcripts written" in result.output


def test_empty_manifest_fails_naming_it(processed, tmp_path):
    (tmp_path / "manifest.csv").write_text("file,call_id\n")
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path / "manifest.csv")])
    assert result.exit_code == 2
    assert "manifest lists no recordings" in result.output and "manifest.csv" in result.output
    assert processed == []


def test_directory_without_recordings_fails(processed, tmp_path):
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path)])
    assert result.exit_code == 2 and "no recordings" in result.output


def test_no_pkg_resources_warning_from_jieba_or_resemblyzer():
    """Issue 11: every command printed jieba's `pkg_resources is deprecated` warning."""
    code = ("import warnings; warnings.simplefilter('default'); import pipeline.rules.text; "
            "from pipeline.diarization.offline import load_voice_encoder; load_voice_encoder()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert "pkg_resources" not in result.stderr


def test_run_with_an_empty_date_window_warns_and_fails_under_strict(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import flows

    summary = SimpleNamespace(n_scored=0, n_transcribed=0, n_cached=0, n_failed=0, elapsed_s=0.1, report_s=0.0,
                              mean_score=None, failures=(), index_html=str(tmp_path / "index.html"))
    monkeypatch.setattr(flows, "run_nightly", lambda source, **kwargs: summary)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    args = ["run", str(tmp_path), "--since", "2030-01-01"]
    relaxed = CliRunner().invoke(app, args)
    assert relaxed.exit_code == 0 and "warning: no call recorded between 2030-01-01 and now" in relaxed.output
    assert CliRunner().invoke(app, [*args, "--strict"]).exit_code == 1
