"""callqa: quality assurance for Mandarin customer-service calls.

Stages are plain functions over the frozen types in :mod:`pipeline.types`; model-backed
stages come in pairs (``load_x(cfg)`` then ``x(input, model, cfg)``).
"""
from __future__ import annotations

__version__ = "0.1.0"

from pipeline.audio import Audio, decode_audio, load_audio  # noqa: E402
from pipeline.config import PipelineConfig, load_config  # noqa: E402
from pipeline.errors import (  # noqa: E402
    AudioError,
    CallQAError,
    ConfigError,
    DiarizationError,
    MetadataError,
    ModelNotFoundError,
    RulebookError,
    StoreError,
    TranscriptError,
)
from pipeline.types import CallMeta, CallQA, Finding, RoleAssignment, Transcript, Utterance, Word  # noqa: E402

__all__ = [
    "__version__",
    "Audio", "decode_audio", "load_audio",
    "PipelineConfig", "load_config",
    "AudioError", "CallQAError", "ConfigError", "DiarizationError", "MetadataError",
    "ModelNotFoundError", "RulebookError", "StoreError", "TranscriptError",
    "CallMeta", "CallQA", "Finding", "RoleAssignment", "Transcript", "Utterance", "Word",
]
