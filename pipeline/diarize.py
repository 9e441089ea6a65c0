"""Speaker diarization of mono calls: ``load_diarizer(cfg)`` then ``diarize(audio, diarizer, cfg)``.

Backends (``DiarizationConfig.backend``):

* ``offline`` (default): Silero VAD + resemblyzer embeddings + two-state Viterbi, all from
  pip packages, no hub (:mod:`pipeline.diarization.offline`).
* ``pyannote``: a pretrained ``pyannote.audio`` pipeline from a local directory or hub id
  (:mod:`pipeline.diarization.pyannote_backend`).

The result is a :class:`Diarization` of anonymous labels (``SPEAKER_00``...); which label is
the agent is decided later by :func:`pipeline.roles.assign_roles`.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from pipeline.audio import Audio
from pipeline.config import DiarizationConfig
from pipeline.diarization.rttm import Diarization, SpeakerTurn, read_rttm, write_rttm
from pipeline.errors import DiarizationError

logger = logging.getLogger(__name__)

__all__ = ["Diarization", "Diarizer", "SpeakerTurn", "diarize", "load_diarizer", "read_rttm", "write_rttm"]


class Diarizer(Protocol):
    """Anything that turns 16 kHz mono samples into speaker turns."""

    backend: str

    def __call__(self, samples: np.ndarray, *, uri: str = "call", hook: Callable | None = None) -> Diarization: ...


@functools.lru_cache(maxsize=4)
def load_diarizer(cfg: DiarizationConfig) -> Diarizer:
    """The configured backend with its models loaded (cached per configuration)."""
    if cfg.backend == "offline":
        from pipeline.diarization.offline import OfflineDiarizer

        return OfflineDiarizer(cfg)
    if cfg.backend == "pyannote":
        from pipeline.diarization.pyannote_backend import PyannoteDiarizer

        return PyannoteDiarizer(cfg)
    raise DiarizationError(f"diarization.backend: expected 'offline' or 'pyannote', found {cfg.backend!r}")


def diarize(audio: Audio, diarizer: Diarizer, cfg: DiarizationConfig, *, hook: Callable | None = None) -> Diarization:
    """Speaker turns of the mono mix of ``audio`` (16 kHz); turns are sorted by start time."""
    if audio.sample_rate != 16000:
        raise DiarizationError(
            f"{audio.source_path}: expected 16 kHz audio from pipeline.audio.load_audio, found {audio.sample_rate} Hz"
        )
    uri = Path(audio.source_path).name.split(".")[0] or "call"
    result = diarizer(audio.mono(), uri=uri, hook=hook)
    logger.info("%s: %d turns, speakers %s (%s)", uri, len(result.turns), result.speakers, diarizer.backend)
    return result
