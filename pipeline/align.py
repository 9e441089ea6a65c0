"""Word-to-speaker assignment: give each transcribed word the diarized speaker it overlaps most.

Like whisperX's ``assign_word_speakers``, but returns new utterances (inputs are never
edited) and re-splits an utterance wherever the speaker changes, so every utterance has
exactly one speaker.
"""
from __future__ import annotations

import bisect
import logging
from dataclasses import replace

from pipeline.diarization.rttm import Diarization, SpeakerTurn
from pipeline.normalize import normalize_text
from pipeline.types import Utterance, Word

logger = logging.getLogger(__name__)


class _TurnIndex:
    """Turns sorted by start, for overlap and nearest-turn queries in O(log n + k)."""

    def __init__(self, turns: tuple[SpeakerTurn, ...]):
        self.turns = sorted(turns, key=lambda t: (t.start_s, t.end_s))
        self.starts = [t.start_s for t in self.turns]
        # Turns are short, so the longest one bounds how far back an overlapping turn can start.
        self.max_len = max((t.duration_s for t in self.turns), default=0.0)

    def speaker_at(self, start_s: float, end_s: float) -> str | None:
        """The speaker overlapping [start_s, end_s] most, else the nearest turn's speaker."""
        if not self.turns:
            return None
        lo = bisect.bisect_left(self.starts, start_s - self.max_len)
        hi = bisect.bisect_right(self.starts, end_s)
        overlap: dict[str, float] = {}
        for turn in self.turns[lo:hi]:
            shared = min(end_s, turn.end_s) - max(start_s, turn.start_s)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap.items(), key=lambda item: item[1])[0]
        # No overlap (a word in a VAD gap): the turn with the closest edge decides.
        mid = (start_s + end_s) / 2
        first = max(0, bisect.bisect_left(self.starts, mid - self.max_len) - 1)
        last = bisect.bisect_right(self.starts, mid) + 1
        nearest = min(self.turns[first:last], key=lambda t: max(t.start_s - mid, mid - t.end_s, 0.0))
        return nearest.speaker


def _join_words(words: list[Word]) -> str:
    return "".join(w.text for w in words).strip()


def _split(utterance: Utterance, words: list[Word], pause_s: float) -> list[Utterance]:
    """Runs of words with one speaker and no pause of ``pause_s`` or more between them."""
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        last = runs[-1][-1]
        if word.speaker != last.speaker or word.start_s - last.end_s >= pause_s:
            runs.append([word])
        else:
            runs[-1].append(word)
    if len(runs) == 1:
        return [replace(utterance, speaker=words[0].speaker, words=tuple(words))]
    pieces = []
    for run in runs:
        raw = _join_words(run)
        pieces.append(replace(
            utterance, speaker=run[0].speaker, start_s=run[0].start_s, end_s=run[-1].end_s,
            text=normalize_text(raw), raw_text=raw, words=tuple(run),
        ))
    return pieces


def assign_word_speakers(
    utterances: tuple[Utterance, ...] | list[Utterance], diarization: Diarization, *, pause_s: float
) -> tuple[Utterance, ...]:
    """Label words (and utterances) with diarized speakers; split utterances at speaker changes.

    Utterances without word timings are labelled as a whole by the same overlap rule.
    ``pause_s`` is the gap that also ends an utterance (``AsrConfig.utterance_pause_s``).
    """
    index = _TurnIndex(diarization.turns)
    out: list[Utterance] = []
    for utterance in utterances:
        if not utterance.words:
            speaker = index.speaker_at(utterance.start_s, utterance.end_s) or utterance.speaker
            out.append(replace(utterance, speaker=speaker))
            continue
        words = [
            replace(w, speaker=index.speaker_at(w.start_s, w.end_s) or w.speaker) for w in utterance.words
        ]
        out.extend(_split(utterance, words, pause_s))
    out.sort(key=lambda u: (u.start_s, u.end_s))
    return tuple(out)
