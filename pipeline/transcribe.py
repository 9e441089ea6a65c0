"""Speech to text with faster-whisper: words with times, split into utterances at pauses.

One channel at a time: a stereo call is two channels transcribed separately and merged by
time (see :mod:`pipeline.calls`); a mono call is one channel that diarization splits later.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from pipeline.config import AsrConfig
from pipeline.errors import ModelNotFoundError
from pipeline.models import resolve_whisper_model
from pipeline.normalize import normalize_text, strip_punctuation
from pipeline.types import Utterance, Word

logger = logging.getLogger(__name__)

# Text Whisper invents over silence or music: subtitle credits and video outros from its
# training data. A segment containing one of these is dropped (normalised, punctuation-free).
HALLUCINATIONS = (
    "字幕由", "字幕提供", "amara", "中文字幕", "字幕志愿者", "请不吝点赞", "点赞订阅", "订阅转发",
    "打赏支持", "明镜与点点", "谢谢观看", "感谢观看", "欢迎订阅", "优优独播", "yoyotelevision",
    "本视频", "下期再见", "by索兰娅", "subtitles",
)


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """Decoding options derived from :class:`AsrConfig` (kept separate so tests need no config)."""

    language: str = "zh"
    beam_size: int = 5
    initial_prompt: str | None = None
    vad_min_silence_ms: int = 500
    utterance_pause_s: float = 1.0
    hallucination_silence_threshold_s: float | None = None

    @classmethod
    def from_config(cls, cfg: AsrConfig) -> TranscribeOptions:
        return cls(language=cfg.language, beam_size=cfg.beam_size, initial_prompt=cfg.initial_prompt or None,
                   vad_min_silence_ms=cfg.vad_min_silence_ms, utterance_pause_s=cfg.utterance_pause_s,
                   hallucination_silence_threshold_s=cfg.hallucination_silence_threshold_s)

    def whisper_kwargs(self) -> dict:
        """The arguments passed to ``WhisperModel.transcribe`` (the benchmark's baseline uses them too)."""
        return dict(
            language=self.language,
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": self.vad_min_silence_ms},
            hallucination_silence_threshold=self.hallucination_silence_threshold_s,
        )


def load_whisper(cfg: AsrConfig):
    """Load (once per model/device/compute type) the configured faster-whisper model."""
    path = resolve_whisper_model(cfg.model, cfg.models_dir)
    return _load_whisper_cached(path, cfg.device, cfg.compute_type, cfg.cpu_threads)


@lru_cache(maxsize=2)
def _load_whisper_cached(path: str, device: str, compute_type: str, cpu_threads: int):
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelNotFoundError(
            f"cannot load Whisper model {path!r} on {device}/{compute_type}: {e}. Check asr.model, and that "
            "asr.device/asr.compute_type are supported here (cpu: int8 or float32; cuda: float16 or int8_float16)"
        ) from e


def transcribe_channel(
    samples: np.ndarray,
    model,
    options: TranscribeOptions,
    *,
    speaker: str = "unknown",
    channel: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[Utterance, ...]:
    """Transcribe one channel (16 kHz float32) into utterances split at pauses.

    ``progress`` is called with the seconds of audio decoded so far.
    """
    if not np.any(samples):
        return ()
    segments, _info = model.transcribe(np.ascontiguousarray(samples, dtype=np.float32), **options.whisper_kwargs())
    kept: list = []
    for segment in segments:  # lazy generator: decoding happens here, inside the stage
        if progress is not None:
            progress(segment.end)
        if is_hallucination(segment.text):
            logger.info("dropped hallucinated segment at %.1f s: %r", segment.start, segment.text)
            continue
        kept.append(segment)
    return segments_to_utterances(kept, pause_s=options.utterance_pause_s, speaker=speaker, channel=channel)


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
