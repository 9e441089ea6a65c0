"""Small frozen value types passed between stages, with ``to_dict``/``from_dict``.

Times are seconds from the start of the recording (``start_s``/``end_s``). The JSON
forms are the documented, versioned transcript and QA schemas (see README).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

TRANSCRIPT_SCHEMA_VERSION = "1.0"
QA_SCHEMA_VERSION = "1.0"

Speaker = Literal["agent", "customer", "unknown"]
Layout = Literal["stereo", "mono"]


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
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            text=data["text"],
            start_s=float(data["start_s"]),
            end_s=float(data["end_s"]),
            probability=float(data.get("probability", 1.0)),
            speaker=data.get("speaker", "unknown"),
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
    def from_dict(cls, data: dict[str, Any]) -> Utterance:
        return cls(
            speaker=data["speaker"],
            start_s=float(data["start_s"]),
            end_s=float(data["end_s"]),
            text=data["text"],
            raw_text=data.get("raw_text", data["text"]),
            channel=data.get("channel"),
            words=tuple(Word.from_dict(w) for w in data.get("words", ())),
            avg_logprob=float(data.get("avg_logprob", 0.0)),
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
    def from_dict(cls, data: dict[str, Any]) -> CallMeta:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


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
    def from_dict(cls, data: dict[str, Any]) -> RoleAssignment:
        return cls(
            confidence=float(data.get("confidence", 1.0)),
            method=data.get("method", "channel"),
            needs_review=bool(data.get("needs_review", False)),
            evidence=tuple(data.get("evidence", ())),
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
        return cls(
            schema_version=data.get("schema_version", TRANSCRIPT_SCHEMA_VERSION),
            call=CallMeta.from_dict(data["call"]),
            duration_s=float(data["duration_s"]),
            layout=data.get("layout", "stereo"),
            model=data.get("model", ""),
            pipeline_version=data.get("pipeline_version", ""),
            audio_sha256=data.get("audio_sha256", ""),
            roles=RoleAssignment.from_dict(data.get("roles", {})),
            warnings=tuple(data.get("warnings", ())),
            utterances=tuple(Utterance.from_dict(u) for u in data["utterances"]),
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
