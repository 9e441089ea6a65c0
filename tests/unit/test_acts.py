"""Table-driven tests of the dialogue acts: Mandarin sentences that must and must not carry each act.

Sentences are written for these tests (not taken from any evaluation set); Traditional script
checks that acts match after OpenCC normalisation.
"""
from __future__ import annotations

import pytest

from pipeline.rules import load_rulebook

A, C = "agent", "customer"

MUST = {
    "problem_report": [
        (C, "我这个月话费怎么又多扣了三十块？"),
        (C, "充了五十块钱到现在还没到账。"),
        (C, "快递一直显示派送中，三天了还没送到。"),
        (C, "APP打不开，一点就闪退。"),
        (C, "为什么我的积分少了一半？"),
        (C, "我的卡被冻结了。"),
        (C, "說好昨天到的，怎麼還沒收到？"),                  # Traditional
    ],
    "complaint": [
        (C, "你们这服务也太差了吧。"),
        (C, "我要投诉你们。"),
        (C, "打了三次电话了都没人管。"),
        (C, "凭什么让我多交钱？"),
        (C, "你們這樣太過分了。"),                            # Traditional
    ],
    "request": [
        (C, "帮我把套餐改成五十八的。"),
        (C, "我想退掉这个会员。"),
        (C, "麻煩你幫我查一下訂單。"),                        # Traditional
    ],
    "question": [
        (C, "运费是多少？"),
        (C, "这个能不能分期"),
        (A, "请问您是本人吗"),
        (C, "什麼時候能發貨"),                                # Traditional
    ],
    "apology_empathy": [
        (A, "非常抱歉给您带来不便。"),
        (A, "我理解您的心情，这种情况确实让人着急。"),
        (A, "您先别着急，我马上帮您处理。"),
        (A, "这确实是我们这边的失误。"),
        (A, "實在不好意思，讓您久等了。"),                    # Traditional
    ],
    "refusal_inability": [
        (A, "这个我们这边办不了。"),
        (A, "特价商品不支持退货。"),
        (A, "不行。"),
        (A, "系统里没法改地址。"),
        (A, "只能这样了。"),
        (A, "我们没有上门取件的服务的。"),
        (A, "這個不能給您退。"),                              # Traditional
    ],
    "alternative_offer": [
        (A, "不过您可以申请售后维修。"),
        (A, "建议您先重启一下路由器。"),
        (A, "您可以通过APP自助申请。"),
        (A, "補卡後就可以正常使用。"),                        # Traditional
    ],
    "commitment_follow_up": [
        (A, "我们会在二十四小时内给您回电。"),
        (A, "已经给您提交了工单，三个工作日内处理。"),
        (A, "这边帮您反馈给仓库，有结果第一时间通知您。"),
        (A, "明天下午之前會聯繫您。"),                        # Traditional
        (A, "收到後七個工作天內回覆檢測結果。"),              # Taiwan: 工作天 for 工作日
        # phone register: escalation, visits, notices when done, actions due in a time frame
        (A, "我这边已经给您登记了，技术人员会在二十四小时内联系您。"),
        (A, "给您提交了一个故障工单，装维师傅明天上午上门。"),
        (A, "我帮您申请一下话费补偿，三个工作日内到账。"),
        (A, "我这边给您加急处理一下。"),
        (A, "稍后会有专员给您回电。"),
        (A, "处理结果会以短信形式通知您。"),
        (A, "修改好了给您发短信。"),
        (A, "预计三到五个工作日寄出。"),
        (A, "扣的费用给您申请退回，三到五个工作日退到您的话费账户。"),
        (A, "好的我这边帮您报障一下"),
        (A, "小妹已经反馈商家加急处理了。"),                    # escalated: the merchant still has to act
        (A, "等您缴费到账后我这边给您恢复。"),                  # after an event, for you
        (A, "原发票开具后帮您申请换开。"),
        (A, "訂單完成後這邊幫您修改。"),                        # Traditional
        (A, "您这个问题我已经记下来了，会有同事跟进。"),
        (A, "我们会尽快安排工程师上门处理。"),
        # chat register
        (A, "好的，我帮您催一下快递站点。"),
        (A, "补发之后短信告知您单号。"),
        (A, "我這邊幫您反饋給專員，三個工作日內回覆您。"),      # Traditional
        (A, "已經幫您登記了，明天上午師傅會上門。"),            # Traditional
        (A, "這邊幫您催促一下倉庫。"),                          # Traditional
        (A, "如果您不需要了，我现在给您催促退款。"),            # the conditional is the customer's, the urging is ours
    ],
    "hold_announce": [
        (A, "请您稍等。"),
        (A, "我帮您查一下。"),
        (A, "正在为您查询，请不要挂机。"),
        (A, "給您看一下。"),                                  # Traditional
    ],
    "hold_return": [
        (A, "查到了，您的包裹在站点。"),
        (A, "让您久等了，系统显示已经退款。"),
        (A, "您好，还在吗？"),
        (A, "經過核實，這筆費用是月租。"),                    # Traditional
    ],
    "thanks": [
        (C, "好的，谢谢啊。"),
        (A, "感谢您的耐心等待。"),
        (C, "多謝。"),                                        # Traditional
    ],
    "satisfaction": [
        (C, "好了，能用了。"),
        (C, "明白了，那就好。"),
        (C, "太好了，解决了。"),
        (C, "知道了，謝謝。"),                                # Traditional
        (C, "现在能上网了。"),
        (C, "钱到账了，谢谢你啊。"),
        (C, "好的，谢谢。"),                                  # a bare acknowledgement: low score (see below)
        (C, "嗯嗯，可以。"),
        (C, "現在可以用了，謝謝。"),                          # Traditional
    ],
    "give_up": [
        (C, "那算了。"),
        (C, "那我再想办法吧。"),
        (C, "说了半天还是没解决。"),
        (C, "行吧。"),
        (C, "那就算了吧，不弄了。"),
        (C, "還是沒用。"),                                    # Traditional
        (C, "那算了，我自己去营业厅办吧。"),
        (C, "那我过两天再打过来问。"),
        (C, "那我换个时间再打吧。"),
        (C, "那没办法了。"),
        (C, "晕，知道了。"),
        (C, "那我只能换个运营商了。"),
        (C, "那我自己想辦法吧。"),                            # Traditional
        (C, "唉，算了，不弄了。"),
    ],
    "closing": [
        (A, "感谢您的来电，再见。"),
        (A, "还有其他可以帮您的吗？"),
        (C, "没有了。"),
        (A, "祝您生活愉快。"),
        (C, "沒有了，拜拜。"),                                # Traditional
    ],
}

