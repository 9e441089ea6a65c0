"""Rules that consume dialogue acts: apology after implicit problem reports, announced holds,
flat refusals, call outcome with confidence, and act references validated in the rulebook."""
from __future__ import annotations

import pytest

from pipeline.errors import RulebookError
from pipeline.rules import DEFAULT_RULEBOOK, assess, load_rulebook, parse_rulebook
from pipeline.types import CallMeta, Transcript, Utterance
from tests.dialogue_factory import A, BYE, C, GREET, chat, spoken_call


def call(*turns, gap_s: float = 0.5) -> Transcript:
    return spoken_call(*turns, gap_s=gap_s, call_id="t-acts", agent_id="A01")


def test_implicit_problem_report_needs_apology(book):
    qa = assess(call(GREET, (C, "我昨天充的一百块钱怎么还没到账？"), (A, "您报一下手机号。"), (C, "幺三八。"),
                     (A, "已经到账了，您刷新一下。"), (C, "好的，谢谢。"), BYE), book)
    assert qa.checks["apology_missing"] == "fail"


def test_empathy_phrasing_answers_the_complaint(book):
    qa = assess(call(GREET, (C, "宽带三天了还是连不上。"), (A, "这种情况确实挺让人着急的，我马上帮您查。"),
                     (C, "好。"), BYE), book)
    assert qa.checks["apology_missing"] == "pass"


def test_short_inline_hold_without_thanks_is_missing(book):
    qa = assess(call(GREET, (C, "我想查一下我的套餐。"), (A, "好的，我帮您查一下。", 3.0),
                     (A, "查到了，您是五十八元套餐。"), (C, "好的。"), BYE), book)
    assert qa.checks["hold_thanks_missing"] == "fail"


def test_short_inline_hold_with_thanks_passes(book):
    qa = assess(call(GREET, (C, "我想查一下我的套餐。"), (A, "您稍等。", 3.0), (C, "嗯。"),
                     (A, "让您久等了，查到了，是五十八元套餐。"), (C, "好的。"), BYE), book)
    assert qa.checks["hold_thanks_missing"] == "pass"


def test_lookup_after_customer_gives_details_is_no_hold(book):
    qa = assess(call(GREET, (C, "我的订单到哪了？"), (A, "您报一下订单号，我查一下。"), (C, "订单号是三三八八二一。"),
                     (A, "查到了，明天送到。"), (C, "好的。"), BYE), book)
    assert qa.checks["hold_thanks_missing"] == "not_applicable"


def test_chat_message_that_announces_and_answers_is_a_hold():
    book = load_rulebook()
    transcript = chat("chat-1", (C, "我的快递到哪了"), (A, "请您稍等，正在为您查询~ 您的订单预计明天送达"), (C, "好的"))
    assert assess(transcript, book).checks["hold_thanks_missing"] == "fail"


@pytest.mark.parametrize("text", ["这个退不了。", "不行。", "我们这边改不了的。", "只能这样。", "這個辦不了。"])
def test_flat_refusal_is_harsh(book, text):
    qa = assess(call(GREET, (C, "能帮我退一下吗？"), (A, text), BYE), book)
    assert [f.utterance_index for f in qa.findings if f.rule_id == "harsh_negation"] == [2]


@pytest.mark.parametrize("text", ["不好意思，这个退不了，不过可以帮您换货。", "因为已经发货了，所以改不了地址。",
                                  "不客气。", "没问题，马上给您退。"])
def test_softened_or_polite_negation_is_not_harsh(book, text):
    qa = assess(call(GREET, (C, "能帮我退一下吗？"), (A, text), BYE), book)
    assert not [f for f in qa.findings if f.rule_id == "harsh_negation"]


def test_customer_giving_up_is_unresolved_with_evidence(book):
    qa = assess(call(GREET, (C, "能帮我改一下收货地址吗？"), (A, "抱歉，已经发货了，没法改了，只能等送到后拒收。"),
                     (C, "那算了，我再想办法吧。"), BYE), book)
    assert qa.resolution == "unresolved"
    assert qa.resolution_utterances == (3,) and qa.resolution_confidence >= 0.8
    (f,) = [f for f in qa.findings if f.rule_id == "unresolved_issue"]
    assert not f.needs_review


def test_open_refusal_with_silent_customer_is_unresolved_for_review(book):
    qa = assess(call(GREET, (C, "能帮我把积分转给家人吗？"), (A, "这个办不了。"), (C, "哦。"), BYE), book)
    assert qa.resolution == "unresolved" and qa.resolution_confidence < 0.65
    (f,) = [f for f in qa.findings if f.rule_id == "unresolved_issue"]
    assert f.needs_review


def test_satisfied_customer_is_resolved(book):
    qa = assess(call(GREET, (C, "怎么开通来电提醒？"), (A, "您发短信KTLDTX到10086就可以了。"),
                     (C, "好的，明白了，谢谢。"), BYE), book)
    assert qa.resolution == "resolved" and qa.resolution_confidence >= 0.9


def test_overlapping_goodbyes_are_no_interruption(book):
    utterances = (Utterance(speaker=A, start_s=0, end_s=3, text="您好，客服中心，请问有什么可以帮您？"),
                  Utterance(speaker=C, start_s=3.5, end_s=6, text="我问下流量，好了知道了。"),
                  Utterance(speaker=C, start_s=6.5, end_s=9, text="好的谢谢你啊再见"),
                  Utterance(speaker=A, start_s=7.5, end_s=10, text="感谢您的来电，再见。"))
    transcript = Transcript(call=CallMeta(call_id="t-bye"), duration_s=10, utterances=utterances)
    assert assess(transcript, book).checks["interruption"] == "pass"


def test_qa_json_round_trip_keeps_new_fields(book):
    from pipeline.types import CallQA

    qa = assess(call(GREET, (C, "那算了。"), BYE), book)
    again = CallQA.from_dict(qa.to_dict())
    assert again.resolution_utterances == qa.resolution_utterances and again.acts == qa.acts
    assert CallQA.from_dict({k: v for k, v in qa.to_dict().items()
                             if k not in ("acts", "resolution_confidence", "resolution_utterances")})


def _edited(old: str, new: str) -> str:
    text = DEFAULT_RULEBOOK.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_unknown_act_in_a_rule_names_the_line():
    with pytest.raises(RulebookError, match=r"default.yaml:\d+: rule 'apology_missing': trigger_acts: unknown act"):
        parse_rulebook(_edited("trigger_acts: [problem_report, complaint]", "trigger_acts: [problem_reprot]"),
                       path=DEFAULT_RULEBOOK)


def test_unknown_word_class_names_the_line():
    with pytest.raises(RulebookError, match=r"default.yaml:\d+: acts: unknown word class \{nosuch\}"):
        parse_rulebook(_edited('re: "{loss_verb}.{0,8}{money}"', 're: "{loss_verb}{nosuch}"'), path=DEFAULT_RULEBOOK)


def test_bad_act_score_is_a_validation_error():
    with pytest.raises(RulebookError, match=r"default.yaml:\d+: .*acts.*score"):
        parse_rulebook(_edited("min_score: 0.5", "min_score: 5"), path=DEFAULT_RULEBOOK)
