"""Whisper's words to utterances: pauses split them, hallucinations and decoding loops are dropped,
channels are merged by time."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from pipeline.normalize import normalize_text, strip_punctuation
from pipeline.types import Utterance, Word

# Text Whisper invents over silence or music: subtitle credits and video outros from its
# training data. A segment containing one of these is dropped (normalised, punctuation-free).
HALLUCINATIONS = (
    "字幕由", "字幕提供", "amara", "中文字幕", "字幕志愿者", "请不吝点赞", "点赞订阅", "订阅转发",
    "打赏支持", "明镜与点点", "谢谢观看", "感谢观看", "欢迎订阅", "优优独播", "yoyotelevision",
    "本视频", "下期再见", "by索兰娅", "subtitles",
)


def is_hallucination(text: str) -> bool:
    flat = strip_punctuation(normalize_text(text)).lower().replace(" ", "")
    return not flat or any(marker in flat for marker in HALLUCINATIONS)


def segments_to_utterances(
    segments: Sequence, *, pause_s: float, speaker: str = "unknown", channel: int | None = None
) -> tuple[Utterance, ...]:
    """Regroup Whisper's words into utterances, starting a new one at every gap ≥ ``pause_s``.

    Whisper segments may span a hold (VAD glues speech chunks together), so utterance
    boundaries come from word timings, not from segment boundaries.
    """
    groups: list[list[tuple[Word, float]]] = []
    previous_end = None
    for segment in segments:
        words = [w for w in (segment.words or ()) if w.word.strip()]
        for raw in drop_repetition_loops(words):
            word = Word(text=raw.word.strip(), start_s=round(raw.start, 3), end_s=round(raw.end, 3),
                        probability=round(raw.probability, 4), speaker=speaker)
            if previous_end is None or word.start_s - previous_end >= pause_s:
                groups.append([])
            groups[-1].append((word, segment.avg_logprob))
            previous_end = word.end_s
    return tuple(_utterance(group, speaker, channel) for group in groups)


def _utterance(group: list[tuple[Word, float]], speaker: str, channel: int | None) -> Utterance:
    raw_text = "".join(word.text for word, _ in group)
    words = tuple(replace(word, text=normalize_text(word.text)) for word, _ in group)
    return Utterance(
        speaker=speaker,
        start_s=words[0].start_s,
        end_s=words[-1].end_s,
        text=normalize_text(raw_text),
        raw_text=raw_text,
        channel=channel,
        words=words,
        avg_logprob=round(float(np.mean([logprob for _, logprob in group])), 4),
    )


def drop_repetition_loops(words: Sequence, *, max_single: int = 3, max_phrase: int = 2, max_len: int = 8) -> list:
    """Cut Whisper's decoding loops (``好的好的好的好的…``) while keeping natural repeats (对对对).

    A run of one word is kept up to ``max_single`` times, a run of a 2..``max_len``-word phrase
    up to ``max_phrase`` times.
    """
    texts = [_key(w) for w in words]
    keep = [True] * len(words)
    i = 0
    while i < len(words):
        advanced = False
        for n in range(1, max_len + 1):
            limit = max_single if n == 1 else max_phrase
            repeats = 1
            while texts[i + repeats * n: i + (repeats + 1) * n] == texts[i: i + n] and i + (repeats + 1) * n <= len(words):
                repeats += 1
            if repeats > limit:
                for j in range(i + limit * n, i + repeats * n):
                    keep[j] = False
                i += repeats * n
                advanced = True
                break
        if not advanced:
            i += 1
    return [w for w, k in zip(words, keep) if k]


def _key(word) -> str:
    return re.sub(r"\W", "", getattr(word, "word", getattr(word, "text", "")))


def merge_by_time(*channels: Iterable[Utterance]) -> tuple[Utterance, ...]:
    """Interleave the utterances of several channels into one call transcript, by start time."""
    merged = [u for utterances in channels for u in utterances]
    return tuple(sorted(merged, key=lambda u: (u.start_s, u.end_s)))
