from __future__ import annotations

import pytest

from pipeline.redact import find_pii, redact_text, redact_transcript
from tests.report_factory import transcript

CASES = [
    # mobile numbers
    ("我的手机号是13812345678。", "我的手机号是[手机号]。"),
    ("电话138 1234 5678，谢谢", "电话[手机号]，谢谢"),
    ("打138-1234-5678就行", "打[手机号]就行"),
    ("号码是+86 139 0000 1111", "号码是[手机号]"),
    ("我手机一三八一二三四五六七八", "我手机[手机号]"),
    ("幺三八，幺二三四，五六七八", "[手机号]"),
    ("一五零 两二三三 四四五五 是我的", "[手机号] 是我的"),
    ("１３８１２３４５６７８", "[手机号]"),
    # ID card numbers
    ("身份证号110101199003074514", "身份证号[身份证号]"),
    ("证件 11010119900307451X 对吧", "证件 [身份证号] 对吧"),
    ("一一零一零一一九九零零三零七四五一四", "[身份证号]"),
    ("身份证号三二零一零二，后面是……后四位四四一二", "身份证号[号码]，后面是……后四位四四一二"),
    # bank card numbers
    ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
    ("6217-0000-1111-2222", "[银行卡号]"),
    ("我的卡是六二二二零二一二三四五六七八九零", "我的卡是[银行卡号]"),
    # addresses
    ("我住在北京市朝阳区建国路88号，你们来吧", "我住在[地址]，你们来吧"),
    ("地址是上海市浦东新区张江路一百号。", "地址是[地址]。"),
    ("收货地址：杭州市西湖区文三路5号", "收货地址：[地址]"),
    # things that must stay
    ("您的订单三个工作日内到，不客气。", "您的订单三个工作日内到，不客气。"),
    ("工号3021为您服务", "工号3021为您服务"),
    ("尾号六六零八的储蓄卡已经冻结", "尾号六六零八的储蓄卡已经冻结"),
    ("退款199元，2026年11月2日到账", "退款199元，2026年11月2日到账"),
    ("一一一", "一一一"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_redact_table(text, expected):
    assert redact_text(text) == expected


def test_spans_name_the_kind():
    kinds = [s.kind for s in find_pii("手机13812345678，身份证110101199003074514，卡6222021234567890123")]
    assert kinds == ["mobile", "id_card", "bank_card"]


def test_redact_transcript_returns_a_new_masked_copy():
    original = transcript()
    masked = redact_transcript(original)
    assert "13812345678" in original.utterances[1].text  # input untouched
    assert "[手机号]" in masked.utterances[1].text
    assert "建国路" not in masked.utterances[3].text
    assert masked.utterances[0] is original.utterances[0]  # nothing to mask: same object
