"""Mask personal data (PII) in transcript text before it reaches a report.

What is masked, and why the approach:

- mobile numbers (11 digits starting 1[3-9]), ID card numbers (18 digits, the last may be
  X, or the old 15-digit form), bank card numbers (16-19 digits);
- digit strings right after a keyword such as 身份证/手机/卡号 even when only part of the
  number was read out ("身份证号三二零一零二"), because a partial ID is still personal data;
- addresses after 住在/地址/住址, up to the end of the clause.

Callers read numbers out in Chinese numerals (一三八, 幺 for 1, 两 for 2) and ASR writes them
with spaces, dashes or commas between groups, so matching runs on a *digit view* of the text
in which each such character becomes an ASCII digit and separators are allowed between
digits; the matched span is then masked in the original text.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from pipeline.types import Transcript, Utterance

logger = logging.getLogger(__name__)

MASKS = {
    "mobile": "[手机号]",
    "id_card": "[身份证号]",
    "bank_card": "[银行卡号]",
    "number": "[号码]",
    "address": "[地址]",
}

_DIGITS = {
    **{str(d): str(d) for d in range(10)},
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width ０-９
    "零": "0", "〇": "0",
    "一": "1", "幺": "1", "壹": "1",
    "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9",
}
# Characters that may sit between digit groups of one number ("138 1234 5678", "138-1234-5678",
# ASR's "138，1234，5678").
_SEPARATORS = frozenset(" \u3000-‐‑–—－·.,，、")
_MAX_SEPARATOR_RUN = 2

_ID_DATE = re.compile(r"^\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_CONTEXT_KEYWORDS = (
    "身份证", "证件号", "手机", "电话", "号码", "卡号", "银行卡", "信用卡", "储蓄卡", "账号", "帐号",
)
_CONTEXT_WINDOW = 8
_CONTEXT_MIN_DIGITS = 4
_ADDRESS = re.compile(
    r"(?P<key>家住在|住在|住址|地址)(?P<lead>[是为在：:\s]*)(?P<value>[^。，,；;！？!?\n]{2,40})"
)


@dataclass(frozen=True, slots=True)
class Span:
    """A masked stretch ``text[start:end]`` and what kind of data it held."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _DigitRun:
    start: int  # index of the first digit in the original text
    end: int  # one past the last digit
    digits: str  # the run with separators removed (``X`` kept for ID cards)


def _digit_runs(text: str) -> list[_DigitRun]:
    """Maximal runs of digits (any script) joined by at most two separator characters."""
    runs: list[_DigitRun] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in _DIGITS:
            i += 1
            continue
        start, digits, j, last_digit_end = i, [], i, i
        while j < n:
            ch = text[j]
            if ch in _DIGITS:
                digits.append(_DIGITS[ch])
                j += 1
                last_digit_end = j
            elif ch in "xX" and len(digits) == 17:
                digits.append("X")
                j += 1
                last_digit_end = j
                break
            elif ch in _SEPARATORS:
                k = j
                while k < n and text[k] in _SEPARATORS and k - j < _MAX_SEPARATOR_RUN + 1:
                    k += 1
                if k - j > _MAX_SEPARATOR_RUN or k >= n or text[k] not in _DIGITS:
                    break
                j = k
            else:
                break
        runs.append(_DigitRun(start, last_digit_end, "".join(digits)))
        i = max(last_digit_end, i + 1)
    return runs


def _classify(digits: str) -> str | None:
    """The kind of personal number a run of digits is, or ``None`` for ordinary numbers."""
    n = len(digits)
    if n == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return "mobile"
    if n == 18 and (digits.endswith("X") or _ID_DATE.match(digits)):
        return "id_card"
    if n == 15 and re.fullmatch(r"\d{15}", digits):
        return "id_card"
    if 16 <= n <= 19 and digits.isdigit():
        return "bank_card"
    # "+86 138..." and "0086..." prefixes: classify what follows the country code.
    for prefix in ("86", "0086"):
        if digits.startswith(prefix) and re.fullmatch(r"1[3-9]\d{9}", digits[len(prefix):]):
            return "mobile"
    return None


def _context_kind(text: str, run: _DigitRun) -> str | None:
    """``number`` when a keyword such as 身份证 precedes the run closely enough."""
    if len(run.digits) < _CONTEXT_MIN_DIGITS:
        return None
    before = text[max(0, run.start - _CONTEXT_WINDOW): run.start]
    if any(key in before for key in _CONTEXT_KEYWORDS):
        return "number"
    return None


def find_pii(text: str) -> list[Span]:
    """Spans of personal data in ``text``, sorted and non-overlapping."""
    spans: list[Span] = []
    for run in _digit_runs(text):
        kind = _classify(run.digits) or _context_kind(text, run)
        if kind is not None:
            start = run.start
            # Keep a leading "+" of "+86" inside the mask.
            if kind == "mobile" and start > 0 and text[start - 1] in "+＋":
                start -= 1
            spans.append(Span(kind, start, run.end))
    for m in _ADDRESS.finditer(text):
        spans.append(Span("address", m.start("value"), m.end("value")))
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            # An address containing a house number wins over the number inside it.
            if span.end > last.end:
                merged[-1] = replace(last, end=span.end)
            continue
        merged.append(span)
    return merged


def redact_text(text: str) -> str:
    """``text`` with every span from :func:`find_pii` replaced by a label such as ``[手机号]``."""
    if not text:
        return text
    spans = find_pii(text)
    if not spans:
        return text
    out, pos = [], 0
    for span in spans:
        out.append(text[pos: span.start])
        out.append(MASKS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def redact_utterance(utterance: Utterance) -> Utterance:
    """A copy with text and raw text masked.

    Word timings are dropped: a number is usually spread over several words, so masking
    word by word would leave digits behind.
    """
    text = redact_text(utterance.text)
    raw = redact_text(utterance.raw_text)
    if text == utterance.text and raw == utterance.raw_text:
        return utterance
    return replace(utterance, text=text, raw_text=raw, words=())


def redact_transcript(transcript: Transcript) -> Transcript:
    """A copy of ``transcript`` whose utterances are masked (the input is left untouched)."""
    return transcript.with_utterances(tuple(redact_utterance(u) for u in transcript.utterances))
