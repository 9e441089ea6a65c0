"""Text matching primitives: phrase sets (Aho-Corasick + regex + homophones) and the tokenizer.

Everything is matched on :func:`pipeline.normalize.compact_text` (Simplified, half-width,
Arabic digits, no punctuation): ASR punctuation is unreliable, and Traditional input has to
meet the same patterns as Simplified.

Homophone tolerance maps every Chinese character to a *fuzzy syllable* (toneless pinyin with
the mergers ASR and southern accents produce: zh/z, ch/c, sh/s, l/n, -ing/-in, -eng/-en),
and each distinct syllable to one private-use character.  The syllable string therefore has
one character per text character, so an Aho-Corasick match on it has the same span as on the
text itself: 报歉 matches 抱歉.  您 and 你 are *not* merged (感谢你的耐心 may pass for 感谢您的耐心,
but 您去问问 must not fire 你去问): tolerant sets get a 你-variant of every 您 phrase instead.
"""
from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from threading import Lock

import ahocorasick

with warnings.catch_warnings():
    # jieba 0.42 imports pkg_resources, and setuptools warns about that on every command; nothing of ours.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import jieba
from pypinyin import Style, lazy_pinyin

from pipeline.normalize import compact_text
from pipeline.regex_prefilter import RegexIndex

logger = logging.getLogger(__name__)

REGEX_PREFIX = "re:"
INDEXED_MIN_REGEXES = 8
"""A phrase set with this many regexes searches only those its text may match (pipeline.regex_prefilter)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A match in a compact text: ``text[start:end]`` matched ``pattern``."""

    start: int
    end: int
    pattern: str
    homophone: bool = False

    def overlaps(self, other: Hit) -> bool:
        return self.start < other.end and other.start < self.end

    def covers(self, other: Hit) -> bool:
        """True when this hit contains ``other`` and is strictly longer."""
        return (self.start <= other.start and self.end >= other.end
                and self.end - self.start > other.end - other.start)


# --- fuzzy syllables -------------------------------------------------------------------------
_SYLLABLE_CODES: dict[str, str] = {}
_CHAR_CODES: dict[str, str] = {}
_CODES_LOCK = Lock()
_PRIVATE_USE_START = 0xF0000  # Supplementary Private Use Area A: never in real text


