"""One small error hierarchy: every failure the library raises is a ``CallQAError``.

Messages say what was expected, what was found, and how to fix it, and name the
file (or rule, or model) involved, so a nightly log line is enough to act on.
"""
from __future__ import annotations


class CallQAError(Exception):
    """Base class of every error raised by callqa."""


class ConfigError(CallQAError):
    """A configuration file or option is invalid."""


class AudioError(CallQAError):
    """An audio file is missing, empty, corrupt, too long or silent."""


class ModelNotFoundError(CallQAError):
    """A configured model is not installed where it was looked for."""


class MetadataError(CallQAError):
    """A manifest or filename does not give the call metadata needed."""


class TranscriptError(CallQAError):
    """A transcript file does not follow the documented schema."""


class DiarizationError(CallQAError):
    """Speaker diarization or role assignment failed."""


class RulebookError(CallQAError):
    """A rulebook is malformed; the message names the rule and YAML line."""


class StoreError(CallQAError):
    """The results database cannot be opened or written."""
