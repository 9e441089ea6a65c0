"""Small frozen value types passed between stages, with ``to_dict``/``from_dict``.

Times are seconds from the start of the recording (``start_s``/``end_s``). The JSON
forms are the documented, versioned transcript and QA schemas (see README).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from pipeline.errors import TranscriptError

TRANSCRIPT_SCHEMA_VERSION = "1.0"
QA_SCHEMA_VERSION = "1.0"

Speaker = Literal["agent", "customer", "unknown"]
Layout = Literal["stereo", "mono"]

_MISSING = object()


def call_id_problem(call_id: object) -> str | None:
    """Why ``call_id`` cannot name a call's files (``<call_id>.json``), or ``None`` when it can."""
    if not isinstance(call_id, str) or not call_id.strip():
        return f"call id must be a non-empty string, found {call_id!r}"
    if call_id in (".", "..") or any(c in call_id for c in "/\\\0"):
        return f"call id {call_id!r} cannot be a file name (no '/', '\\', NUL, '.' or '..')"
    return None


def _field(data: Any, key: str, where: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """``data[key]`` checked against ``kind`` (a JSON type); messages give the path of the bad field."""
    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: expected an object, found {type(data).__name__}")
    value = data.get(key, default)
    if value is _MISSING:
        raise TranscriptError(f"{where}.{key}: required field is missing")
    if value is default:
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TranscriptError(f"{where}.{key}: expected a finite number, found {value!r}")
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise TranscriptError(f"{where}.{key}: expected {expected}, found {type(value).__name__} {value!r:.40}")
    return value


def _times(data: dict, where: str) -> tuple[float, float]:
    start, end = _field(data, "start_s", where, float), _field(data, "end_s", where, float)
    if start < 0 or end < start:
        raise TranscriptError(f"{where}: expected 0 <= start_s <= end_s, found start_s={start} end_s={end}")
    return start, end


def _strings(data: dict, key: str, where: str) -> tuple[str, ...]:
    values = _field(data, key, where, list, ())
    if not all(isinstance(v, str) for v in values):
        raise TranscriptError(f"{where}.{key}: expected a list of strings")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word (for Mandarin usually one to four characters)."""

    text: str
    start_s: float
    end_s: float
    probability: float
    speaker: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "word") -> Word:
        """Parse and check the JSON form; a malformed one raises :class:`TranscriptError`."""
        start, end = _times(data, where)
        return cls(
            text=_field(data, "text", where, str),
            start_s=start,
            end_s=end,
            probability=_field(data, "probability", where, float, 1.0),
            speaker=_field(data, "speaker", where, str, "unknown"),
        )


@dataclass(frozen=True, slots=True)
class Utterance:
    """A stretch of one speaker's speech bounded by pauses or speaker changes.

    ``text`` is normalised (Simplified Chinese); ``raw_text`` is what the model wrote.
    ``channel`` is the source channel for stereo calls and ``None`` for mono ones.
    """

    speaker: str
    start_s: float
    end_s: float
    text: str
    raw_text: str = ""
    channel: int | None = None
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def confidence(self) -> float:
        """Mean word probability (1.0 when the text has no word timings, e.g. references)."""
        if not self.words:
            return 1.0
        return sum(w.probability for w in self.words) / len(self.words)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [w.to_dict() for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "utterance") -> Utterance:
        """Parse and check the JSON form; a malformed one raises :class:`TranscriptError`."""
        start, end = _times(data, where)
        text = _field(data, "text", where, str)
        channel = _field(data, "channel", where, int, None)
        if channel not in (None, 0, 1):
            raise TranscriptError(f"{where}.channel: expected 0, 1 or null, found {channel!r}")
        words = _field(data, "words", where, list, ())
        return cls(
            speaker=_field(data, "speaker", where, str),
            start_s=start,
            end_s=end,
            text=text,
            raw_text=_field(data, "raw_text", where, str, text),
            channel=channel,
            words=tuple(Word.from_dict(w, f"{where}.words[{i}]") for i, w in enumerate(words)),
            avg_logprob=_field(data, "avg_logprob", where, float, 0.0),
        )


@dataclass(frozen=True, slots=True)
class CallMeta:
    """What is known about a recording before it is processed (manifest or filename)."""

    call_id: str
    source_path: str = ""
    agent_id: str | None = None
    recorded_at: str | None = None
    layout: Layout | None = None
    agent_channel: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "call") -> CallMeta:
        """Parse and check the JSON form; a malformed one raises :class:`TranscriptError`."""
        call_id = _field(data, "call_id", where, str)
        if problem := call_id_problem(call_id):
            raise TranscriptError(f"{where}.call_id: {problem}")
        layout = _field(data, "layout", where, str, None)
        if layout not in (None, "stereo", "mono"):
            raise TranscriptError(f"{where}.layout: expected 'stereo', 'mono' or null, found {layout!r}")
        agent_channel = _field(data, "agent_channel", where, int, None) if "agent_channel" in data else 0
        if agent_channel not in (None, 0, 1):
            raise TranscriptError(f"{where}.agent_channel: expected 0, 1 or null, found {agent_channel!r}")
        return cls(call_id=call_id, source_path=_field(data, "source_path", where, str, ""),
                   agent_id=_field(data, "agent_id", where, str, None),
                   recorded_at=_field(data, "recorded_at", where, str, None),
                   layout=layout, agent_channel=agent_channel)


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """Which speaker is the agent, how sure we are, and why."""

    confidence: float = 1.0
    method: str = "channel"
    needs_review: bool = False
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = list(self.evidence)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "roles") -> RoleAssignment:
        """Parse and check the JSON form; a malformed one raises :class:`TranscriptError`."""
        return cls(
            confidence=_field(data, "confidence", where, float, 1.0),
            method=_field(data, "method", where, str, "channel"),
            needs_review=_field(data, "needs_review", where, bool, False),
            evidence=_strings(data, "evidence", where),
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    """A speaker-attributed call transcript: the output of transcription + diarization."""

    call: CallMeta
    duration_s: float
    utterances: tuple[Utterance, ...]
    layout: Layout = "stereo"
    model: str = ""
    pipeline_version: str = ""
    audio_sha256: str = ""
    roles: RoleAssignment = field(default_factory=RoleAssignment)
    warnings: tuple[str, ...] = ()
    schema_version: str = TRANSCRIPT_SCHEMA_VERSION

    def with_utterances(self, utterances: tuple[Utterance, ...]) -> Transcript:
        return replace(self, utterances=tuple(utterances))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "call": self.call.to_dict(),
            "duration_s": self.duration_s,
            "layout": self.layout,
            "model": self.model,
            "pipeline_version": self.pipeline_version,
            "audio_sha256": self.audio_sha256,
            "roles": self.roles.to_dict(),
            "warnings": list(self.warnings),
            "utterances": [u.to_dict() for u in self.utterances],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Parse and check the JSON form; a malformed one raises :class:`TranscriptError` naming the field."""
        where = "transcript"
        layout = _field(data, "layout", where, str, "stereo")
        if layout not in ("stereo", "mono"):
            raise TranscriptError(f"{where}.layout: expected 'stereo' or 'mono', found {layout!r}")
        duration = _field(data, "duration_s", where, float)
        if duration < 0:
            raise TranscriptError(f"{where}.duration_s: expected a duration >= 0, found {duration}")
        utterances = _field(data, "utterances", where, list)
        return cls(
            schema_version=_field(data, "schema_version", where, str, TRANSCRIPT_SCHEMA_VERSION),
            call=CallMeta.from_dict(_field(data, "call", where, dict), f"{where}.call"),
            duration_s=duration,
            layout=layout,
            model=_field(data, "model", where, str, ""),
            pipeline_version=_field(data, "pipeline_version", where, str, ""),
            audio_sha256=_field(data, "audio_sha256", where, str, ""),
            roles=RoleAssignment.from_dict(_field(data, "roles", where, dict, {}), f"{where}.roles"),
            warnings=_strings(data, "warnings", where),
            utterances=tuple(Utterance.from_dict(u, f"{where}.utterances[{i}]") for i, u in enumerate(utterances)),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One QA finding with the evidence a reviewer can play back."""

    rule_id: str
    severity: str
    weight: float
    category: str = "courtesy"
    fatal: bool = False
    utterance_index: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    speaker: str | None = None
    quote: str = ""
    pattern: str = ""
    asr_confidence: float = 1.0
    needs_review: bool = False
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class CallQA:
    """The QA result of one call under one rulebook version (``<call_id>.qa.json``)."""

    call_id: str
    agent_id: str | None
    rulebook_id: str
    rulebook_version: str
    resolution: str
    findings: tuple[Finding, ...] = ()
    resolution_evidence: str = ""
    recorded_at: str | None = None
    role_confidence: float = 1.0
    needs_review: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    schema_version: str = QA_SCHEMA_VERSION
    checks: dict[str, str] = field(default_factory=dict)
    """Per rule id: "pass", "fail" or "not_applicable" (e.g. no complaint, so no apology was needed)."""
    resolution_confidence: float = 1.0
    """How sure ``resolution`` is (0-1); an unresolved outcome below the rulebook's threshold is needs_review."""
    resolution_utterances: tuple[int, ...] = ()
    """Indices of the utterances ``resolution`` rests on."""
    resolution_needs_review: bool = False
    """``resolution_confidence`` is below the rulebook's ``review_below``: a reviewer should confirm the outcome."""
    acts: tuple[dict, ...] = ()
    """Dialogue acts per utterance that has any: ``{"index", "speaker", "acts": [{"act", "score", "evidence"}]}``."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        data["resolution_utterances"] = list(self.resolution_utterances)
        data["acts"] = [dict(a) for a in self.acts]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallQA:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["findings"] = tuple(Finding.from_dict(f) for f in data.get("findings", ()))
        values["resolution_utterances"] = tuple(data.get("resolution_utterances", ()))
        values["acts"] = tuple(data.get("acts", ()))
        return cls(**values)