MUST_NOT = {
    "problem_report": [
        (C, "我想问一下怎么申请退款。"),
        (C, "如果坏了的话能保修吗？"),
        (C, "没了，没事了。"),
        (C, "是我自己填错了地址。"),
        (C, "好几天前买的，想问下发票。"),
        (A, "您的话费多扣了三十块。"),                         # agents do not report problems
        (C, "沒問題，謝謝。"),                                # Traditional
    ],
    "complaint": [
        (C, "投诉就算了，你们处理好就行。"),
        (C, "我很满意，谢谢。"),
        (C, "請問怎麼投訴？"),                                # Traditional: asks how, no anger
    ],
    "request": [(C, "不用了，谢谢。"), (C, "我想办法自己弄。")],
    "question": [(C, "好的。"), (A, "没什么问题。")],
    "apology_empathy": [(A, "好的，我帮您查一下。"), (A, "不用抱歉。"), (C, "不好意思，我刚才没听清。")],
    "refusal_inability": [
        (A, "不客气。"),
        (A, "没问题，马上给您办。"),
        (A, "不用担心，不会影响您的征信。"),
        (A, "能不能麻烦您报一下手机号？"),
        (A, "如果您不需要的话也可以不办。"),
        (A, "不會的，您放心。"),                              # Traditional
    ],
    "alternative_offer": [(A, "好的。"), (A, "这个不可以。")],
    "commitment_follow_up": [
        (A, "您可以自己联系商家反馈。"), (A, "请提供一下订单号。"),
        # instructions to the customer, general policy, conditionals, status and completed actions
        (A, "这个需要您本人带身份证到营业厅办理。"), (A, "您可以在APP上提交申请。"), (A, "如果您需要的话可以联系我们。"),
        (A, "一般充值后十分钟内到账。"), (A, "正常情况下三个工作日内会到账的。"), (A, "通常七天内会有人联系您。"),
        (A, "已经给您办理好了，下个月一号生效。"), (A, "您的订单预计明天送达。"), (A, "工单号是多少？"),
        (A, "需要我帮您登记吗？"), (A, "我联系一下仓库，您稍等。"), (A, "好的，感谢来电，再见。"),
        (A, "這個是會退回到您原支付帳戶的。"),                 # Traditional: 是会…的 states how things work
        (A, "如果还没到账，您再联系我们。"), (A, "要是师傅上门时您不在家，可以改约。"),
        (A, "您提交售后给您处理的呢。"), (A, "最后给您说一下注意事项。"),   # 售后/最后 are no "after"
        (A, "您的套餐会在下月生效。"), (A, "稍后您会收到一条确认短信。"), (A, "话费已经充值成功了，请您查收。"),
    ],
    "hold_announce": [(A, "您可以看一下短信。"), (A, "稍后给您回电。"), (C, "请稍等，我找一下订单。")],
    "hold_return": [(A, "请您稍等。"), (A, "好的。")],
    "thanks": [(A, "不客气。"), (A, "不用谢。")],
    "satisfaction": [(C, "还没解决。"), (C, "到账了吗？"), (C, "我不明白。"), (C, "好了没有啊"), (C, "没有了，谢谢。"), (C, "谢谢。"),
                     (C, "好的，那什么时候能到？"), (C, "明白了，那我怎么查？"), (C, "好的，可以了嗎？")],
    "give_up": [(C, "我算了一下，是三百块。"), (C, "好吧，谢谢你。"), (C, "不用了谢谢。"), (C, "好的，我等你们电话。"),
                (C, "好吧，我的卡号是六二二。"), (C, "哎你好，我想问一下流量。"), (C, "那怎么办呢？"),
                (C, "投诉就算了，你们尽快处理吧。"), (C, "我不要了，怎么退款？"), (C, "好吧，那明天吧。"), (C, "哎，我昨天轉了一筆錢。")],
    "closing": [(C, "我想问一下流量。"), (A, "请问您的订单号是多少？")],
}


