"""Compiling the ``acts:`` section and tagging utterances with acts.

Everything is compiled once per rulebook: one Aho-Corasick automaton over every act's literal
phrases, and per act its patterns, tried one by one until one matches (separate regexes keep the
C scanner's first-character skip that one big alternation of grammar patterns loses, about twice
as fast). Tagging an utterance never compiles anything.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import ahocorasick

from pipeline.acts.schema import ActsSpec
from pipeline.normalize import compact_text
from pipeline.regex_prefilter import RegexIndex

REGEX_PREFIX = "re:"
_CLASS_REF = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class ActsSpecError(ValueError):
    """A problem in the ``acts:`` section; ``loc`` is the path to the offending YAML node."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True, slots=True)
class Act:
    """One act of one utterance: ``evidence`` names the pattern (or phrase) and the words it matched."""

    name: str
    score: float
    evidence: str
    start: int = 0
    end: int = 0

    def to_dict(self) -> dict:
        return {"act": self.name, "score": round(self.score, 3), "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class _Pattern:
    id: str
    regex: re.Pattern[str]
    score: float


@dataclass(frozen=True, slots=True)
class _CompiledAct:
    name: str
    speaker: str
    phrase_score: float
    patterns: tuple[_Pattern, ...]
    mask_phrases: ahocorasick.Automaton | None
    mask_patterns: tuple[re.Pattern[str], ...]

    def masks(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if self.mask_phrases is not None:
            spans += [(end - len(p) + 1, end + 1) for end, p in self.mask_phrases.iter(text)]
        for pattern in self.mask_patterns:
            spans += [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
        return spans


def _masked(start: int, end: int, masks: list[tuple[int, int]]) -> bool:
    """A hit mostly inside a mask does not count, unless it strictly contains the mask
    (跟我们没关系 contains 没关系 and still counts)."""
    length = end - start
    for m_start, m_end in masks:
        shared = min(end, m_end) - max(start, m_start)
        contains = start <= m_start and end >= m_end and length > m_end - m_start
        if shared > 0 and shared * 2 >= length and not contains:
            return True
    return False


@dataclass(frozen=True, slots=True)
class ActTagger:
    """Tags compact utterance texts with acts (built by :func:`compile_acts`)."""

    acts: tuple[_CompiledAct, ...]
    min_score: float
    _phrases: ahocorasick.Automaton | None = field(default=None, repr=False)
    """Every act's literal phrases: value (act position, phrase)."""
    _owners: tuple[tuple[int, str, _Pattern], ...] = field(init=False, repr=False, compare=False)
    """Every act's regexes in one list: (act position, act speaker, pattern)."""
    _index: RegexIndex = field(init=False, repr=False, compare=False)
    """``_owners`` by the characters every match must contain: which regexes may match an utterance."""

    def __post_init__(self) -> None:
        owners = tuple((k, act.speaker, p) for k, act in enumerate(self.acts) for p in act.patterns)
        object.__setattr__(self, "_owners", owners)
        object.__setattr__(self, "_index", RegexIndex([p.regex for _, _, p in owners]))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.acts)

    def tag(self, compact: str, speaker: str = "any") -> tuple[Act, ...]:
        """The acts of one utterance (``compact`` is :func:`pipeline.normalize.compact_text` output)."""
        if not compact:
            return ()
        literal = self._literal_hits(compact)
        # per act, only the regexes whose key characters occur in the text (about a fifth) are searched
        possible: dict[int, list[_Pattern]] = {}
        owners = self._owners
        for j in self._index.candidates(compact):
            k, act_speaker, pattern = owners[j]
            if act_speaker == "any" or act_speaker == speaker:
                possible.setdefault(k, []).append(pattern)
        out: list[Act] = []
        for k, act in enumerate(self.acts):
            if act.speaker != "any" and speaker != act.speaker:
                continue
            hits = literal.get(k)
            patterns = possible.get(k, ())
            if not hits and not patterns:
                continue
            best = self._best(act, compact, hits or (), patterns)
            if best is not None and best.score >= self.min_score:
                out.append(best)
        return tuple(out)

    def tag_text(self, text: str, speaker: str = "any") -> tuple[Act, ...]:
        """:meth:`tag` on raw text (normalised here: Traditional, full-width, punctuation)."""
        return self.tag(compact_text(text), speaker)

    def pattern_ids(self, compact: str, speaker: str, name: str) -> set[str]:
        """Every pattern id (``phrase`` for literal phrases) that finds act ``name`` in ``compact``, not
        only the best one :meth:`tag` reports: a rule may care *how* an act was said."""
        for k, act in enumerate(self.acts):
            if act.name == name and (act.speaker == "any" or speaker == act.speaker) and compact:
                hits = self._literal_hits(compact).get(k, ())
                return {a.evidence.split(":", 1)[0].split(" ", 1)[0]
                        for a in self._candidates(act, compact, hits, act.patterns)}
        return set()

    def _literal_hits(self, compact: str) -> dict[int, list[tuple[int, int, str]]]:
        """Act position -> (start, end, phrase) of every literal phrase of that act in ``compact``."""
        literal: dict[int, list[tuple[int, int, str]]] = {}
        if self._phrases is not None:
            for end, (ks, phrase) in self._phrases.iter(compact):
                for k in ks:
                    literal.setdefault(k, []).append((end - len(phrase) + 1, end + 1, phrase))
        return literal

    @staticmethod
    def _candidates(act: _CompiledAct, text: str, literal_hits, patterns):
        """Unmasked hits of ``act`` in ``text`` (its literal hits and those of ``patterns``), best score first."""
        masks: list[tuple[int, int]] | None = None
        candidates: list[tuple[float, str, int, int]] = [
            (act.phrase_score, f"phrase {phrase}", s, e) for s, e, phrase in literal_hits]
        for pattern in patterns:
            if pattern.regex.search(text) is None:  # most fail: a bare search is cheaper than an iterator
                continue
            for m in pattern.regex.finditer(text):
                if m.end() > m.start():
                    candidates.append((pattern.score, f"{pattern.id}: {m.group(0)}", m.start(), m.end()))
        candidates.sort(key=lambda c: -c[0])
        for score, evidence, s, e in candidates:
            if masks is None:
                masks = act.masks(text)
            if not _masked(s, e, masks):
                yield Act(act.name, score, evidence, s, e)

    @staticmethod
    def _best(act: _CompiledAct, text: str, literal_hits, patterns) -> Act | None:
        return next(ActTagger._candidates(act, text, literal_hits, patterns), None)


def _class_alternation(name: str, classes: Mapping[str, list[str]], loc: tuple, depth: int = 0) -> str:
    if name not in classes:
        raise ActsSpecError(loc, f"unknown word class {{{name}}} (known: {', '.join(sorted(classes)) or 'none'}); "
                                 f"fix: define it under acts.classes or correct the name")
    if depth > 4:
        raise ActsSpecError(loc, f"word class {{{name}}} refers to itself; fix: remove the cycle")
    items: list[str] = []
    for item in classes[name]:
        if item.startswith(REGEX_PREFIX):
            items.append(_expand(item[len(REGEX_PREFIX):], classes, ("classes", name), depth + 1))
        else:
            phrase = compact_text(item)
            if not phrase:
                raise ActsSpecError(("classes", name), f"item {item!r} of word class {name} is empty after "
                                                       f"normalisation; fix: remove it")
            items.append(re.escape(phrase))
    items.sort(key=len, reverse=True)  # longest first: the alternation prefers 没办法 to 没
    return "(?:" + "|".join(items) + ")"


def _expand(template: str, classes: Mapping[str, list[str]], loc: tuple, depth: int = 0) -> str:
    return _CLASS_REF.sub(lambda m: _class_alternation(m.group(1), classes, loc, depth), template)


def _compile_regex(template: str, classes: Mapping[str, list[str]], loc: tuple) -> re.Pattern[str]:
    source = _expand(template, classes, loc)
    try:
        return re.compile(source)
    except re.error as e:
        raise ActsSpecError(loc, f"invalid regex {template!r} ({e}); fix: correct the pattern (Python re "
                                 f"syntax over compact text; {{name}} expands a word class)") from e


def compile_acts(spec: ActsSpec) -> ActTagger:
    """Compile a validated ``acts:`` section; raises :class:`ActsSpecError` with the YAML location."""
    owners: dict[str, list[int]] = {}  # phrase -> the acts listing it (one automaton for all acts)
    acts: list[_CompiledAct] = []
    for k, (name, definition) in enumerate(spec.definitions.items()):
        loc = ("definitions", name)
        patterns: list[_Pattern] = []
        for j, item in enumerate(definition.phrases):
            if item.startswith(REGEX_PREFIX):
                regex = _compile_regex(item[len(REGEX_PREFIX):], spec.classes, loc + ("phrases", j))
                patterns.append(_Pattern(f"phrase {item}", regex, definition.phrase_score))
                continue
            phrase = compact_text(item)
            if not phrase:
                raise ActsSpecError(loc + ("phrases", j), f"phrase {item!r} is empty after normalisation; "
                                                          f"fix: remove it")
            if k not in owners.setdefault(phrase, []):
                owners[phrase].append(k)
        for j, pattern in enumerate(definition.patterns):
            regex = _compile_regex(pattern.re, spec.classes, loc + ("patterns", j, "re"))
            patterns.append(_Pattern(pattern.id, regex, pattern.score))
        patterns.sort(key=lambda p: -p.score)
        mask_literals = [p for p in (compact_text(x) for x in definition.exceptions
                                     if not x.startswith(REGEX_PREFIX)) if p]
        mask_patterns = tuple(_compile_regex(x[len(REGEX_PREFIX):], spec.classes, loc + ("exceptions", j))
                              for j, x in enumerate(definition.exceptions) if x.startswith(REGEX_PREFIX))
        masks = None
        if mask_literals:
            masks = ahocorasick.Automaton()
            for phrase in mask_literals:
                masks.add_word(phrase, phrase)
            masks.make_automaton()
        acts.append(_CompiledAct(name=name, speaker=definition.speaker, phrase_score=definition.phrase_score,
                                 patterns=tuple(patterns), mask_phrases=masks,
                                 mask_patterns=mask_patterns))
    automaton = None
    if owners:
        automaton = ahocorasick.Automaton()
        for phrase, ks in owners.items():
            automaton.add_word(phrase, (tuple(ks), phrase))
        automaton.make_automaton()
    return ActTagger(acts=tuple(acts), min_score=spec.min_score, _phrases=automaton)
