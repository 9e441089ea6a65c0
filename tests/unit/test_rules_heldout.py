"""Whole calls written for these tests, in wording unlike the evaluation scripts, scored end to end.

Each call follows shared/eval/calls/SCHEMA.md (turns, pause_after, overlap, labels); times are
rendered here (about 4.5 characters per second), so the labelled-call evaluation runs on them
exactly as on the evaluation set. A miss here means a rule leans on one script's wording.
"""
from __future__ import annotations

import json

import pytest

from pipeline.evaluate import evaluate_calls
from pipeline.rules import load_rulebook

A, C = "agent", "customer"

CALLS = [
    {
        "call_id": "ho-001", "agent_id": "B01",
        "turns": [
            (A, "早上好，欢迎致电迅联宽带，我是8号客服小周，请问您需要什么帮助？"),
            (C, "我家的宽带从昨晚开始就连不上了，路由器的灯一直在闪。"),
            (A, "真是给您添麻烦了，麻烦您报一下宽带账号。"),
            (C, "账号是零二一八八六七。"),
            (A, "好的，我这边帮您做一下线路检测，请不要挂机。", {"pause_after": 19.0}),
            (A, "谢谢您的耐心，检测到您家附近的光缆有故障，维修人员明天上午会上门处理。"),
            (C, "那明天我得在家等着？"),
            (A, "是的，师傅上门前半小时会先给您打电话。还有别的需要帮您的吗？"),
            (C, "没了。"),
            (A, "好的，祝您生活愉快，再见。"),
        ],
        "labels": {"opening_greeting": True, "closing_farewell": True, "apology": "present",
                   "hold_thanks": "present", "harsh_turns": [], "interruption_turns": [],
                   "resolution": "follow_up"},
    },
    {
        "call_id": "ho-002", "agent_id": "B02",
        "turns": [
            (A, "喂，什么事？"),
            (C, "你好，我的信用卡年费怎么扣了两次？"),
            (A, "卡号后四位多少？"),
            (C, "七七三一。"),
            (A, "年费是系统扣的，我也没办法，你自己去网点问吧。"),
            (C, "我打了三次电话了，每次都让我去网点，你们这服务太差了。"),
            (A, "跟我说也没用，我们这边管不了。"),
            (C, "算了算了，说了也白说。"),
            (A, "嗯，那就这样。"),
        ],
        "labels": {"opening_greeting": False, "closing_farewell": False, "apology": "missing",
                   "hold_thanks": "not_needed", "harsh_turns": [4, 6], "interruption_turns": [],
                   "resolution": "unresolved"},
    },
    {
        "call_id": "ho-003", "agent_id": "B03",
        "turns": [
            (A, "您好，乐购商城客服，很高兴为您服务。"),
            (C, "你好，我想问一下，买的衣服不合适能不能换个尺码？"),
            (A, "可以的，签收七天内都可以申请换货，请问您的订单号是多少？"),
            (C, "订单号是五五三七二零一。"),
            (A, "好的，我看一下。", {"pause_after": 5.0}),
            (A, "这个订单可以换货，我已经帮您提交了换货申请，快递员会上门取件。"),
            (C, "运费要我自己出吗？"),
            (A, "不用的，换货运费由我们承担，您不用担心。"),
            (C, "好的，谢谢。"),
            (A, "不客气，感谢您的来电，再见。"),
        ],
        "labels": {"opening_greeting": True, "closing_farewell": True, "apology": "not_needed",
                   "hold_thanks": "not_needed", "harsh_turns": [], "interruption_turns": [],
                   "resolution": "resolved"},
    },
    {
        "call_id": "ho-004", "agent_id": "B04",
        "turns": [
            (A, "您好，安心物业服务中心，请讲。"),
            (C, "我家楼上一直往下漏水，天花板都泡坏了，物业到现在都没人来看——"),
            (A, "您家是几栋几单元？", {"overlap": 1.2}),
            (C, "六栋二单元八零二。"),
            (A, "好的，请您稍等，我联系一下维修班组。", {"pause_after": 16.0}),
            (A, "查到了，维修师傅今天都排满了。"),
            (C, "那我家天花板怎么办？"),
            (A, "我给您登记了加急工单，师傅今天晚上八点前一定给您回电话。"),
            (C, "行吧，那我等电话。"),
            (A, "好的。"),
        ],
        "labels": {"opening_greeting": True, "closing_farewell": False, "apology": "missing",
                   "hold_thanks": "missing", "harsh_turns": [], "interruption_turns": [2],
                   "resolution": "follow_up"},
    },
    {
        "call_id": "ho-005", "agent_id": "B05",
        "turns": [
            (A, "您好，欢迎致电顺安保险，请问有什么可以帮到您？"),
            (C, "你好，我上个月申请的理赔为什么被拒了？"),
            (A, "请您提供一下保单号和被保险人姓名。"),
            (C, "保单号是PA二零二三零九一一，被保险人是李娜。"),
            (A, "很抱歉，这次就诊的医院不在合同约定的医院范围内，所以这笔费用暂时赔不了。"),
            (C, "那我岂不是白买了？"),
            (A, "理解您的感受。不过如果您能补充转诊证明，可以重新提交审核。"),
            (C, "转诊证明我没有，那还是算了吧，这事就这样了，问题还是没解决。"),
            (A, "好的，如果还有其他问题，欢迎您再次来电。"),
        ],
        "labels": {"opening_greeting": True, "closing_farewell": True, "apology": "present",
                   "hold_thanks": "not_needed", "harsh_turns": [], "interruption_turns": [],
                   "resolution": "unresolved"},
    },
    {
        "call_id": "ho-006", "agent_id": "B06",
        "turns": [
            (A, "你好，这里是速运快递，工号四四零六。"),
            (C, "你好，我的包裹显示已经送到了，可我家里人说根本没看到。"),
            (A, "你是不是没看清楚？快递员说放门口了。"),
            (C, "门口我找过了，什么都没有。"),
            (A, "那你自己再去找找，找不到我这边也处理不了。"),
            (C, "你这是什么态度？我要投诉你！"),
            (A, "实在抱歉，是我说话不妥。我马上给您登记丢件核查，二十四小时内给您回复。"),
            (C, "好，我等你们消息。"),
            (A, "再次向您道歉，感谢您的来电。"),
        ],
        "labels": {"opening_greeting": True, "closing_farewell": True, "apology": "present",
                   "hold_thanks": "not_needed", "harsh_turns": [2, 4], "interruption_turns": [],
                   "resolution": "follow_up"},
    },
]


