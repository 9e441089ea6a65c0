"""Transcript JSON from outside (`callqa score`, `callqa eval --transcripts`): parsed, or our error."""
from __future__ import annotations

import json
from functools import lru_cache

from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import TranscriptError
from pipeline.evaluate import load_transcript
from pipeline.rules import RuleOptions, assess, load_rulebook
from tests.fuzz.helpers import cli_fails_in_one_line, json_values, mutations, valid_or_our_error
from tests.report_factory import transcript

VALID = transcript().to_dict()
VALID["utterances"][0]["words"] = [{"text": "您好", "start_s": 0.5, "end_s": 0.9, "probability": 0.9}]


@lru_cache(maxsize=1)
def _rulebook():
    return load_rulebook(None)


def _check(tmp_path, text: str | bytes):
    path = tmp_path / "call.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    parsed = valid_or_our_error(lambda: load_transcript(path), path, TranscriptError)
    if parsed is not None:  # what parses must also score without crashing
        assess(parsed, _rulebook(), RuleOptions())
    return path


@given(st.one_of(mutations(VALID), json_values))
def test_any_json_value_parses_or_names_the_file(tmp_path, data):
    _check(tmp_path, json.dumps(data, ensure_ascii=False))


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_parse_or_name_the_file(tmp_path, raw):
    _check(tmp_path, raw)


@given(st.one_of(mutations(VALID, max_edits=2), json_values))
def test_score_command_exits_with_one_line(tmp_path, data):
    path = tmp_path / "call.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cli_fails_in_one_line(["score", str(path), "--out", str(tmp_path / "qa")])


def test_score_on_a_json_array_is_one_line_not_a_traceback(tmp_path):
    """Issue 13: `callqa score` on a file holding a JSON array printed a 40-line AttributeError."""
    path = tmp_path / "array.json"
    path.write_text("[1, 2, 3]")
    result = cli_fails_in_one_line(["score", str(path), "--out", str(tmp_path / "qa")])
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert str(path) in line and "expected an object, found list" in line and "callqa transcribe" in line
