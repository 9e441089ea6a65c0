"""Per-call view of a transcript that checks share: matching texts, speaker turns, silences."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.acts import Act, ActTagger
from pipeline.rules.text import TextView
from pipeline.types import Transcript, Utterance


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """Run-time switches for the rules stage (built from ``pipeline.config.RulesConfig``)."""

    disabled: tuple[str, ...] = ()
    """Rule ids switched off for this run (in addition to ``enabled: false`` in the rulebook)."""
    review_below_confidence: float = 0.5
    """Findings on speech whose ASR confidence is below this are marked ``needs_review``."""

    @classmethod
    def from_config(cls, rules_config) -> RuleOptions:
        """From a :class:`pipeline.config.RulesConfig`."""
        return cls(disabled=tuple(rules_config.disabled),
                   review_below_confidence=float(rules_config.review_below_confidence))


@dataclass(frozen=True, slots=True)
class Turn:
    """Consecutive utterances of one speaker with no one else speaking in between."""

    speaker: str
    indices: tuple[int, ...]
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch where nobody speaks; ``before`` is the index of the utterance that ended last."""

    start_s: float
    end_s: float
    before: int
    after: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _speaker_matches(scope: str, speaker: str) -> bool:
    return scope == "any" or scope == speaker


@dataclass(slots=True)
class CallContext:
    """Everything checks read, computed once per call (checks never mutate it)."""

    transcript: Transcript
    options: RuleOptions
    utterances: tuple[Utterance, ...]
    views: tuple[TextView, ...]
    order: tuple[int, ...]
    """Utterance indices in time order (transcripts are usually sorted already)."""
    turns: tuple[Turn, ...]
    gaps: tuple[Gap, ...]
    speech: tuple[tuple[float, float], ...]
    """Per utterance, (start, end) of its words that carry speech (see :func:`speech_bounds`)."""
    tagger: ActTagger | None = None
    """The rulebook's dialogue-act tagger (None: the rulebook has no ``acts:`` section)."""
    _turn_views: dict[int, TextView] = field(default_factory=dict)
    _acts: dict[int, tuple[Act, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, transcript: Transcript, options: RuleOptions, merge_gap_s: float,
              tagger: ActTagger | None = None) -> CallContext:
        utterances = tuple(transcript.utterances)
        views = tuple(TextView(u.text) for u in utterances)
        order = tuple(sorted(range(len(utterances)), key=lambda i: (utterances[i].start_s, utterances[i].end_s)))
        return cls(transcript=transcript, options=options, utterances=utterances, views=views, order=order,
                   turns=_turns(utterances, order, views, merge_gap_s), gaps=_gaps(utterances, order),
                   speech=tuple(speech_bounds(u) for u in utterances), tagger=tagger)

    # --- dialogue acts ------------------------------------------------------------------------
    def acts(self, index: int) -> tuple[Act, ...]:
        """The dialogue acts of utterance ``index`` (tagged on first use, once per call)."""
        found = self._acts.get(index)
        if found is None:
            found = self.tagger.tag(self.views[index].compact, self.utterances[index].speaker) if self.tagger else ()
            self._acts[index] = found
        return found

    def add_act(self, index: int, act: Act) -> None:
        """Record an act a rule reads from context (the agent's next utterance after 稍等 returns from the
        hold), so ``qa.json`` shows it next to the tagged ones; an act already there is kept."""
        if all(a.name != act.name for a in self.acts(index)):
            self._acts[index] = self.acts(index) + (act,)

    def act(self, index: int, names, min_score: float = 0.0) -> Act | None:
        """The surest of ``names`` among the utterance's acts, if one scores at least ``min_score``."""
        best = None
        for a in self.acts(index):
            if a.name in names and a.score >= min_score and (best is None or a.score > best.score):
                best = a
        return best

    def turn_act(self, t: int, names, min_score: float = 0.0) -> tuple[int, Act] | None:
        """(utterance, act) for the first utterance of turn ``t`` with one of ``names``."""
        for i in self.turns[t].indices:
            a = self.act(i, names, min_score)
            if a is not None:
                return i, a
        return None

    # --- selections ---------------------------------------------------------------------------
    def utterances_of(self, scope: str) -> list[int]:
        """Indices (time order) of non-empty utterances of a speaker scope."""
        return [i for i in self.order if _speaker_matches(scope, self.utterances[i].speaker) and self.views[i].compact]

    def turns_of(self, scope: str) -> list[int]:
        return [t for t, turn in enumerate(self.turns) if _speaker_matches(scope, turn.speaker)]

    def turn_view(self, t: int) -> TextView:
        """The turn's utterances joined without a separator: ASR may split a phrase across them."""
        view = self._turn_views.get(t)
        if view is None:
            indices = self.turns[t].indices
            view = self.views[indices[0]] if len(indices) == 1 else TextView(
                "".join(self.views[i].raw for i in indices), "".join(self.views[i].compact for i in indices))
            self._turn_views[t] = view
        return view

    def turns_view(self, turn_ids: Iterable[int]) -> TextView:
        return TextView.join(self.turn_view(t) for t in turn_ids)

    def turn_of_utterance(self, index: int) -> int:
        for t, turn in enumerate(self.turns):
            if index in turn.indices:
                return t
        raise ValueError(f"utterance {index} is in no turn")

    def confidence(self, indices: Sequence[int]) -> float:
        """ASR confidence of the evidence: mean word probability, weighted by text length over utterances."""
        if not indices:
            return 1.0
        weights = [max(1, len(self.views[i].compact)) for i in indices]
        return sum(w * self.utterances[i].confidence for w, i in zip(weights, indices)) / sum(weights)


def _is_speech_word(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or ch.isalpha() and ch.isascii() and len(text.strip()) > 1
               for ch in text)


def speech_bounds(u: Utterance) -> tuple[float, float]:
    """Start of the first and end of the last *spoken* word of an utterance.

    Whisper stretches the timing of a trailing punctuation-like token (and of the last word
    before a pause) over the silence that follows; taking word bounds of real Chinese words
    keeps a customer's finished sentence from looking like one the agent talked over.
    Utterances without word timings (references) keep their own times.
    """
    spoken = [w for w in u.words if _is_speech_word(w.text)]
    if not spoken:
        return u.start_s, u.end_s
    return spoken[0].start_s, spoken[-1].end_s


def _turns(utterances: Sequence[Utterance], order: Sequence[int], views: Sequence[TextView],
           merge_gap_s: float) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    current: list[int] = []
    for i in order:
        if not views[i].compact:
            continue
        u = utterances[i]
        if current:
            last = utterances[current[-1]]
            if u.speaker == last.speaker and u.start_s - last.end_s < merge_gap_s:
                current.append(i)
                continue
            turns.append(_turn(utterances, current))
        current = [i]
    if current:
        turns.append(_turn(utterances, current))
    return tuple(turns)


def _turn(utterances: Sequence[Utterance], indices: list[int]) -> Turn:
    return Turn(speaker=utterances[indices[0]].speaker, indices=tuple(indices),
                start_s=min(utterances[i].start_s for i in indices), end_s=max(utterances[i].end_s for i in indices))


def _gaps(utterances: Sequence[Utterance], order: Sequence[int]) -> tuple[Gap, ...]:
    """Silences on the merged timeline (overlapping speech of both sides closes no gap)."""
    gaps: list[Gap] = []
    latest_end = None
    latest = -1
    for i in order:
        u = utterances[i]
        if latest_end is not None and u.start_s > latest_end:
            gaps.append(Gap(start_s=latest_end, end_s=u.start_s, before=latest, after=i))
        if latest_end is None or u.end_s >= latest_end:
            latest_end, latest = u.end_s, i
    return tuple(gaps)