def render(call: dict) -> dict:
    """Turn times like the synthetic renderer: ~4.5 chars/s, 0.5 s gaps, pause_after and overlap honoured."""
    t, turns = 0.3, []
    for index, item in enumerate(call["turns"]):
        speaker, text = item[0], item[1]
        extra = item[2] if len(item) > 2 else {}
        duration = max(1.0, len(text) / 4.5)
        start = t - extra.get("overlap", 0.0) - 0.5 if extra.get("overlap") else t
        end = start + duration
        turns.append({"speaker": speaker, "text": text, "index": index, "start": round(start, 3),
                      "end": round(end, 3), **extra})
        t = end + 0.5 + extra.get("pause_after", 0.0)
    return {"call_id": call["call_id"], "agent_id": call["agent_id"], "labels": call["labels"], "turns": turns,
            "duration": round(t, 3)}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heldout")
    for call in CALLS:
        (folder / f"{call['call_id']}.ref.json").write_text(json.dumps(render(call), ensure_ascii=False),
                                                            encoding="utf-8")
    return evaluate_calls(folder, load_rulebook())


@pytest.mark.parametrize("label", ["opening_greeting", "closing_farewell", "apology", "hold_thanks", "harsh_turns",
                                   "interruption_turns"])
def test_heldout_label(report, label):
    score = report.labels[label]
    assert score.errors == [], score.errors


def test_heldout_resolution(report):
    assert report.resolution_errors == []
