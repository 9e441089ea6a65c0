"""The call outcome from the whole call: the last commitment against a later completion, refusals
left open, the customer's closing stance, and the confidence that sends uncertain calls to review.

Calls are written for these tests (phone and chat register, Simplified and Traditional), not taken
from any evaluation set.
"""
from __future__ import annotations

import pytest

from pipeline.evaluate import EvalReport, LabelledCall, score_call
from pipeline.rules import assess
from pipeline.types import Transcript
from tests.dialogue_factory import A, BYE, C, GREET, spoken_call


def call(*turns, gap_s: float = 0.5) -> Transcript:
    return spoken_call(*turns, gap_s=gap_s, call_id="t-outcome", agent_id="A01")


FOLLOW_UPS = [
    # deadlines, escalation, visits, notices, in both registers
    [(C, "我家宽带从昨天开始就上不了网。"), (A, "给您提交了一个故障工单，装维师傅明天上午上门。"), (C, "好的。")],
    [(C, "我的快递三天没动了。"), (A, "好的，这边帮您催促一下站点。"), (C, "好的谢谢。")],
    [(C, "话费多扣了二十块。"), (A, "我帮您申请一下退费，三到五个工作日内退回原账户。"), (C, "行。")],
    [(C, "积分怎么少了一半？"), (A, "我把您的情况反馈给专员，有结果第一时间通知您。"), (C, "嗯，好吧。")],
    [(C, "發票抬頭開錯了。"), (A, "好的，修改好了給您發短信。"), (C, "好的，謝謝。")],           # Traditional
    # ASR-like, no punctuation
    [(C, "我家宽带从昨天晚上就连不上了"), (A, "好的我这边帮您报障一下 维修人员会在二十四小时内跟您联系"), (C, "那好吧 尽快啊")],
    [(C, "这个月话费怎么多了五十块"), (A, "是增值业务扣费 给您退订了 扣的费用给您申请退回 三到五个工作日退到您的话费账户"),
     (C, "好的谢谢")],
    [(C, "我上个月的理赔款还没到"), (A, "我这边给您加急处理 明天下午之前给您回电"), (C, "好")],
]


@pytest.mark.parametrize("turns", FOLLOW_UPS)
def test_pending_action_for_the_customer_is_follow_up(book, turns):
    qa = assess(call(GREET, *turns, BYE), book)
    assert qa.resolution == "follow_up", qa.resolution_evidence
    assert qa.resolution_utterances and qa.resolution_confidence >= 0.65 and not qa.resolution_needs_review


RESOLVED = [
    # normal process or policy, not a pending action for this customer
    [(C, "退款一般多久到账？"), (A, "一般三个工作日内到账的。"), (C, "好的，明白了。")],
    [(C, "你们送货前会打电话吗？"), (A, "配送的时候快递员会联系您的。"), (C, "那就好。")],
    # committed, then done in the same call
    [(C, "帮我把这个月的流量包退了吧。"), (A, "好的，我马上为您申请退订。"), (A, "已经为您退订成功了。"), (C, "好的，谢谢。")],
    [(C, "我的钱还没退回来。"), (A, "我这边帮您加急处理。"), (C, "哦，到账了，看到了。")],
    [(C, "我的密码忘了"), (A, "我这边给您重置一下 您稍等"), (A, "已经重置好了 新密码短信发到您手机上了"),
     (C, "收到了 可以登录了 谢谢")],
    [(C, "我想开通来电显示"), (A, "好的已经给您开通成功了 下个月一号开始收费"), (C, "好的谢谢")],
    # what to do if it happens again commits nothing now
    [(C, "热水器显示E3。"), (A, "您把燃气阀打开再试试。"), (C, "好了，出热水了。"),
     (A, "以后要是还出E3，再打给我们安排师傅。"), (C, "好的，谢谢。")],
    # satisfied, then a side remark that reads as a refusal
    [(C, "怎么改密码？"), (A, "在APP设置里就可以改。"), (C, "好的，明白了。"), (A, "其他的我这边就不清楚了。"), (C, "行，谢谢。")],
]


