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

# Stage functions are imported on first use (PEP 562) so `import pipeline` stays light:
# torch, pandas and SQLAlchemy load only when a stage that needs them is called.
_LAZY = {
    "load_models": "pipeline.calls", "process_call": "pipeline.calls", "Models": "pipeline.calls",
    "load_whisper": "pipeline.transcribe", "transcribe_channel": "pipeline.transcribe",
    "resolve_whisper_model": "pipeline.models", "assemble_whisper_base": "pipeline.models",
    "discover_recordings": "pipeline.metadata", "call_meta": "pipeline.metadata",
    "load_diarizer": "pipeline.diarize", "diarize": "pipeline.diarize",
    "assign_word_speakers": "pipeline.align",
    "assign_roles": "pipeline.roles", "attribute_mono": "pipeline.roles", "check_stereo_roles": "pipeline.roles",
    "load_rulebook": "pipeline.rules", "match": "pipeline.rules", "assess": "pipeline.rules",
    "RuleOptions": "pipeline.rules",
    "score_call": "pipeline.scoring", "CallScore": "pipeline.scoring",
    "open_store": "pipeline.store", "write_reports": "pipeline.report",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")


__all__ = [
    "__version__",
    "Audio", "decode_audio", "load_audio",
    "PipelineConfig", "load_config",
    "AudioError", "CallQAError", "ConfigError", "DiarizationError", "MetadataError",
    "ModelNotFoundError", "RulebookError", "StoreError", "TranscriptError",
    "CallMeta", "CallQA", "Finding", "RoleAssignment", "Transcript", "Utterance", "Word",
    *_LAZY,
]
