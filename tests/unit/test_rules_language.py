"""Table-driven tests of the language rules: Mandarin sentences that must and must not fire.

Sentences are written for these tests (not taken from the evaluation scripts); Traditional
inputs and ASR homophones check the normalisation and tolerance layers.
"""
from __future__ import annotations

import pytest

from pipeline.rules import RuleOptions, assess, load_rulebook, match
from pipeline.types import CallMeta, Transcript, Utterance
from tests.dialogue_factory import spoken_call


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def call(*turns, gap_s: float = 0.5) -> Transcript:
    return spoken_call(*turns, gap_s=gap_s, call_id="t-001", agent_id="A01")


def fired(transcript: Transcript, rulebook, rule_id: str) -> list:
    return [f for f in match(transcript, rulebook) if f.rule_id == rule_id]


# --- harsh negation ----------------------------------------------------------------------------
HARSH = [
    "这个不归我们管，你找别人吧。",
    "我也不知道，你去问物流公司。",
    "你明天再打过来问吧。",
    "这也要问？说明书上写得清清楚楚。",
    "我不是说过了吗，要先登录才能看。",
    "规定就是这样，我也没办法。",
    "那是你自己操作的，跟我们没关系。",
    "退款我们这边办不了。",
    "这个不能给你退。",
    "无法处理。",
    "不行，这个肯定不行。",
    "你着什么急啊，又不是只有你一个人。",
    "你说什么都没用，系统就是这么设定的。",
    "不可能出错的，电表走多少就收多少。",
    "这都不会？自己看一下页面不就行了。",
    "我们可不管商家的事，你自己去问商家。",
    "這個不歸我們管。",                      # Traditional
    "你明天再打過來吧。",                    # Traditional
    "规定就是这洋，我们也没办法。",          # ASR homophone of 这样
    "这种情况一般都是您自己网络的问题。",    # blame without 你自己的问题
    "通常是使用不当造成的，不在保修范围。",
    "使用不當導致的，規定如此。",            # Traditional
    "您明天再打过来问问。",
    "这个你自己再打电话来问一下。",
    "我们也没办法。",
    "协议写得明明白白，是您自己没仔细看。",              # the customer's own omission
    "那肯定是你密码输错了。",                            # the customer did it wrong
    "丢件那是快递公司的事，我们管不着。",                # somebody else's business
    "那是物業的事。",                                    # Traditional
    "房东不退押金，你找房东要去。",                      # go to them yourself
    "这个跟我们银行这边扯不上。",
    "我们这边又不是保险公司。",
    "过期了就是过期了，没什么好说的。",                  # a done deal restated
    "您挂了再重新拨一遍。",                              # call again by dialling
    "你再打进来也是一样的。",
    "那你让我怎么办？",                                  # impatience
    "总不能光给您一个人先修吧。",
    "货都签收了，还退什么？",
    "卡里没钱，它拿什么扣？",
    "您要怎么评价是您自己的事。",
]

NOT_HARSH = [
    "不客气，这是我们应该做的。",
    "不好意思，让您久等了。",
    "没问题，我马上帮您处理。",
    "没关系，您慢慢说。",
    "不用担心，不会影响您的信用记录。",
    "别着急，我帮您查一下。",
    "不会的，您放心。",
    "不好意思，这个目前没法直接退，不过您可以申请售后维修。",
    "抱歉，合约期内暂时办不了，建议您到期后再办理。",
    "这张卡现在不能取现了，补卡后就能正常使用。",
    "如果您不需要的话，也可以不办理。",
    "目前系统里查不到这笔记录，我帮您提交核查。",
    "不管怎样，我们都会帮您处理好的。",
    "还有不清楚的，您可以随时再打过来咨询。",
    "能不能麻烦您提供一下订单号？",
    "这个套餐是不支持退订的，您看需要换成其他套餐吗？",
    "您不用跑营业厅，线上就能办。",
    "您的问题我已经记录下来了。",
    "您去问问物业也可以，我这边也帮您登记。",
    "不客氣，祝您生活愉快。",                # Traditional
    "审核要等结果出来，我们也没办法加快，还请您见谅。",   # a softened refusal, not a brush-off
    "明天我们再打过来问问您的使用情况。",     # the agent calls back
    "稍后我再打过来问一下您是否收到。",
    "一般是系统原因造成的，我马上帮您处理。",
    "操作不当也没关系，我一步步教您。",
    "我們也沒辦法加快，還請您見諒。",          # Traditional
    "这是我们的问题，我马上帮您处理。",         # an admission, not somebody else's business
    "这是很正常的事，您不用担心。",
    "我帮您找师傅去，您稍等。",                 # the agent goes, not the customer
    "您自己不用操作，我们后台处理。",
    "依规定开户未满三个月不能提额，到时候我提醒您。",   # reasoned
    "今天已经过了营业时间，没办法马上取卡。",
    "这个业务要本人到场，热线这边没法直接办。",
    "我这边再拨一次给师傅问问。",               # the agent calls, not a brush-off
    "您还有什么需要帮忙的吗？",
]


