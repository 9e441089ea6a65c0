"""Apology after a complaint (a customer trigger answered by the agent) and call resolution."""
from __future__ import annotations

import pytest

from pipeline.rules import assess, load_rulebook
from pipeline.types import Transcript
from tests.dialogue_factory import spoken_call


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def call(*turns, gap_s: float = 0.5) -> Transcript:
    return spoken_call(*turns, gap_s=gap_s, call_id="t-003", agent_id="A03")


GREETING = ("agent", "您好，欢迎致电，请问有什么可以帮您？")

# --- apology -----------------------------------------------------------------------------------
COMPLAINTS = [
    "我买的冰箱才用一个星期就坏了。",
    "你们怎么又多扣了我二十块钱？",
    "快递显示签收了，可是我根本没收到。",
    "我等了两个小时了，师傅还没来。",
    "你们客服态度太差了，我很不满意。",
    "这个月的账单金额不对，比平时多了一倍。",
    "我的卡被盗刷了，这笔钱不是我消费的。",
    "网络一直连不上，已经三天了还没人来修。",
    "我買的洗衣機漏水了。",                           # Traditional
]
NOT_COMPLAINTS = [
    "我想查一下这个月的话费。",
    "如果以后坏了，能保修吗？",
    "我想把地址改成公司的。",
    "请问退货需要什么手续？",
    "我刚才把地址填错了，想改一下。",
]
APOLOGIES = [
    "非常抱歉给您带来不便，我马上帮您处理。",
    "真不好意思，给您添麻烦了。",
    "我非常理解您的心情，我先帮您查一下。",
    "您先别着急，我这边马上帮您登记。",
    "非常报歉，我马上帮您处理。",                    # ASR homophone of 抱歉
    "實在抱歉，給您帶來不便。",                      # Traditional
]


@pytest.mark.parametrize("complaint", COMPLAINTS)
@pytest.mark.parametrize("apology", APOLOGIES)
def test_complaint_answered_with_apology_passes(rulebook, complaint, apology):
    qa = assess(call(GREETING, ("customer", complaint), ("agent", "请提供一下订单号。"), ("customer", "一二三四五。"),
                     ("agent", apology)), rulebook)
    assert qa.checks["apology_missing"] == "pass"


@pytest.mark.parametrize("complaint", COMPLAINTS)
def test_complaint_without_apology_fires(rulebook, complaint):
    qa = assess(call(GREETING, ("customer", complaint), ("agent", "请提供一下订单号。"), ("customer", "一二三四五。"),
                     ("agent", "好的，已经给您登记了。")), rulebook)
    found = [f for f in qa.findings if f.rule_id == "apology_missing"]
    assert qa.checks["apology_missing"] == "fail" and len(found) == 1
    assert found[0].utterance_index == 1 and found[0].speaker == "customer"


@pytest.mark.parametrize("request_text", NOT_COMPLAINTS)
def test_plain_request_needs_no_apology(rulebook, request_text):
    qa = assess(call(GREETING, ("customer", request_text), ("agent", "好的，请提供一下订单号。")), rulebook)
    assert qa.checks["apology_missing"] == "not_applicable"


def test_apology_must_come_within_the_rules_window(rulebook):
    questions = ["请提供一下手机号。", "后四位呢？", "姓名呢？", "地址呢？", "哪个快递？", "几号下的单？"]
    window = rulebook.rules["apology_missing"].spec.within_turns
    assert window <= len(questions)
    late = [turn for q in questions[:window] for turn in (("agent", q), ("customer", "嗯。"))]
    qa = assess(call(GREETING, ("customer", "我的快递丢了。"), *late, ("agent", "不好意思给您添麻烦了。")), rulebook)
    assert qa.checks["apology_missing"] == "fail"
    in_time = late[:-2] + [("agent", "不好意思给您添麻烦了。")]
    assert assess(call(GREETING, ("customer", "我的快递丢了。"), *in_time), rulebook).checks["apology_missing"] == "pass"


# --- resolution --------------------------------------------------------------------------------
@pytest.mark.parametrize("turns, expected", [
    ([("customer", "我想改一下收货地址。"), ("agent", "好的，已经为您改好了。"), ("customer", "好的，谢谢。")], "resolved"),
    ([("customer", "我的空调不制冷了。"), ("agent", "已经为您提交维修工单，师傅会在明天上午十点前给您打电话。"),
      ("customer", "好的。")], "follow_up"),
    ([("customer", "退款什么时候到？"), ("agent", "我给您登记了，四十八小时内会有专员联系您。")], "follow_up"),
    ([("customer", "退款什么时候到？"), ("agent", "我们会在三个工作日内短信通知您处理结果。")], "follow_up"),
    ([("customer", "退款什么时候到？"), ("agent", "师傅明天點前給您打電話。")], "follow_up"),   # Traditional + 点前
    ([("customer", "能不能退？"), ("agent", "这个退不了。"), ("customer", "那我的问题还是没解决啊。")], "unresolved"),
    ([("customer", "能不能退？"), ("agent", "不行。"), ("customer", "算了算了，说了也白说。")], "unresolved"),
    # a commitment after the customer's complaint turns the call into a follow-up ...
    ([("customer", "问题还是没解决。"), ("agent", "我给您升级处理，今天下午五点前给您回电。"), ("customer", "好。")],
     "follow_up"),
    # ... and the customer saying it is still unsolved after the promise makes it unresolved
    ([("agent", "我给您登记，今天下午五点前给您回电。"), ("customer", "你们上次也这么说，问题到现在也没解决。")],
     "unresolved"),
    ([("agent", "我给您登记，今天下午五点前给您回电。"), ("customer", "问题还是没解决，那我等你们电话吧。")],
     "follow_up"),
    ([("customer", "预计什么时候到？"), ("agent", "预计明天送达，请注意查收。")], "resolved"),
])
def test_resolution(rulebook, turns, expected):
    qa = assess(call(GREETING, *turns), rulebook)
    assert qa.resolution == expected, qa.resolution_evidence
    assert qa.resolution_evidence
    unresolved = [f for f in qa.findings if f.rule_id == "unresolved_issue"]
    assert bool(unresolved) == (expected == "unresolved")


def test_resolution_is_classified_even_when_the_rule_is_disabled(rulebook):
    from pipeline.rules import RuleOptions

    qa = assess(call(GREETING, ("customer", "问题还是没解决。")), rulebook, RuleOptions(disabled=("unresolved_issue",)))
    assert qa.resolution == "unresolved" and not [f for f in qa.findings if f.rule_id == "unresolved_issue"]
