"""Which regexes may match a text: an index on characters every match must contain.

Rulebooks hold a few hundred regexes and every utterance is searched with most of them; nearly all
searches fail. Each regex's parse tree tells which characters every match must contain (one of
{我, 这边, 马上...} and one of {查, 看, 核...} in ``(我|这边|马上)(先)?(查|看|核)``). The index keys each
regex on its rarest such set, so an utterance is searched only with the regexes whose key
characters it contains. Anything unknown (a class like ``[\\u4e00-\\u9fff]``, ``.``, a
case-insensitive flag, a regex that can match the empty string) leaves the regex always searched,
so a regex the index skips is always one that would have failed.
"""
from __future__ import annotations

import re
from re import _constants as _c  # the parser re itself uses (Python 3.11, as pyproject requires)
from re import _parser as _sre_parse

_MAX_RANGE = 64
"""A character range wider than this (any CJK character) tells nothing: the regex is always searched."""
_REPEATS = tuple(op for op in (getattr(_c, name, None) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))
                 if op is not None)
_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)
COMMON_CHARS = frozenset("您你我他的了是不这那个一有在好吗呢啊吧哦们就也都要能可以会到说下上么什怎给帮请问")
"""Characters in most utterances: a key made of them selects little, so a rarer set is preferred."""


def required_char_sets(regex: re.Pattern[str]) -> list[frozenset[str]]:
    """Sets of characters such that every match contains at least one character of each set.

    Empty when nothing is known. Each set is the first characters of one part of the regex that
    every match must go through (a literal, a class, a group; not an optional or zero-width part).
    """
    if regex.flags & re.IGNORECASE:
        return []
    try:
        tree = _sre_parse.parse(regex.pattern, regex.flags)
    except (re.error, TypeError, ValueError):  # pragma: no cover - compiled already, so parseable
        return []
    out = []
    for op, av in tree:
        chars, can_be_empty = _item(op, av)
        if chars and not can_be_empty:
            out.append(frozenset(chars))
    return out


def index_key(regex: re.Pattern[str]) -> frozenset[str] | None:
    """The most selective of :func:`required_char_sets` (fewest common characters), or None."""
    sets = required_char_sets(regex)
    if not sets:
        return None
    return min(sets, key=lambda chars: sum(10 if ch in COMMON_CHARS else 1 for ch in chars))


def _sequence(items: list) -> tuple[set[str] | None, bool]:
    """First characters of a sequence of parse items (None: unknown) and whether it can match empty."""
    out: set[str] = set()
    for op, av in items:
        chars, can_be_empty = _item(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not can_be_empty:
            return out, False
    return out, True


def _item(op, av) -> tuple[set[str] | None, bool]:
    if op is _c.LITERAL:
        return {chr(av)}, False
    if op is _c.IN:
        chars: set[str] = set()
        for inner, value in av:
            if inner is _c.LITERAL:
                chars.add(chr(value))
            elif inner is _c.RANGE and value[1] - value[0] < _MAX_RANGE:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:  # NEGATE, CATEGORY (\d, \w), a wide range
                return None, False
        return chars, False
    if op is _c.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is _c.BRANCH:
        chars, can_be_empty = set(), False
        for branch in av[1]:
            inner, empty = _sequence(list(branch))
            if inner is None:
                return None, False
            chars |= inner
            can_be_empty = can_be_empty or empty
        return chars, can_be_empty
    if op in _REPEATS:
        low, _high, sub = av
        inner, empty = _sequence(list(sub))
        return (None, False) if inner is None else (inner, empty or low == 0)
    if op in _ZERO_WIDTH:
        return set(), True
    return None, False  # ANY, NOT_LITERAL, GROUPREF, ATOMIC_GROUP, ...


class RegexIndex:
    """Regexes indexed by :func:`index_key`: which of them may match a text, in their order.

    With a few hundred regexes per utterance the searches dominate the rules' time; the index hands
    back only the regexes whose key characters occur in the text (and those without a key).
    """

    __slots__ = ("_always", "_by_char", "size")

    def __init__(self, regexes: list[re.Pattern[str]] | tuple[re.Pattern[str], ...]) -> None:
        self.size = len(regexes)
        always: list[int] = []
        by_char: dict[str, list[int]] = {}
        for j, regex in enumerate(regexes):
            key = index_key(regex)
            if key is None:
                always.append(j)
            else:
                for ch in key:
                    by_char.setdefault(ch, []).append(j)
        self._always = frozenset(always)
        self._by_char = {ch: tuple(js) for ch, js in by_char.items()}

    def candidates(self, text: str) -> list[int]:
        """Indices (ascending) of the regexes that may match ``text``; every other one would fail."""
        found = set(self._always)
        by_char = self._by_char
        for ch in set(text):
            js = by_char.get(ch)
            if js is not None:
                found.update(js)
        return sorted(found)