@pytest.mark.parametrize("text", HARSH)
def test_harsh_negation_fires(rulebook, text):
    found = fired(call(("agent", text)), rulebook, "harsh_negation")
    assert len(found) == 1, text
    assert found[0].pattern and found[0].quote == text and found[0].weight == rulebook.rules["harsh_negation"].weight


@pytest.mark.parametrize("text", NOT_HARSH)
def test_polite_or_softened_negation_does_not_fire(rulebook, text):
    assert fired(call(("agent", text)), rulebook, "harsh_negation") == [], text


def test_harsh_negation_is_one_finding_per_agent_utterance(rulebook):
    transcript = call(("agent", "不归我们管，你去问别人，这是规定。"), ("customer", "你这是什么态度？"),
                      ("agent", "规定就是这样。"))
    found = fired(transcript, rulebook, "harsh_negation")
    assert [f.utterance_index for f in found] == [0, 2]
    assert all(f.speaker == "agent" and f.start_s is not None for f in found)


def test_customer_negations_are_not_scored(rulebook):
    assert fired(call(("customer", "你们就是不管，我不知道该找谁了。")), rulebook, "harsh_negation") == []


# --- greeting ----------------------------------------------------------------------------------
GREETINGS = [
    "您好，欢迎致电星河通信，请问有什么可以帮您？",
    "你好，安居物业客服，工号2231为您服务。",
    "早上好，这里是顺捷物流热线，请讲。",
    "您好，很高兴为您服务。",
    "您好，欢迎致电，我是客服小李。",
    "您好，歡迎致電，請問有什麼可以幫您？",    # Traditional
    "您好，很高心为您服务。",                  # ASR homophone of 很高兴
    "你好，公号一二三四，请问有什么可以帮你？",  # 工号 heard as 公号, 您 as 你, digits spelled out
]
NO_GREETING = ["喂，请讲。", "客服中心。", "喂，哪位？", "说吧，什么事？", "您好。", "喂，这里是售后。"]


@pytest.mark.parametrize("text", GREETINGS)
def test_greeting_passes(rulebook, text):
    assert fired(call(("agent", text), ("customer", "你好，我想问一下。")), rulebook, "greeting_missing") == []


@pytest.mark.parametrize("text", NO_GREETING)
def test_greeting_missing_fires(rulebook, text):
    found = fired(call(("agent", text), ("customer", "你好，我想问一下。")), rulebook, "greeting_missing")
    assert len(found) == 1 and found[0].utterance_index == 0 and "missing" in found[0].pattern


def test_greeting_split_over_two_asr_utterances_still_counts(rulebook):
    transcript = Transcript(call=CallMeta(call_id="t"), duration_s=10, utterances=(
        Utterance("agent", 0.0, 1.0, "您好"), Utterance("agent", 1.5, 4.0, "请问有什么可以帮您"),
        Utterance("customer", 4.5, 6.0, "我想查话费")))
    assert fired(transcript, rulebook, "greeting_missing") == []


