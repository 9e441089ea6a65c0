"""Loading and validating rulebooks: the default one, custom ones, and errors that name rule, line and fix."""
from __future__ import annotations

import pickle
import pytest

from pipeline.errors import RulebookError
from pipeline.rules import DEFAULT_RULEBOOK, RULE_TYPES, load_rulebook, parse_rulebook

CANONICAL = ("greeting_missing", "farewell_missing", "apology_missing", "hold_thanks_missing", "harsh_negation",
             "interruption", "escalation_request", "unresolved_issue")


def test_default_rulebook_loads_with_canonical_rules():
    book = load_rulebook()
    assert book.id == "callqa-default-zh" and book.version
    assert set(CANONICAL) <= set(book.rules)
    for rule in book.rules.values():
        assert rule.category in ("courtesy", "language", "resolution", "process")
        assert rule.severity in ("critical", "major", "minor", "info")
        assert rule.title_zh and rule.title_en and rule.line
    assert book.rules["harsh_negation"].weight > 0 and book.user_dict and book.user_dict.exists()
    assert load_rulebook(DEFAULT_RULEBOOK).sha256 == book.sha256


def test_rulebook_pickles_for_workers():
    book = pickle.loads(pickle.dumps(load_rulebook()))
    assert book.rules["greeting_missing"].sets["require.0"].phrases


def write(tmp_path, text: str):
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
id: mine
version: 2
rules:
  - id: greeting_missing
    title: {zh: 开场未问候, en: No greeting}
    type: required_phrases
    window: {part: opening, turns: 1}
    require: [["@hello"]]
    weight: 7
lexicons:
  hello: [您好, 早上好]
settings: {user_dict: null}
"""


def test_custom_rulebook(tmp_path):
    book = load_rulebook(write(tmp_path, MINIMAL))
    assert book.id == "mine" and book.version == "2"  # YAML number kept as text
    assert list(book.rules) == ["greeting_missing"] and book.rules["greeting_missing"].weight == 7
    assert book.user_dict is None


def _error(tmp_path, text: str) -> str:
    with pytest.raises(RulebookError) as info:
        load_rulebook(write(tmp_path, text))
    return str(info.value)


@pytest.mark.parametrize("old, new, line, expected", [
    ("type: required_phrases", "type: required_phrase", 6,
     ["rule 'greeting_missing'", "type", "fix: set `type` to one of"]),
    ("    weight: 7\n", "    weight: 7\n    severty: major\n", 10,
     ["rule 'greeting_missing'", "severty", "fix: remove it or correct its spelling"]),
    ("weight: 7", "weight: lots", 9, ["rule 'greeting_missing'", "weight", "valid number", "'lots'"]),
    ("weight: 7", "weight: 7\n    severity: terrible", 10, ["severity", "'critical'", "fix: use one of"]),
    ("    title: {zh: 开场未问候, en: No greeting}\n", "", 4,
     ["rule 'greeting_missing'", "title", "Field required", "fix: add this field"]),
    ('require: [["@hello"]]', 'require: [["@hi"]]', 8, ["rule 'greeting_missing'", "unknown lexicon '@hi'", "hello"]),
    ("hello: [您好, 早上好]", 'hello: ["re:(unclosed"]', 11, ["rule 'greeting_missing'", "invalid regex", "fix:"]),
    ("hello: [您好, 早上好]", 'hello: ["，。"]', 11, ["empty after normalisation"]),
    ("window: {part: opening, turns: 1}", "window: {part: middle, turns: 1}", 7, ["window.part", "'opening'"]),
    ("id: greeting_missing", "id: Greeting-Missing", 4, ["fix: use lower-case letters"]),
])
def test_validation_errors_name_rule_line_and_fix(tmp_path, old, new, line, expected):
    assert old in MINIMAL
    message = _error(tmp_path, MINIMAL.replace(old, new))
    assert f"book.yaml:{line}:" in message, message
    for part in expected:
        assert part in message, (part, message)


def test_duplicate_rule_ids(tmp_path):
    rule = MINIMAL.split("rules:\n")[1].split("lexicons:")[0]
    text = MINIMAL.replace("rules:\n", "rules:\n" + rule, 1)
    assert "duplicate rule id" in _error(tmp_path, text)


def test_yaml_syntax_error_has_line(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("weight: 7", "weight: [7"))
    assert "not valid YAML" in message and ":" in message


def test_missing_file_and_wrong_shape(tmp_path):
    with pytest.raises(RulebookError, match="not found"):
        load_rulebook(tmp_path / "nope.yaml")
    with pytest.raises(RulebookError, match="expected a mapping"):
        parse_rulebook("- just\n- a list\n")


def test_semantic_checks(tmp_path):
    text = MINIMAL.replace("""    type: required_phrases
    window: {part: opening, turns: 1}
    require: [["@hello"]]
""", """    type: speech_rate
""")
    assert "needs min_cpm or max_cpm" in _error(tmp_path, text)


def test_user_dict_must_exist(tmp_path):
    text = MINIMAL.replace("settings: {user_dict: null}", "settings: {user_dict: words.txt}")
    assert "words.txt" in _error(tmp_path, text)


def test_every_rule_type_is_documented_in_the_default_or_schema():
    used = {rule.type for rule in load_rulebook().rules.values()}
    assert used <= set(RULE_TYPES)
