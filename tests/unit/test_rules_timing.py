"""Rules measured from timestamps: holds, interruptions, dead air, speech rate, call metrics."""
from __future__ import annotations

import pytest

from pipeline.rules import assess, load_rulebook, match
from pipeline.types import CallMeta, Transcript, Utterance, Word


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def timed(*utterances: tuple[str, float, float, str]) -> Transcript:
    """A transcript from (speaker, start_s, end_s, text)."""
    utts = tuple(Utterance(speaker=s, start_s=a, end_s=b, text=t) for s, a, b, t in utterances)
    return Transcript(call=CallMeta(call_id="t-002", agent_id="A02"), duration_s=max(u.end_s for u in utts),
                      utterances=utts)


def fired(transcript, rulebook, rule_id):
    return [f for f in match(transcript, rulebook) if f.rule_id == rule_id]


OPENING = [("agent", 0.0, 3.0, "您好，请问有什么可以帮您？"), ("customer", 3.5, 6.0, "我想查一下我的订单。")]


# --- holds -------------------------------------------------------------------------------------
@pytest.mark.parametrize("before, gap_s, after, expected", [
    ("好的，请您稍等，我帮您查一下。", 15.0, "查到了，您的订单已经发货了。", 1),       # announced hold, no thanks
    ("我看一下。", 12.0, "嗯，查到了，明天送到。", 1),                                  # silence >= 10 s
    ("好的，请您稍等。", 15.0, "感谢您的耐心等待，订单已经发货了。", 0),
    ("好的，请您稍等。", 15.0, "让您久等了，订单已经发货了。", 0),
    ("好的，请您稍等。", 15.0, "謝謝您的耐心等候，已經發貨了。", 0),                 # Traditional
    ("好的，请您稍等。", 15.0, "感谢你的耐心等待，已经发货了。", 0),                  # 您 heard as 你
    ("好的，请您稍等。", 15.0, "不好意思让您等这么久，已经发货了。", 0),
    ("好，稍等。", 6.0, "查到了，明天送到。", 1),                                      # announced and back: any length
    ("好的，请您稍等。", 8.5, "查到了，明天送到。", 1),                                 # announced: 8 s is enough
    ("订单在路上了。", 8.5, "还有别的问题吗？", 0),                                    # unannounced 8.5 s: no hold
])
def test_hold_thanks(rulebook, before, gap_s, after, expected):
    transcript = timed(*OPENING, ("agent", 6.5, 9.0, before), ("agent", 9.0 + gap_s, 12.0 + gap_s, after))
    found = fired(transcript, rulebook, "hold_thanks_missing")
    assert len(found) == expected
    if found:
        assert found[0].utterance_index == 3 and found[0].pattern.startswith("hold")


def test_customer_silence_is_not_an_agent_hold(rulebook):
    transcript = timed(*OPENING, ("agent", 6.5, 8.0, "麻烦您提供一下订单号。"),
                       ("customer", 8.5, 10.0, "我找一下。"), ("customer", 22.0, 24.0, "找到了，一二三四五。"),
                       ("agent", 24.5, 26.0, "好的，查到了。"))
    qa = assess(transcript, rulebook)
    assert qa.checks["hold_thanks_missing"] == "not_applicable"
    assert not [f for f in qa.findings if f.rule_id == "hold_thanks_missing"]


def test_customer_ok_during_announced_hold_still_counts_as_agent_hold(rulebook):
    transcript = timed(*OPENING, ("agent", 6.5, 8.0, "请您稍等，我查一下。"), ("customer", 8.2, 8.6, "好。"),
                       ("agent", 25.0, 27.0, "查到了，明天送到。"))
    assert len(fired(transcript, rulebook, "hold_thanks_missing")) == 1


# --- interruptions -----------------------------------------------------------------------------
@pytest.mark.parametrize("agent_start, agent_text, expected", [
    (8.0, "您是要查物流对吧？", 1),     # 2 s into the customer's sentence
    (9.6, "您是要查物流对吧？", 0),     # 0.4 s overlap: turn-taking, not an interruption
    (10.2, "您是要查物流对吧？", 0),    # after the customer finished
    (8.0, "嗯。", 0),                    # backchannel
])
def test_interruption(rulebook, agent_start, agent_text, expected):
    transcript = timed(*OPENING, ("customer", 6.5, 10.0, "我上周买的东西到现在都没有物流信息，我——"),
                       ("agent", agent_start, agent_start + 3.0, agent_text))
    found = fired(transcript, rulebook, "interruption")
    assert len(found) == expected
    if found:
        assert found[0].speaker == "agent" and found[0].start_s == agent_start


