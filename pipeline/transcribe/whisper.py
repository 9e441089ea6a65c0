"""Loading faster-whisper once per process, with a thread layout that fits the machine."""
from __future__ import annotations

import os
from functools import lru_cache

from pipeline.config import AsrConfig
from pipeline.errors import ModelNotFoundError
from pipeline.models import resolve_whisper_model


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_layout(cfg: AsrConfig) -> tuple[int, int]:
    """``(threads per worker, workers)`` for CTranslate2: ``asr.cpu_threads`` 0 shares the usable
    cores evenly among ``asr.num_workers``."""
    threads = cfg.cpu_threads or max(1, usable_cores() // cfg.num_workers)
    return threads, cfg.num_workers


def load_whisper(cfg: AsrConfig):
    """Load (once per model/device/compute type/thread layout) the configured faster-whisper model."""
    path = resolve_whisper_model(cfg.model, cfg.models_dir)
    threads, workers = thread_layout(cfg)
    return _load_whisper_cached(path, cfg.device, cfg.compute_type, threads, workers)


@lru_cache(maxsize=2)
def _load_whisper_cached(path: str, device: str, compute_type: str, cpu_threads: int, num_workers: int = 1):
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                            num_workers=num_workers)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelNotFoundError(
            f"cannot load Whisper model {path!r} on {device}/{compute_type}: {e}. Check asr.model, and that "
            "asr.device/asr.compute_type are supported here (cpu: int8 or float32; cuda: float16 or int8_float16)"
        ) from e