def _fuzzy_syllable(syllable: str) -> str:
    s = syllable.replace("ü", "v")
    for retroflex, dental in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(retroflex):
            s = dental + s[2:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ing") or s.endswith("eng"):
        s = s[:-1]
    return s


def _char_code(ch: str) -> str:
    if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
        syllable = _fuzzy_syllable(lazy_pinyin(ch, style=Style.NORMAL)[0])
        with _CODES_LOCK:
            return _SYLLABLE_CODES.setdefault(syllable, chr(_PRIVATE_USE_START + len(_SYLLABLE_CODES)))
    return ch


_SOUND_TABLE: dict[int, str] = {}


def sound_text(compact: str) -> str:
    """One fuzzy-syllable code per character of ``compact`` (same length, same positions)."""
    new = set(compact).difference(_CHAR_CODES)
    if new:
        for ch in new:
            _CHAR_CODES[ch] = _char_code(ch)
            _SOUND_TABLE[ord(ch)] = _CHAR_CODES[ch]
    return compact.translate(_SOUND_TABLE)


# --- phrase sets -----------------------------------------------------------------------------
class TextView:
    """One text in matching form, with its sound form and tokens computed on first use."""

    __slots__ = ("raw", "compact", "_sound")

    def __init__(self, raw: str, compact: str | None = None) -> None:
        self.raw = raw
        self.compact = compact_text(raw) if compact is None else compact
        self._sound: str | None = None

    @property
    def sound(self) -> str:
        if self._sound is None:
            self._sound = sound_text(self.compact)
        return self._sound

    @classmethod
    def join(cls, views: Iterable[TextView], separator: str = "|") -> TextView:
        """Several texts as one, with a separator no phrase contains (so nothing matches across)."""
        items = list(views)
        return cls(separator.join(v.raw for v in items), separator.join(v.compact for v in items))


@dataclass(frozen=True, slots=True)
class PhraseSet:
    """Literal phrases (one Aho-Corasick automaton), regexes, and optional homophone matching.

    Built once per rulebook; matching never compiles anything.
    """

    name: str
    phrases: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    homophones: bool = False
    min_homophone_chars: int = 2
    _exact: ahocorasick.Automaton | None = field(default=None, repr=False, compare=False)
    _sound: ahocorasick.Automaton | None = field(default=None, repr=False, compare=False)
    _sound_source: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _index: RegexIndex | None = field(default=None, repr=False, compare=False)
    """The regexes by the characters every match must contain, for sets of many regexes."""

    @classmethod
    def build(cls, name: str, items: Iterable[str], *, homophones: bool = False,
              min_homophone_chars: int = 2, ni_variants: bool = False) -> PhraseSet:
        """``items`` are literal phrases, or regexes written ``re:<pattern>`` (matched on compact text).

        ``ni_variants`` adds a 你 form of every 您 phrase (ASR writes 您 as 你 more often than
        not); only for lists of good behaviour, never for softeners or alternatives, where
        给你 must not excuse 不能给你退.  Raises ``re.error`` for a bad regex and ``ValueError`` for a phrase that is empty
        once normalised; the loader turns both into a ``RulebookError`` with the YAML line.
        """
        phrases: list[str] = []
        patterns: list[re.Pattern[str]] = []
        for item in items:
            if item.startswith(REGEX_PREFIX):
                patterns.append(re.compile(item[len(REGEX_PREFIX):]))
                continue
            phrase = compact_text(item)
            if not phrase:
                raise ValueError(f"phrase {item!r} is empty after normalisation (only punctuation/spaces)")
            phrases.append(phrase)
        if ni_variants:
            phrases += [p.replace("您", "你") for p in phrases if "您" in p]
        phrases = list(dict.fromkeys(phrases))
        exact = sound = None
        sound_source: dict[str, str] = {}
        if phrases:
            exact = ahocorasick.Automaton()
            for phrase in phrases:
                exact.add_word(phrase, phrase)
            exact.make_automaton()
        if homophones:
            for phrase in phrases:
                if len(phrase) >= min_homophone_chars:
                    sound_source.setdefault(sound_text(phrase), phrase)
            if sound_source:
                sound = ahocorasick.Automaton()
                for key, phrase in sound_source.items():
                    sound.add_word(key, (key, phrase))
                sound.make_automaton()
        return cls(name=name, phrases=tuple(phrases), patterns=tuple(patterns), homophones=homophones,
                   min_homophone_chars=min_homophone_chars, _exact=exact, _sound=sound,
                   _sound_source=sound_source,
                   _index=RegexIndex(patterns) if len(patterns) >= INDEXED_MIN_REGEXES else None)

    def __bool__(self) -> bool:
        return bool(self.phrases or self.patterns)

    def find_all(self, view: TextView) -> list[Hit]:
        """Every exact, regex and (if enabled) homophone match, in text order."""
        hits: list[Hit] = []
        text = view.compact
        if self._exact is not None and text:
            for end, phrase in self._exact.iter(text):
                hits.append(Hit(end - len(phrase) + 1, end + 1, phrase))
        for pattern in self._candidates(text):  # one by one: each keeps the scanner's literal-prefix skip
            if pattern.search(text) is None:  # most fail: a bare search is cheaper than an iterator
                continue
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    hits.append(Hit(m.start(), m.end(), REGEX_PREFIX + pattern.pattern))
        if self._sound is not None and text:
            exact_spans = {(h.start, h.end) for h in hits}
            for end, (key, phrase) in self._sound.iter(view.sound):
                start = end - len(key) + 1
                if (start, end + 1) not in exact_spans and _plausible_mishearing(text[start:end + 1], phrase):
                    hits.append(Hit(start, end + 1, phrase, homophone=True))
        hits.sort(key=lambda h: (h.start, -h.end))
        return hits

    def search(self, view: TextView) -> Hit | None:
        """The first match, exact before homophone (cheaper than ``find_all`` when one is enough)."""
        text = view.compact
        if self._exact is not None and text:
            for end, phrase in self._exact.iter(text):
                return Hit(end - len(phrase) + 1, end + 1, phrase)
        for pattern in self._candidates(text):
            m = pattern.search(text)
            if m and m.end() > m.start():
                return Hit(m.start(), m.end(), REGEX_PREFIX + pattern.pattern)
        if self._sound is not None and text:
            for end, (key, phrase) in self._sound.iter(view.sound):
                start = end - len(key) + 1
                if _plausible_mishearing(text[start:end + 1], phrase):
                    return Hit(start, end + 1, phrase, homophone=True)
        return None

    def _candidates(self, text: str) -> tuple[re.Pattern[str], ...] | list[re.Pattern[str]]:
        """The regexes that may match ``text``, in list order (all of them for a short list)."""
        if self._index is None:
            return self.patterns
        return [self.patterns[j] for j in self._index.candidates(text)]


def _plausible_mishearing(heard: str, phrase: str) -> bool:
    """ASR swaps characters for homophones; it does not conjure a short phrase from nowhere.

    A two-character phrase must keep one of its own characters (报歉 for 抱歉), so an unrelated
    stretch that merely sounds alike (一千一百 has 千一, like 歉意) is not a match. Three or more
    matching syllables are evidence enough (天马反 for 添麻烦).
    """
    if len(phrase) >= 3:
        return True
    return any(a == b for a, b in zip(heard, phrase))


# --- tokenizer -------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def load_tokenizer(user_dict: Path | None) -> jieba.Tokenizer:
    """A dedicated jieba tokenizer with the call-centre user dictionary, warmed once.

    The global ``jieba.dt`` is never touched, so other code using jieba is not affected.
    """
    # jieba logs its dictionary loading at DEBUG through a stream handler of its own, which would
    # print from inside the library; our own debug line below says the same.
    if logging.getLogger("jieba").level < logging.WARNING:
        jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dict is not None:
        tokenizer.load_userdict(str(user_dict))
    logger.debug("jieba tokenizer ready (user dict %s)", user_dict)
    return tokenizer


def tokens_with_spans(tokenizer: jieba.Tokenizer, text: str) -> list[tuple[str, int, int]]:
    """Tokens of ``text`` with their character spans (HMM off: deterministic, dictionary only)."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for token in tokenizer.cut(text, HMM=False):
        out.append((token, pos, pos + len(token)))
        pos += len(token)
    return out
