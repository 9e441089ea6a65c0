from __future__ import annotations

import pytest

from pipeline.normalize import compact_text, normalize_text, strip_punctuation, text_for_cer, to_simplified


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("請問有什麼可以幫您？", "请问有什么可以帮您？"),
        ("謝謝您的耐心等待", "谢谢您的耐心等待"),
        ("這個問題不歸我們管", "这个问题不归我们管"),
        ("感謝來電，再見", "感谢来电，再见"),
        ("已经是简体", "已经是简体"),
    ],
)
def test_traditional_to_simplified(traditional, simplified):
    assert to_simplified(traditional) == simplified


def test_full_width_folded_and_trimmed():
    assert normalize_text("\u3000工號３０２１，ＯＫ ") == "工号3021，OK"


def test_strip_punctuation_and_cer_form():
    assert strip_punctuation("您好，请问有什么可以帮您？") == "您好请问有什么可以帮您"
    assert text_for_cer("您好！請問 OK？") == "您好请问ok"


def test_ascii_punctuation_after_chinese_becomes_full_width():
    assert normalize_text("您好,请问有什么可以帮您?") == "您好，请问有什么可以帮您？"
    assert normalize_text("OK, 3.5 元") == "OK, 3.5 元"


@pytest.mark.parametrize(("cantonese", "mandarin"), [
    ("鎖咗唔關我哋事。", "锁了不关我们事"),          # 咗 了, 唔 不, 哋 们
    ("訂票嗰陣冇睇咩？", "订票𠮶阵没看咩"),            # 冇 没, 睇 看
    ("唔該晒您等咗咁耐。", "谢谢晒您等了这耐"),          # 唔该 is thanks, not 不该
    ("唔使擔心，唔係您嘅問題。", "不用担心不是您的问题"),
])
def test_cantonese_function_words_match_as_mandarin(cantonese, mandarin):
    """One rule serves Hong Kong calls: 锁咗 matches what 锁了 matches."""
    assert compact_text(cantonese) == mandarin