def test_customer_interrupting_agent_is_not_flagged(rulebook):
    transcript = timed(*OPENING, ("agent", 6.5, 10.0, "请您提供一下订单号，我帮您查询一下物流。"),
                       ("customer", 8.5, 11.0, "订单号是一二三四五六。"))
    assert fired(transcript, rulebook, "interruption") == []


def test_interruption_uses_spoken_words_not_trailing_tokens(rulebook):
    """Whisper stretches a trailing punctuation-like token over the following silence."""
    customer = Utterance("customer", 6.5, 11.0, "好的谢谢4", words=(
        Word("好的", 6.5, 7.5, 0.9), Word("谢谢", 7.5, 8.8, 0.9), Word("4", 8.8, 11.0, 0.8)))
    agent = Utterance("agent", 9.5, 12.0, "不客气，再见。", words=(Word("不客气", 9.5, 10.5, 0.9),
                                                                 Word("再见", 10.8, 12.0, 0.9)))
    transcript = Transcript(call=CallMeta(call_id="t"), duration_s=12.0,
                            utterances=(Utterance("agent", 0.0, 3.0, "您好，请问有什么可以帮您？"), customer, agent))
    assert fired(transcript, rulebook, "interruption") == []


# --- dead air and speech rate ------------------------------------------------------------------
def test_unannounced_silence_is_dead_air(rulebook):
    transcript = timed(*OPENING, ("agent", 6.5, 8.0, "这个情况是这样的。"), ("agent", 20.0, 22.0, "您的订单已经发货。"))
    found = fired(transcript, rulebook, "dead_air")
    assert len(found) == 1 and found[0].pattern.startswith("silence 12.0")


def test_announced_hold_is_not_dead_air(rulebook):
    transcript = timed(*OPENING, ("agent", 6.5, 8.0, "请您稍等，我查一下。"), ("agent", 20.0, 22.0, "感谢您的耐心等待。"))
    assert fired(transcript, rulebook, "dead_air") == []


def test_fast_agent_speech_fires_speech_rate(rulebook):
    fast = "您好这边是客服中心请问有什么可以帮您" * 3  # 54 characters in 6 s = 540 per minute
    transcript = timed(*[("agent", 10.0 * k, 10.0 * k + 6.0, fast) for k in range(5)])
    found = fired(transcript, rulebook, "speech_rate")
    assert len(found) == 1 and "chars/min" in found[0].pattern


def test_metrics(rulebook):
    transcript = timed(("agent", 0.0, 4.0, "您好，请问有什么可以帮您？"), ("customer", 4.5, 6.5, "查话费。"),
                       ("agent", 7.0, 9.0, "请您稍等。"), ("agent", 21.0, 25.0, "感谢您的耐心等待，话费余额五十元。"))
    qa = assess(transcript, rulebook)
    m = qa.metrics
    assert m["agent_talk_s"] == 10.0 and m["customer_talk_s"] == 2.0
    assert m["talk_ratio"] == pytest.approx(10 / 12, abs=1e-3)
    assert m["holds"] == 1.0 and m["hold_s"] == 12.0 and m["longest_silence_s"] == 12.0
    assert m["agent_speech_rate_cpm"] > 0 and m["interruptions"] == 0.0


def test_low_confidence_findings_need_review(rulebook):
    words = (Word("不归", 0.0, 1.0, 0.2), Word("我们管", 1.0, 2.0, 0.3))
    transcript = Transcript(call=CallMeta(call_id="t"), duration_s=3.0, utterances=(
        Utterance("agent", 0.0, 2.0, "不归我们管", words=words),))
    qa = assess(transcript, rulebook)
    harsh = [f for f in qa.findings if f.rule_id == "harsh_negation"]
    assert harsh and harsh[0].needs_review and harsh[0].asr_confidence == pytest.approx(0.25)
    assert qa.needs_review


def test_no_agent_speech_needs_review_and_opening_not_applicable(rulebook):
    transcript = timed(("customer", 0.0, 2.0, "喂？有人吗？"))
    qa = assess(transcript, rulebook)
    assert qa.needs_review and qa.checks["greeting_missing"] == "not_applicable"