# --- farewell ----------------------------------------------------------------------------------
FAREWELLS = [
    "感谢您的来电，再见。",
    "好的，还有什么可以帮您的吗？",
    "祝您生活愉快。",
    "好的，稍后请对我的服务做出评价，谢谢。",
    "请问还有其他问题需要咨询吗？",
    "感謝您的來電，再見。",                  # Traditional
]
NO_FAREWELL = ["嗯，好的。", "行，那就这样。", "好。", "挂了啊。", "知道了。"]


@pytest.mark.parametrize("text", FAREWELLS)
def test_farewell_passes(rulebook, text):
    transcript = call(("agent", "您好，请问有什么可以帮您？"), ("customer", "没事了，谢谢。"), ("agent", text))
    assert fired(transcript, rulebook, "farewell_missing") == []


@pytest.mark.parametrize("text", NO_FAREWELL)
def test_farewell_missing_fires(rulebook, text):
    transcript = call(("agent", "您好，请问有什么可以帮您？"), ("customer", "我想改地址。"), ("agent", "已经改好了。"),
                      ("customer", "好的，谢谢。"), ("agent", text))
    found = fired(transcript, rulebook, "farewell_missing")
    assert len(found) == 1 and found[0].utterance_index == 4


def test_farewell_only_counts_in_the_closing(rulebook):
    transcript = call(("agent", "您好，请问有什么可以帮您？还有其他问题吗？"), ("customer", "我要改地址。"),
                      ("agent", "好的。"), ("customer", "改到公司。"), ("agent", "改好了。"), ("customer", "行。"),
                      ("agent", "嗯。"))
    assert len(fired(transcript, rulebook, "farewell_missing")) == 1


# --- escalation --------------------------------------------------------------------------------
ESCALATION = ["我要投诉你们！", "给我找你们领导来。", "我要打12315举报你们。", "我要打一二三一五。",
              "再不处理我就去消协。", "我要投訴你們。"]
NO_ESCALATION = ["我的电话是13912345678。", "那投诉就算了。", "我想查一下快递。", "我的订单号是123150。"]


@pytest.mark.parametrize("text", ESCALATION)
def test_escalation_request_fires(rulebook, text):
    assert len(fired(call(("customer", text)), rulebook, "escalation_request")) == 1, text


@pytest.mark.parametrize("text", NO_ESCALATION)
def test_escalation_request_does_not_fire(rulebook, text):
    assert fired(call(("customer", text)), rulebook, "escalation_request") == [], text


def test_agent_saying_complaint_is_not_escalation(rulebook):
    assert fired(call(("agent", "已经为您提交投诉工单。")), rulebook, "escalation_request") == []


def test_escalation_sets_metric(rulebook):
    qa = assess(call(("agent", "您好，请问有什么可以帮您？"), ("customer", "我要投诉！")), rulebook)
    assert qa.metrics["escalated"] == 1.0


# --- identity verification ---------------------------------------------------------------------
def test_account_details_before_verification_fire(rulebook):
    transcript = call(("agent", "您好，请问有什么可以帮您？"), ("customer", "查一下余额。"),
                      ("agent", "您的账户余额是三百元。"))
    assert len(fired(transcript, rulebook, "identity_verification")) == 1


def test_account_details_after_verification_pass(rulebook):
    transcript = call(("agent", "您好，请问有什么可以帮您？"), ("customer", "查一下余额。"),
                      ("agent", "请提供一下身份证后六位。"), ("customer", "一二三四五六。"),
                      ("agent", "您的账户余额是三百元。"))
    assert fired(transcript, rulebook, "identity_verification") == []


def test_disabled_rules_do_not_run(rulebook):
    transcript = call(("agent", "喂。"), ("customer", "我要投诉！"))
    options = RuleOptions(disabled=("greeting_missing", "escalation_request"))
    qa = assess(transcript, rulebook, options)
    assert {"greeting_missing", "escalation_request"}.isdisjoint(f.rule_id for f in qa.findings)
    assert "greeting_missing" not in qa.checks
    assert "surname_address" not in qa.checks  # enabled: false in the default rulebook
