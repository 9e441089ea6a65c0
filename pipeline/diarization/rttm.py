"""The diarization result (speaker turns) and its RTTM / JSON forms.

RTTM is the NIST format every diarization scorer reads::

    SPEAKER <uri> 1 <start_s> <duration_s> <NA> <NA> <speaker> <NA> <NA>
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import DiarizationError


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """One stretch of speech by one diarized speaker (a label such as ``SPEAKER_00``)."""

    speaker: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass(frozen=True, slots=True)
class Diarization:
    """Speaker turns of one recording, sorted by start time (turns may overlap)."""

    turns: tuple[SpeakerTurn, ...]
    uri: str = "call"
    duration_s: float = 0.0
    backend: str = ""

    @property
    def speakers(self) -> tuple[str, ...]:
        """Labels ordered by first appearance."""
        seen: dict[str, None] = {}
        for turn in self.turns:
            seen.setdefault(turn.speaker, None)
        return tuple(seen)

    def speech_s(self, speaker: str) -> float:
        return sum(t.duration_s for t in self.turns if t.speaker == speaker)

    def relabel(self, mapping: dict[str, str]) -> Diarization:
        """Same turns with speaker labels renamed (labels missing from ``mapping`` are kept)."""
        turns = tuple(SpeakerTurn(mapping.get(t.speaker, t.speaker), t.start_s, t.end_s) for t in self.turns)
        return Diarization(turns=turns, uri=self.uri, duration_s=self.duration_s, backend=self.backend)

    def to_rttm(self) -> str:
        uri = self.uri.replace(" ", "_") or "call"
        return "".join(
            f"SPEAKER {uri} 1 {t.start_s:.3f} {t.duration_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            for t in self.turns
        )

    @classmethod
    def from_rttm(cls, text: str, *, uri: str | None = None, source: str = "<rttm>") -> Diarization:
        """Parse RTTM text; with several files in one text, ``uri`` picks one."""
        turns = []
        found_uri = uri
        for line_no, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields or fields[0].startswith(("#", ";")):
                continue
            if fields[0] != "SPEAKER" or len(fields) < 8:
                raise DiarizationError(
                    f"{source}:{line_no}: expected an RTTM line 'SPEAKER <uri> <chan> <start> <dur> <NA> <NA> "
                    f"<speaker> ...', found {line!r}; fix or remove the line"
                )
            if uri is not None and fields[1] != uri:
                continue
            found_uri = found_uri or fields[1]
            try:
                start, duration = float(fields[3]), float(fields[4])
            except ValueError as e:
                raise DiarizationError(
                    f"{source}:{line_no}: start/duration must be seconds, found {fields[3]!r} {fields[4]!r}"
                ) from e
            turns.append(SpeakerTurn(fields[7], start, start + duration))
        turns.sort(key=lambda t: (t.start_s, t.end_s))
        end = max((t.end_s for t in turns), default=0.0)
        return cls(turns=tuple(turns), uri=found_uri or "call", duration_s=end, backend="rttm")

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "duration_s": round(self.duration_s, 3),
            "backend": self.backend,
            "speakers": list(self.speakers),
            "turns": [t.to_dict() for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diarization:
        turns = tuple(SpeakerTurn(t["speaker"], float(t["start_s"]), float(t["end_s"])) for t in data["turns"])
        return cls(turns=turns, uri=data.get("uri", "call"), duration_s=float(data.get("duration_s", 0.0)),
                   backend=data.get("backend", ""))


def read_rttm(path: str | Path, *, uri: str | None = None) -> Diarization:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DiarizationError(f"{path}: RTTM file not found; check the path") from e
    return Diarization.from_rttm(text, uri=uri, source=str(path))


def write_rttm(diarization: Diarization, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(diarization.to_rttm(), encoding="utf-8")
    return path
