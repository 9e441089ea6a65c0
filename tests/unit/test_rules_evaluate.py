"""Evaluation against labelled calls (own fixtures in tests/data/calls), the CLI, and text matching."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.errors import TranscriptError
from pipeline.evaluate import (
    evaluate_calls,
    load_labelled_call,
    predicted_labels,
    transcript_from_reference,
    transcripts_from_dialogues,
)
from pipeline.normalize import chinese_digits_to_arabic, compact_text
from pipeline.rules import PhraseSet, TextView, assess, load_rulebook
from pipeline.rules.text import sound_text
from pipeline.types import CallQA, Utterance, Word

CALLS = Path(__file__).resolve().parents[1] / "data" / "calls"


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


# --- text layer --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("您好，華鑫銀行，工號三零二一。", "您好华鑫银行工号3021"),
    ("请拨打一二三一五！", "请拨打12315"),
    ("一点五匹，五六十块", "一点五匹五六十块"),  # short runs and decimals stay words
    ("ＯＫ，３０２１号", "ok3021号"),
    ("嗯_好的……", "嗯好的"),
])
def test_compact_text(text, expected):
    assert compact_text(text) == expected


def test_chinese_digits_keep_length():
    assert len(chinese_digits_to_arabic("手机一三九零零")) == len("手机一三九零零")


def test_homophones_match_misheard_characters_only():
    apology = PhraseSet.build("apology", ["抱歉", "歉意"], homophones=True)
    assert apology.search(TextView("非常报歉")).homophone
    assert apology.search(TextView("用电量是一千一百度")) is None  # 千一 sounds like 歉意 but shares no character
    assert sound_text("抱歉") == sound_text("报歉") and len(sound_text("抱歉abc")) == 5


def test_phrase_set_regex_and_exact():
    s = PhraseSet.build("x", ["不归我们管", "re:不可能(错|出错)"])
    hits = s.find_all(TextView("不归我们管，这不可能错。"))
    assert [h.pattern for h in hits] == ["不归我们管", "re:不可能(错|出错)"]


def test_regex_with_a_backreference_still_matches_next_to_other_regexes():
    """A backreference (扣了就是扣了) counts its own groups, whatever regexes stand next to it."""
    s = PhraseSet.build("x", ["re:别(烦|吵)", r"re:([\u4e00-\u9fff]{1,3})了就是\1了", "re:不可能(错|出错)"])
    assert s.search(TextView("扣了就是扣了，退不了。")).pattern.startswith("re:([")
    assert s.search(TextView("扣了就是退了。")) is None
    assert [h.pattern for h in s.find_all(TextView("别烦，过期了就是过期了"))][0] == "re:别(烦|吵)"


def test_tokenizer_is_dedicated(rulebook):
    import jieba

    from pipeline.rules import load_tokenizer

    tokenizer = load_tokenizer(rulebook.user_dict)
    assert tokenizer is not jieba.dt
    assert "改不了" in list(tokenizer.cut("我们这边改不了", HMM=False))


# --- evaluation --------------------------------------------------------------------------------
def test_transcript_from_reference():
    transcript = transcript_from_reference(CALLS / "dev-004.ref.json")
    assert transcript.call.call_id == "dev-004" and transcript.call.agent_id
    first = transcript.utterances[0]
    assert first.speaker == "agent" and first.start_s == 0.3 and first.text.startswith("您好")


def test_evaluate_reference_fixtures_agree_with_labels(rulebook):
    report = evaluate_calls(CALLS, rulebook)
    assert report.calls == 4 and report.resolution_accuracy == 1.0
    for row in report.rows():
        assert row["f1"] == 1.0, (row, report.to_dict()["errors"])


def test_evaluate_asr_like_transcripts_by_time_overlap(rulebook):
    """Turns split in two and shifted in time still match their labelled turns."""
    transcripts = {}
    for path in sorted(CALLS.glob("*.ref.json")):
        ref = transcript_from_reference(path)
        utterances = []
        for u in ref.utterances:
            half = len(u.text) // 2
            middle = (u.start_s + u.end_s) / 2
            # a split that keeps every phrase whole is not guaranteed; split at a comma when there is one
            cut = u.text.find("，") + 1 or half
            utterances += [replace(u, start_s=u.start_s + 0.1, end_s=middle, text=u.text[:cut]),
                           replace(u, start_s=middle + 0.05, end_s=u.end_s + 0.1, text=u.text[cut:])]
        transcripts[ref.call.call_id] = ref.with_utterances(tuple(x for x in utterances if x.text))
    report = evaluate_calls(CALLS, rulebook, transcripts=transcripts)
    rows = {row["label"]: row for row in report.rows()}
    assert rows["harsh_turns"]["recall"] == 1.0 and rows["interruption_turns"]["f1"] == 1.0
    assert report.resolution_accuracy == 1.0


def test_evaluate_reports_missing_transcripts(rulebook):
    report = evaluate_calls(CALLS, rulebook, transcripts={})
    assert report.calls == 0 and len(report.missing_transcripts) == 4


def test_evaluate_needs_labelled_calls(tmp_path, rulebook):
    with pytest.raises(TranscriptError, match="no \\*.ref.json"):
        evaluate_calls(tmp_path, rulebook)
    (tmp_path / "bad.ref.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TranscriptError, match="SCHEMA.md"):
        load_labelled_call(tmp_path / "bad.ref.json")


def test_predicted_labels_from_checks():
    qa = CallQA(call_id="x", agent_id=None, rulebook_id="r", rulebook_version="1", resolution="resolved",
                checks={"greeting_missing": "fail", "farewell_missing": "pass", "apology_missing": "not_applicable",
                        "hold_thanks_missing": "pass"})
    labels = predicted_labels(qa)
    assert labels["opening_greeting"] is False and labels["closing_farewell"] is True
    assert labels["apology"] == "not_needed" and labels["hold_thanks"] == "present"


def test_text_dialogues_score_without_errors(tmp_path, rulebook):
    path = tmp_path / "d.jsonl"
    rows = [{"dialog_id": "a", "turns": [{"role": "agent", "text": "您好，请问有什么可以帮您？"},
                                         {"role": "customer", "text": "我的快递丢了"},
                                         {"role": "agent", "text": "不归我们管"}]},
            {"dialog_id": "b", "turns": [{"role": "customer", "text": "在吗"}]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    transcripts = transcripts_from_dialogues(path)
    assert [t.call.call_id for t in transcripts] == ["a", "b"]
    qa = assess(transcripts[0], rulebook)
    assert {"harsh_negation", "apology_missing"} <= {f.rule_id for f in qa.findings}


def test_qa_json_round_trip(rulebook):
    qa = assess(transcript_from_reference(CALLS / "dev-002.ref.json"), rulebook)
    again = CallQA.from_dict(json.loads(json.dumps(qa.to_dict(), ensure_ascii=False)))
    assert again == qa and again.rulebook_id == rulebook.id and again.checks["harsh_negation"] == "fail"


# --- CLI ---------------------------------------------------------------------------------------
def test_cli_score_and_eval(tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    transcript = transcript_from_reference(CALLS / "dev-002.ref.json")
    src = tmp_path / "dev-002.json"
    src.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "qa")])
    assert result.exit_code == 0, result.output
    qa = json.loads((tmp_path / "qa" / "dev-002.qa.json").read_text(encoding="utf-8"))
    assert qa["call_id"] == "dev-002" and qa["resolution"] == "unresolved"
    assert {"harsh_negation", "apology_missing", "unresolved_issue"} <= {f["rule_id"] for f in qa["findings"]}
    finding = next(f for f in qa["findings"] if f["rule_id"] == "harsh_negation")
    assert finding["quote"] and finding["pattern"] and finding["start_s"] is not None

    result = runner.invoke(app, ["eval", "--calls", str(CALLS), "--transcripts", str(tmp_path),
                                 "--json", str(tmp_path / "eval.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert report["reports"][0]["calls"] == 4 and report["reports"][1]["calls"] == 1

    assert runner.invoke(app, ["rulebook"]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\nrules: []\n", encoding="utf-8")
    result = runner.invoke(app, ["score", str(src), "--rulebook", str(bad)])
    assert result.exit_code == 2


def test_low_confidence_word_utterances(rulebook):
    words = tuple(Word(ch, i * 0.3, i * 0.3 + 0.3, 0.3) for i, ch in enumerate("喂请讲"))
    transcript = transcript_from_reference(CALLS / "dev-004.ref.json")
    first = transcript.utterances[0]
    transcript = transcript.with_utterances((Utterance("agent", first.start_s, first.end_s, "喂，请讲。", words=words),)
                                            + transcript.utterances[1:])
    qa = assess(transcript, rulebook)
    greeting = [f for f in qa.findings if f.rule_id == "greeting_missing"]
    assert greeting and greeting[0].needs_review and qa.needs_review