@pytest.mark.parametrize("turns", RESOLVED)
def test_policy_or_completed_commitment_is_resolved(book, turns):
    qa = assess(call(GREET, *turns, BYE), book)
    assert qa.resolution == "resolved", qa.resolution_evidence


def test_open_refusal_acknowledged_only_is_unresolved_for_review(book):
    """The agent cannot do it and offers nothing; 好的谢谢 is not satisfaction, so unresolved, but unsure."""
    qa = assess(call(GREET, (C, "能帮我把话费转给我妈吗？"), (A, "这个办不了。"), (C, "好的，谢谢。"), BYE), book)
    assert qa.resolution == "unresolved" and qa.resolution_needs_review and qa.needs_review
    (f,) = [f for f in qa.findings if f.rule_id == "unresolved_issue"]
    assert f.needs_review


@pytest.mark.parametrize("reply", ["晕，知道了。", "那没办法了。", "那我过两天再打过来问。", "行吧。", "唉，那我只能換個運營商了。"])
def test_open_refusal_then_resigned_customer_is_unresolved(book, reply):
    qa = assess(call(GREET, (C, "我能不能把套餐改回原来的？"), (A, "原来的套餐已经下架了，改不了。"), (C, reply), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence
    assert not qa.resolution_needs_review and 3 in qa.resolution_utterances


def test_closing_formula_is_no_alternative(book):
    """还有什么可以帮您的吗 reads as 可以帮您 (an alternative) but leaves the refusal open."""
    qa = assess(call(GREET, (C, "我想退掉这个会员。"), (A, "会员开通后是不支持退的。"), (C, "哦，好吧。"),
                     (A, "请问还有什么可以帮您的吗？"), (C, "没了。"), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence


def test_refusal_with_alternative_accepted_is_resolved(book):
    qa = assess(call(GREET, (C, "能电话里补卡吗？"), (A, "电话里办不了，您可以带身份证到营业厅办理。"),
                     (C, "好的，明白了。"), BYE), book)
    assert qa.resolution == "resolved"


def test_giving_up_after_a_commitment_is_unresolved(book):
    qa = assess(call(GREET, (C, "宽带又断了。"), (A, "我给您登记一下，二十四小时内师傅联系您。"),
                     (C, "每次都这样，算了，我自己找人修。"), BYE), book)
    assert qa.resolution == "unresolved" and qa.resolution_confidence >= 0.8


def test_eval_reports_review_count_and_accuracy_on_the_rest(book):
    report = EvalReport(source="reference")
    calls = [("unresolved", call(GREET, (C, "能帮我转话费吗？"), (A, "这个办不了。"), (C, "好的，谢谢。"), BYE)),
             ("resolved", call(GREET, (C, "怎么查流量？"), (A, "发短信CXLL到10086。"), (C, "好的，明白了。"), BYE))]
    for label, transcript in calls:
        labelled = LabelledCall(call_id="t", agent_id=None, turns=(), duration_s=transcript.duration_s, path=None,
                                labels={"opening_greeting": True, "closing_farewell": True, "apology": "not_needed",
                                        "hold_thanks": "not_needed", "harsh_turns": [], "interruption_turns": [],
                                        "resolution": label})
        score_call(report, labelled, assess(transcript, book))
    assert report.resolution_review == 1 and report.resolution_accuracy_confident == 1.0
    assert report.to_dict()["resolution_review"] == 1


def test_customer_leaving_angry_is_unresolved_for_review(book):
    qa = assess(call(GREET, (C, "我的宽带怎么又断了？"), (A, "这边看线路是正常的。"), (C, "你们这服务也太差了吧。"), BYE), book)
    assert qa.resolution == "unresolved" and qa.resolution_needs_review, qa.resolution_evidence


@pytest.mark.parametrize("promise", ["有消息我们会通知您的。", "这个我们会尽快跟进。", "有結果了會聯繫您的。"])
def test_a_vague_promise_the_customer_resigns_to_waiting_on_is_unresolved(book, promise):
    """No time and no ticket, and the customer only resigns to waiting: nothing concrete was committed."""
    qa = assess(call(GREET, (C, "我的退款两个礼拜了还没到。"), (A, promise), (C, "什么时候有消息？"),
                     (A, "这个说不准。"), (C, "那好吧，那我就再等等吧。"), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence


@pytest.mark.parametrize("promise", ["明天下午五点前给您回电。", "给您登记了工单，单号是 AB3021，有消息通知您。",
                                     "周六上午九点到十二点师傅上门。"])
def test_a_promise_with_a_time_or_a_ticket_stays_follow_up_when_the_customer_waits(book, promise):
    qa = assess(call(GREET, (C, "我的退款两个礼拜了还没到。"), (A, promise), (C, "那好吧，那我就再等等吧。"), BYE), book)
    assert qa.resolution == "follow_up", qa.resolution_evidence


@pytest.mark.parametrize("gives_up", ["算了，这空调我退了，找别家装。", "算了，我自己去修。", "唉，算了，我不指望了。"])
def test_an_acknowledgement_after_giving_up_takes_nothing_back(book, gives_up):
    """知道了 after 算了 only acknowledges the agent's last words: the customer still gave up."""
    qa = assess(call(GREET, (C, "师傅装完空调要收三百，说明书上写着免费。"), (A, "收费是网点定的，我这边改不了。"),
                     (C, gives_up), (A, "退机的话在App上申请就行。"), (C, "知道了。"), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence


@pytest.mark.parametrize("reply", ["唉，行吧。", "唉 好吧 那我们自己先凑合"])
def test_a_sighed_ok_after_a_vague_promise_is_unresolved(book, reply):
    qa = assess(call(GREET, (C, "小区路灯坏了一个月了。"), (A, "我给您反映一下，会尽快安排。"), (C, reply), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence


def test_a_sighed_ok_after_a_ticket_and_a_time_stays_follow_up(book):
    qa = assess(call(GREET, (C, "小区路灯坏了一个月了。"), (A, "给您登记了工单 LD2041，明天下午五点前师傅上门。"),
                     (C, "唉，行吧。"), BYE), book)
    assert qa.resolution == "follow_up", qa.resolution_evidence


def test_next_time_elsewhere_after_a_concrete_follow_up_stays_follow_up(book):
    qa = assess(call(GREET, (C, "加油返现一分钱没返。"), (A, "给您提了补录申请，编号 XF6612，五个工作日内审核完。"),
                     (C, "行吧，五个工作日，我到时候看。下回我换个站加得了。"), BYE), book)
    assert qa.resolution == "follow_up", qa.resolution_evidence


def test_a_refusal_the_agent_then_carries_out_is_resolved(book):
    """这钱不给 first, then the agent looks again and refunds it in the call: nothing is left open."""
    qa = assess(call(GREET, (C, "司机没到就点了乘客未到，扣了我八块钱。"), (A, "这钱不给。"), (C, "你都还没查就不给？"),
                     (A, "我看一下，司机确实没到上车点，八块钱原路退给您了。"), (C, "行吧行吧。"), BYE), book)
    assert qa.resolution == "resolved", qa.resolution_evidence


def test_a_booked_visit_stays_follow_up(book):
    """已经给您约好了 books the follow-up; it does not report the issue done."""
    qa = assess(call(GREET, (C, "新买的空调想约个安装。"), (A, "可以约本周六上午九点到十一点，师傅出发前会电话联系您。"),
                     (C, "周六上午可以。"), (A, "已经给您约好了，周六上午九点到十一点。"), (C, "好，谢谢你。"), BYE), book)
    assert qa.resolution == "follow_up", qa.resolution_evidence


def test_an_invitation_to_book_later_is_no_commitment(book):
    qa = assess(call(GREET, (C, "刀能寄到成都吗？"), (A, "管制刀具不能寄，您可以问问比赛方能不能现场租。"),
                     (C, "算了，我再问问比赛那边能不能帮忙，谢谢你啊。"), (A, "不客气，那几把短的要寄，随时约我们上门。再见。"), BYE), book)
    assert qa.resolution == "unresolved", qa.resolution_evidence
