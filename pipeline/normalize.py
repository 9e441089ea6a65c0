"""Text normalisation shared by transcription, rules and benchmarks.

Traditional to Simplified goes through OpenCC (``t2s``); full-width letters and digits are folded to
half-width so patterns and CER see one form of every character.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc



@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional (or mixed) Chinese to Simplified; other text is unchanged."""
    return _t2s().convert(text)


# Full-width digits and Latin letters (as typed by IMEs) fold to ASCII; Chinese punctuation
# such as ，？！ stays, because it is the form the transcript and the rulebook use.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code - 0xFEE0).isalnum()}
_FULL_WIDTH[0x3000] = 0x20


def fold_width(text: str) -> str:
    """Full-width letters and digits (ＯＫ３０２１) to half-width; CJK punctuation is kept."""
    return text.translate(_FULL_WIDTH)


# Whisper often writes ASCII punctuation inside Chinese text ("您好,请问?"); after a CJK
# character it becomes the full-width form the rulebook and readers expect.
_CJK_PUNCT = re.compile(r"(?<=[\u3400-\u9fff])\s*([,?!;:])")
_FULL_PUNCT = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}


def normalize_text(text: str) -> str:
    """The canonical form stored as ``Utterance.text``: Simplified, half-width, trimmed."""
    simplified = to_simplified(fold_width(text)).strip()
    return _CJK_PUNCT.sub(lambda m: _FULL_PUNCT[m.group(1)], simplified)


def strip_punctuation(text: str) -> str:
    """Remove punctuation and whitespace, as CER scoring expects."""
    return "".join(ch for ch in text if not _is_punct_or_space(ch))


def _is_punct_or_space(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch.isspace() or category.startswith("P") or category.startswith("S")


def text_for_cer(text: str) -> str:
    """Simplified, half-width, lower-case, without punctuation: both sides of a CER."""
    return strip_punctuation(normalize_text(text)).lower()


# --- helpers for rule matching (owned by the rules stage) -------------------------------------
# Spelled-out digit strings (工号三零二一, 一二三一五) are how ASR and scripts write numbers; a
# run of three or more becomes Arabic digits so "12315" patterns match either form.  One
# character maps to one character, so match positions stay valid.
_CN_DIGITS = {"零": "0", "〇": "0", "幺": "1", "一": "1", "二": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_MIN_DIGIT_RUN = 3


_DIGIT_RUN = re.compile("[零〇幺一二三四五六七八九]{%d,}" % _MIN_DIGIT_RUN)
_DIGIT_TABLE = str.maketrans(_CN_DIGITS)
_NOT_MATCHED = re.compile(r"[\W_]+")  # punctuation, symbols, spaces, and "_" (a pause mark in some corpora)
_NEEDS_FOLDING = re.compile("[\uff10-\uff5a\u3000]")


def chinese_digits_to_arabic(text: str) -> str:
    """Runs of three or more spelled digits (一二三一五) to Arabic (12315); same length."""
    return _DIGIT_RUN.sub(lambda m: m.group().translate(_DIGIT_TABLE), text)


# Cantonese function words as their Mandarin equivalents (锁咗 = 锁了, 冇睇 = 没看, 唔关我哋事 = 不关我们事),
# so one rule serves Hong Kong calls too. Character for character, so match positions stay valid;
# the compounds first, where the characters alone would mislead (唔该 is thanks, not 不该).
_CANTONESE_WORDS = re.compile("唔该|唔使|唔系")
_CANTONESE_WORD_TABLE = {"唔该": "谢谢", "唔使": "不用", "唔系": "不是"}
_CANTONESE_CHARS = str.maketrans({"咗": "了", "冇": "没", "唔": "不", "嘅": "的", "喺": "在", "睇": "看", "哋": "们",
                                  "佢": "他", "咁": "这"})
_HAS_CANTONESE = re.compile("[咗冇唔嘅喺睇哋佢咁]")


def cantonese_to_mandarin(text: str) -> str:
    """Cantonese function words in Simplified text to Mandarin ones; same length."""
    if not _HAS_CANTONESE.search(text):
        return text
    return _CANTONESE_WORDS.sub(lambda m: _CANTONESE_WORD_TABLE[m.group()], text).translate(_CANTONESE_CHARS)


def compact_text(text: str) -> str:
    """Matching form: Simplified, half-width, lower-case, digits as Arabic, Cantonese function words as
    Mandarin, no punctuation or spaces.

    ASR punctuation is unreliable, so rule phrases and transcripts meet in this form.
    """
    if _NEEDS_FOLDING.search(text):  # folding is the slow step, and most text has nothing to fold
        text = fold_width(text)
    return chinese_digits_to_arabic(cantonese_to_mandarin(_NOT_MATCHED.sub("", to_simplified(text)).lower()))