@pytest.fixture(scope="module")
def tagger():
    return load_rulebook().acts


def _names(tagger, speaker, text):
    return {a.name for a in tagger.tag_text(text, speaker)}


@pytest.mark.parametrize(("act", "speaker", "text"), [(a, s, t) for a, rows in MUST.items() for s, t in rows])
def test_act_matches(tagger, act, speaker, text):
    acts = tagger.tag_text(text, speaker)
    assert act in {a.name for a in acts}, f"{text!r} ({speaker}) should be {act}; got {[a.name for a in acts]}"
    found = next(a for a in acts if a.name == act)
    assert 0 <= found.score <= 1 and found.evidence


@pytest.mark.parametrize(("act", "speaker", "text"), [(a, s, t) for a, rows in MUST_NOT.items() for s, t in rows])
def test_act_does_not_match(tagger, act, speaker, text):
    assert act not in _names(tagger, speaker, text), f"{text!r} ({speaker}) must not be {act}"


def test_every_act_has_table_rows(tagger):
    assert set(tagger.names) <= set(MUST) and set(tagger.names) <= set(MUST_NOT)


def test_evidence_names_the_pattern(tagger):
    (act,) = [a for a in tagger.tag_text("怎么又扣了我二十块钱", C) if a.name == "problem_report"]
    assert act.evidence.startswith(("loss_amount", "amount_loss", "anomaly_question"))


@pytest.mark.parametrize(("text", "strong"), [("好的，谢谢。", False), ("嗯嗯，可以。", False), ("OK", False),
                                              ("明白了，那就好。", True), ("现在能上网了。", True), ("到賬了。", True)])
def test_bare_acknowledgement_is_weak_satisfaction(tagger, text, strong):
    """好的 / 好的谢谢 accept an answer but say nothing about the issue: the outcome must not read them as satisfied."""
    (act,) = [a for a in tagger.tag_text(text, C) if a.name == "satisfaction"]
    assert (act.score >= 0.7) is strong


@pytest.mark.parametrize(("text", "sure"), [("行吧。", False), ("那我过两天再打过来问。", False), ("那算了。", True),
                                            ("晕，知道了。", True), ("那我只能換個運營商了。", True)])
def test_resigned_reply_is_weaker_than_giving_up(tagger, text, sure):
    """A resigned 行吧 only confirms an open refusal (below 0.8); 那算了 is a closing stance on its own."""
    (act,) = [a for a in tagger.tag_text(text, C) if a.name == "give_up"]
    assert (act.score >= 0.8) is sure
