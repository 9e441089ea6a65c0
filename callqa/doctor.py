"""`callqa doctor`: is this machine ready for a nightly run? One line per check, with the fix.

Each check looks without changing anything that stays: the decoder test writes to a temporary
folder, the database write is rolled back, and a SQLite file that does not exist yet is not made.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError

MIN_FREE_BYTES = 1 << 30  # below 1 GiB a night's transcripts and reports may not fit
LOW_FREE_BYTES = 5 << 30


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check: ``status`` is ok, warn (a run still works) or fail."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}" + (f"; fix: {self.fix}" if self.fix else "")


def _nearest_existing(path: Path) -> Path:
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(path: Path) -> tuple[bool, Path]:
    """Whether ``path`` is (or could be created as) a writable directory, and the folder that decides."""
    existing = _nearest_existing(path)
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK), existing


def check_decoding() -> Check:
    """PyAV/FFmpeg decodes a generated stereo tone (WAV and FLAC) to the expected length."""
    import av
    import numpy as np
    import soundfile as sf

    from pipeline.audio import decode_audio

    seconds, rate = 1.0, 8000
    t = np.arange(int(seconds * rate)) / rate
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.3 * np.sin(2 * np.pi * 330 * t)], axis=1)
    versions = ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in av.library_versions.items()
                         if k in ("libavcodec", "libavformat"))
    with tempfile.TemporaryDirectory(prefix="callqa-doctor-") as folder:
        try:
            for fmt in ("WAV", "FLAC"):
                path = Path(folder) / f"tone.{fmt.lower()}"
                sf.write(path, stereo, rate, format=fmt, subtype="PCM_16")
                audio = decode_audio(path)
                if audio.num_channels != 2 or abs(audio.duration_s - seconds) > 0.05:
                    return Check("decoding", "fail", f"a {seconds:.0f} s stereo {fmt} tone decoded to "
                                 f"{audio.num_channels} channel(s), {audio.duration_s:.2f} s",
                                 "reinstall PyAV (`pip install --force-reinstall av`)")
        except (CallQAError, OSError, RuntimeError) as e:
            return Check("decoding", "fail", f"PyAV {av.__version__} cannot decode a generated tone ({e})",
                         "reinstall PyAV (`pip install --force-reinstall av`), which bundles FFmpeg")
    return Check("decoding", "ok", f"PyAV {av.__version__} decodes WAV and FLAC ({versions})")


def check_model(cfg: PipelineConfig) -> Check:
    """The configured Whisper model is on disk and, for registry models, matches its checksum."""
    from pipeline.models import REGISTRY, is_complete, model_status, resolve_whisper_model

    name = cfg.asr.model
    if name in REGISTRY:
        status = model_status(REGISTRY[name], cfg.asr.models_dir)
        if status.ready:
            return Check("model", "ok", f"{name} in {status.path} ({status.size_bytes / 1e6:.0f} MB, sha256 ok)")
        problem = "checksum mismatch" if status.present else "not assembled"
        return Check("model", "fail", f"{name}: {problem} in {status.path}", status.fix)
    try:
        where = resolve_whisper_model(name, cfg.asr.models_dir)
    except CallQAError as e:
        return Check("model", "fail", str(e), "set asr.model to whisper-base or to a model directory")
    if Path(where).is_dir() and is_complete(Path(where)):
        return Check("model", "ok", f"{name}: complete CTranslate2 model in {where} (no checksum known)")
    return Check("model", "warn", f"{name} is a hub id: faster-whisper downloads it on first use",
                 "make sure the hub is reachable, or convert the model to a local directory")


def check_database(cfg: PipelineConfig) -> Check:
    """The results database is reachable and accepts a write (rolled back)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = cfg.store.url
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Check("database", "fail", f"store.url {url!r} is not a SQLAlchemy URL",
                     "use e.g. sqlite:///reports/callqa.db or postgresql+psycopg://user:pass@host/db")
    shown = parsed.render_as_string(hide_password=True)
    sqlite_file = None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        sqlite_file = Path(parsed.database)
        ok, folder = _writable(sqlite_file.parent)
        if not sqlite_file.exists():
            if ok:
                return Check("database", "ok", f"{shown}: not created yet; {folder} is writable")
            return Check("database", "fail", f"{shown}: cannot create it, {folder} is not a writable directory",
                         "point store.url at a writable location")
        if not (ok and os.access(sqlite_file, os.W_OK)):
            return Check("database", "fail", f"{shown}: the file or its folder is read-only",
                         "make both writable by the user running callqa, or point store.url elsewhere")
    try:
        timeout = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
        engine = create_engine(parsed, connect_args=timeout)
        with engine.connect() as conn:
            if sqlite_file is not None:  # SQLite commits DDL at once: check it reads, rights were checked above
                conn.execute(text("PRAGMA schema_version"))
            else:  # PostgreSQL rolls DDL back with the transaction
                transaction = conn.begin()
                conn.execute(text("CREATE TABLE callqa_doctor_check (id INTEGER)"))
                transaction.rollback()
        engine.dispose()
    except ModuleNotFoundError as e:
        return Check("database", "fail", f"{shown}: driver not installed ({e})", "pip install 'callqa[postgres]'")
    except SQLAlchemyError as e:
        reason = " ".join(str(e.orig if getattr(e, "orig", None) else e).split())
        return Check("database", "fail", f"{shown}: not reachable or not writable ({reason})",
                     "start the database server, check the URL and the user's rights, or use a SQLite file")
    return Check("database", "ok", f"{shown}: reachable and writable")


def check_prefect_home(cfg: PipelineConfig) -> Check:
    """Prefect's home (what `callqa run` uses) can be written."""
    home = Path(os.environ.get("PREFECT_HOME") or cfg.report.out_dir / ".prefect")
    ok, folder = _writable(home)
    if ok:
        return Check("prefect home", "ok", f"{home.resolve()} is writable")
    return Check("prefect home", "fail", f"{home.resolve()}: {folder} is not writable",
                 "set PREFECT_HOME to a writable directory, or report.out_dir")


def check_disk(cfg: PipelineConfig) -> Check:
    """Free space where transcripts and reports go."""
    folder = _nearest_existing(cfg.report.out_dir)
    free = shutil.disk_usage(folder).free
    detail = f"{free / 2**30:.1f} GiB free under {folder} (transcripts and reports: report.out_dir)"
    if free < MIN_FREE_BYTES:
        return Check("disk", "fail", detail, "free space or point report.out_dir at a larger disk")
    if free < LOW_FREE_BYTES:
        return Check("disk", "warn", detail, "a month of reports may not fit; free some space")
    return Check("disk", "ok", detail)


def check_browser() -> Check:
    """Chromium and chromedriver, only needed by the browser tests (never a failure)."""
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if browser and driver:
        return Check("chromium", "ok", f"{shutil.which(browser)} and {driver} (browser tests run)")
    missing = " and ".join(n for n, found in (("Chromium", browser), ("chromedriver", driver)) if not found)
    return Check("chromium", "warn", f"{missing} not installed: the browser tests will be skipped (runs do not "
                 "need it)", "apt-get install chromium chromium-driver")


def run_checks(cfg: PipelineConfig) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        check_decoding, lambda: check_model(cfg), lambda: check_database(cfg), lambda: check_prefect_home(cfg),
        lambda: check_disk(cfg), check_browser,
    ]
    return [check() for check in checks]
