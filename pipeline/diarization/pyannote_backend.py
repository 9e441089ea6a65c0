"""pyannote.audio backend: a pretrained pipeline from a local directory or the hub.

Install the real pipeline once on a machine with hub access, then copy the directory::

    huggingface-cli download pyannote/speaker-diarization-community-1 --local-dir models/pyannote-community-1

(accept the model's conditions on huggingface.co first; the download needs a token). The
directory holds ``config.yaml`` plus the segmentation/embedding checkpoints it points to.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from pipeline.config import DiarizationConfig
from pipeline.diarization.rttm import Diarization, SpeakerTurn
from pipeline.errors import DiarizationError, ModelNotFoundError

logger = logging.getLogger(__name__)


def _telemetry_off() -> None:
    # pyannote.audio 4 reports usage metrics unless told not to; calls are private data.
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    try:
        from pyannote.audio.telemetry import set_telemetry_metrics

        set_telemetry_metrics(False)
    except ImportError:  # older pyannote.audio without telemetry
        pass


def load_pyannote_pipeline(cfg: DiarizationConfig):
    """``Pipeline.from_pretrained`` on a local directory (or hub id + token), moved to ``cfg.device``."""
    _telemetry_off()
    try:
        import torch
        from pyannote.audio import Pipeline
    except ImportError as e:
        raise ModelNotFoundError(f"pyannote.audio is not installed ({e}); `pip install pyannote.audio==4.0.7`") from e
    source = cfg.pyannote_pipeline
    local = Path(source)
    if local.exists():
        if not (local / "config.yaml").exists() and local.is_dir():
            raise ModelNotFoundError(
                f"{local}: expected a pyannote pipeline directory with config.yaml, found "
                f"{sorted(p.name for p in local.iterdir())[:8]}; download it as described in models/README.md"
            )
        checkpoint = local
    elif "/" in source and not source.startswith((".", "/")) and not local.parent.exists():
        checkpoint = source  # hub id such as pyannote/speaker-diarization-community-1
    else:
        raise ModelNotFoundError(
            f"{source}: pyannote pipeline directory not found; download it with `huggingface-cli download "
            f"pyannote/speaker-diarization-community-1 --local-dir {source}` on a machine with hub access, "
            "or set diarization.backend: offline"
        )
    try:
        pipeline = Pipeline.from_pretrained(checkpoint, token=cfg.hf_token)
    except Exception as e:  # pyannote raises anything from HTTP to YAML errors here
        raise ModelNotFoundError(f"{source}: cannot load the pyannote pipeline ({e.__class__.__name__}: {e})") from e
    if pipeline is None:  # pyannote returns None (after printing) when the hub refuses access
        raise ModelNotFoundError(
            f"{source}: pyannote returned no pipeline; for a hub id pass diarization.hf_token and accept "
            "the model's conditions, or use a local directory"
        )
    pipeline.to(torch.device(cfg.device))
    return pipeline


class PyannoteDiarizer:
    """Wraps a pyannote pipeline; audio goes in memory as ``{"waveform", "sample_rate"}``."""

    backend = "pyannote"

    def __init__(self, cfg: DiarizationConfig, pipeline=None):
        self.cfg = cfg
        self.pipeline = pipeline if pipeline is not None else load_pyannote_pipeline(cfg)

    def __call__(self, samples: np.ndarray, *, uri: str = "call", hook=None) -> Diarization:
        import torch

        cfg = self.cfg
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).unsqueeze(0)
        speakers = (
            {"num_speakers": cfg.num_speakers} if cfg.num_speakers is not None
            else {"min_speakers": cfg.min_speakers, "max_speakers": cfg.max_speakers}
        )
        try:
            output = self.pipeline({"waveform": waveform, "sample_rate": 16000, "uri": uri}, hook=hook, **speakers)
        except Exception as e:
            raise DiarizationError(f"{uri}: pyannote diarization failed ({e.__class__.__name__}: {e})") from e
        # pyannote 4 returns DiarizeOutput (.speaker_diarization); 3.x returns the Annotation itself.
        annotation = getattr(output, "speaker_diarization", output)
        turns = sorted(
            (SpeakerTurn(str(label), float(seg.start), float(seg.end))
             for seg, _, label in annotation.itertracks(yield_label=True)),
            key=lambda t: (t.start_s, t.end_s),
        )
        return Diarization(turns=tuple(turns), uri=uri, duration_s=len(samples) / 16000, backend=self.backend)
