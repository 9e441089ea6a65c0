"""The regex index skips only regexes that cannot match: what every match must contain is read from
the regex's parse tree, and anything unknown leaves the regex always searched."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.regex_prefilter import RegexIndex, index_key, required_char_sets
from pipeline.rules import load_rulebook


@pytest.mark.parametrize("pattern, expected", [
    ("(我|我来)(先)?查", [{"我"}, {"查"}]),
    ("(?<!不)理解您", [{"理"}, {"解"}, {"您"}]),
    ("^(那|那就)?随(您|你)", [{"随"}, {"您", "你"}]),
    ("(等|候)(?!一下)", [{"等", "候"}]),
    ("a|bc", [{"a", "b"}]),
    ("[0-9]+点", [set("0123456789"), {"点"}]),
])
def test_what_every_match_must_contain(pattern, expected):
    assert [set(s) for s in required_char_sets(re.compile(pattern))] == expected


@pytest.mark.parametrize("pattern", [
    "[\u4e00-\u9fff]+",          # a class as wide as CJK tells nothing ...
    ".+",                          # ... nor does any character
    "(?i)abc",                     # case-insensitive
    "(查)?",                       # can match the empty string
    "([\u4e00-\u9fff])\\1",      # a back-reference
])
def test_a_regex_without_a_key_is_always_searched(pattern):
    regex = re.compile(pattern)
    assert index_key(regex) is None
    assert RegexIndex([regex]).candidates("") == [0]


@pytest.mark.parametrize("pattern, key", [
    (".{0,4}查", "查"),                     # the literal after an unknown part still counts
    ("[\\u4e00-\\u9fff]不(修|换)", "修换"),  # 不 is common: the rarer set is the key
    ("(您|你)(可以)?去营业厅", "去"),
])
def test_the_rarest_required_set_is_the_key(pattern, key):
    assert index_key(re.compile(pattern)) == frozenset(key)


def test_only_regexes_whose_key_occurs_are_candidates():
    index = RegexIndex([re.compile("查"), re.compile("[\u4e00-\u9fff]{2}"), re.compile("退(款|货)")])
    assert index.candidates("你好") == [1]
    assert index.candidates("我查一下退款") == [0, 1, 2]


BOOK = load_rulebook()
RULEBOOK_REGEXES = [p.regex for a in BOOK.acts.acts for p in a.patterns] + \
    [p for rule in BOOK.rules.values() for s in rule.sets.values() if s is not None for p in s.patterns]
ALPHABET = sorted({ch for r in RULEBOOK_REGEXES for s in required_char_sets(r) for ch in s} | set("您好的了吗不是"))
INDEX = RegexIndex(RULEBOOK_REGEXES)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=30))
def test_every_rulebook_regex_that_matches_is_a_candidate(text):
    candidates = set(INDEX.candidates(text))
    for j, regex in enumerate(RULEBOOK_REGEXES):
        if regex.search(text):
            assert j in candidates, (regex.pattern, text)
