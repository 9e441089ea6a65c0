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
    ],
    "give_up": [
        (C, "那算了。"),
        (C, "那我再想办法吧。"),
        (C, "说了半天还是没解决。"),
        (C, "行吧。"),
        (C, "那就算了吧，不弄了。"),
        (C, "還是沒用。"),                                    # Traditional
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
    "commitment_follow_up": [(A, "您可以自己联系商家反馈。"), (A, "请提供一下订单号。")],
    "hold_announce": [(A, "您可以看一下短信。"), (A, "稍后给您回电。"), (C, "请稍等，我找一下订单。")],
    "hold_return": [(A, "请您稍等。"), (A, "好的。")],
    "thanks": [(A, "不客气。"), (A, "不用谢。")],
    "satisfaction": [(C, "还没解决。"), (C, "到账了吗？"), (C, "我不明白。"), (C, "好了没有啊")],
    "give_up": [(C, "我算了一下，是三百块。"), (C, "好吧，谢谢你。"), (C, "不用了谢谢。"), (C, "好的，我等你们电话。")],
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
