"""Speech to text with faster-whisper: words with times, split into utterances at pauses.

A stereo call is two channels, each party on its own (see :mod:`pipeline.calls`); a mono call
is one channel that diarization splits later. :func:`transcribe_channels` decodes all channels
of a call either in one batched pass (``asr.batch_size`` > 1: faster-whisper's
``BatchedInferencePipeline`` over the VAD speech of every channel laid end to end, words mapped
back to their channel and time); ``asr.batch_size`` 0 or 1 (the default) runs
``WhisperModel.transcribe`` once per channel, the channels side by side on the model's
``asr.num_workers`` CTranslate2 workers (one after the other when that is 1).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    vad_speech_pad_ms: int = 400
    utterance_pause_s: float = 1.0
    hallucination_silence_threshold_s: float | None = None
    batch_size: int = 0
    hotwords: str | None = None
    parallel_channels: int = 1

    @classmethod
    def from_config(cls, cfg: AsrConfig) -> TranscribeOptions:
        return cls(language=cfg.language, beam_size=cfg.beam_size, initial_prompt=cfg.initial_prompt or None,
                   vad_min_silence_ms=cfg.vad_min_silence_ms, vad_speech_pad_ms=cfg.vad_speech_pad_ms,
                   utterance_pause_s=cfg.utterance_pause_s,
                   hallucination_silence_threshold_s=cfg.hallucination_silence_threshold_s,
                   batch_size=cfg.batch_size, hotwords=hotword_prompt(cfg.hotwords),
                   parallel_channels=cfg.num_workers)

    @property
    def batched(self) -> bool:
        return self.batch_size > 1

    def whisper_kwargs(self) -> dict:
        """The arguments passed to ``WhisperModel.transcribe`` (the benchmark's baseline uses them too)."""
        return dict(
            language=self.language,
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters=self.vad_parameters(),
            hallucination_silence_threshold=self.hallucination_silence_threshold_s,
            hotwords=self.hotwords,
        )

    def vad_parameters(self) -> dict:
        return {"min_silence_duration_ms": self.vad_min_silence_ms, "speech_pad_ms": self.vad_speech_pad_ms}

    def batched_kwargs(self) -> dict:
        """The arguments passed to ``BatchedInferencePipeline.transcribe``.

        Timestamp tokens stay on (``without_timestamps=False``) so a 30 s window still comes back
        as Whisper's own sentence-sized segments: the hallucination filter drops one segment,
        never a whole window. The batched decoder has no temperature fallback and no
        ``condition_on_previous_text`` (it is always off).
        """
        return dict(
            language=self.language,
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            word_timestamps=True,
            without_timestamps=False,
            vad_filter=True,
            vad_parameters=self.vad_parameters(),
            batch_size=self.batch_size,
            hotwords=self.hotwords,
        )


def hotword_prompt(hotwords: Sequence[str]) -> str | None:
    """The ``hotwords`` text faster-whisper puts before every window: the names, comma-separated."""
    names = [name.strip() for name in hotwords if name.strip()]
    return "，".join(names) or None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_layout(cfg: AsrConfig) -> tuple[int, int]:
    """``(threads per worker, workers)`` for CTranslate2: ``asr.cpu_threads`` 0 shares the usable
    cores evenly among ``asr.num_workers``."""
    threads = cfg.cpu_threads or max(1, usable_cores() // cfg.num_workers)
    return threads, cfg.num_workers


def load_whisper(cfg: AsrConfig):
    """Load (once per model/device/compute type/thread layout) the configured faster-whisper model."""
    path = resolve_whisper_model(cfg.model, cfg.models_dir)
    threads, workers = thread_layout(cfg)
    return _load_whisper_cached(path, cfg.device, cfg.compute_type, threads, workers)


@lru_cache(maxsize=2)
def _load_whisper_cached(path: str, device: str, compute_type: str, cpu_threads: int, num_workers: int = 1):
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                            num_workers=num_workers)
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


# Silence laid between channels when they are batched together: longer than the VAD's
# min_silence + 2 x speech_pad (0.5 + 0.8 s), so no speech chunk ever spans two channels.
CHANNEL_GAP_S = 2.0


@dataclass(frozen=True, slots=True)
class _Piece:
    """The words of one Whisper segment that fall in one channel (what segments_to_utterances reads)."""

    text: str
    words: tuple
    avg_logprob: float


def transcribe_channels(
    channels: Sequence[np.ndarray],
    model,
    options: TranscribeOptions,
    *,
    speakers: Sequence[str],
    channel_ids: Sequence[int | None],
    progress: Callable[[float], None] | None = None,
    sample_rate: int = 16000,
) -> tuple[tuple[Utterance, ...], ...]:
    """Transcribe every channel of a call (16 kHz float32 each); one utterance tuple per channel.

    Batched (``options.batch_size`` > 1): the channels are laid end to end with
    :data:`CHANNEL_GAP_S` of silence between them and decoded in one batched pass, so the VAD
    speech of both parties fills the same 30 s windows and batches; every word is then mapped
    back to its channel and to that channel's own clock. Sequential otherwise. ``progress``
    gets the seconds of audio done, counting the channels one after the other.
    """
    if not options.batched:
        return _side_by_side(channels, model, options, speakers=speakers, channel_ids=channel_ids,
                             progress=progress)
    gap = np.zeros(int(CHANNEL_GAP_S * sample_rate), np.float32)
    starts, parts, position = [], [], 0
    for index, samples in enumerate(channels):
        if index:
            parts.append(gap)
            position += len(gap)
        starts.append(position / sample_rate)
        parts.append(np.asarray(samples, dtype=np.float32))
        position += len(samples)
    joined = np.ascontiguousarray(np.concatenate(parts)) if parts else np.zeros(0, np.float32)
    if not np.any(joined):
        return tuple(() for _ in channels)
    segments, _info = batched_pipeline(model).transcribe(joined, **options.batched_kwargs())
    pieces: list[list[_Piece]] = [[] for _ in channels]
    for segment in segments:  # lazy generator: decoding happens here
        words = list(segment.words or ())
        if progress is not None and words:
            progress(min(words[-1].end, sum(len(c) for c in channels) / sample_rate))
        for index, channel_words in split_by_channel(words, starts, gap_s=CHANNEL_GAP_S).items():
            text = "".join(w.word for w in channel_words)
            if is_hallucination(text):
                logger.info("dropped hallucinated segment at %.1f s: %r", channel_words[0].start, text)
                continue
            pieces[index].append(_Piece(text=text, words=tuple(channel_words), avg_logprob=segment.avg_logprob))
    return tuple(
        segments_to_utterances(channel_pieces, pause_s=options.utterance_pause_s, speaker=speaker, channel=channel)
        for channel_pieces, speaker, channel in zip(pieces, speakers, channel_ids)
    )


def _side_by_side(channels, model, options: TranscribeOptions, *, speakers, channel_ids, progress):
    """The sequential path: one ``transcribe_channel`` per channel, up to
    ``options.parallel_channels`` of them at once (the model's CTranslate2 workers decode them in
    parallel; the words are the same as one after the other)."""
    done = [0.0] * len(channels)
    lock = threading.Lock()

    def reporter(index: int):
        if progress is None:
            return None

        def report(seconds: float) -> None:
            with lock:
                done[index] = seconds
                total = sum(done)
            progress(total)
        return report

    def run(index: int) -> tuple[Utterance, ...]:
        return transcribe_channel(channels[index], model, options, speaker=speakers[index],
                                  channel=channel_ids[index], progress=reporter(index))

    workers = min(options.parallel_channels, len(channels))
    if workers <= 1:
        return tuple(run(index) for index in range(len(channels)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callqa-channel") as pool:
        return tuple(pool.map(run, range(len(channels))))


def split_by_channel(words: Sequence, starts: Sequence[float], *, gap_s: float) -> dict[int, list]:
    """Words on the joined clock -> {channel index: words on that channel's clock}.

    A word belongs to the channel whose span holds its midpoint (the gap is split halfway, as
    VAD padding may reach into it); times are shifted back and clipped at the channel's start.
    """
    out: dict[int, list] = {}
    for word in words:
        middle = (word.start + word.end) / 2
        index = 0
        for k in range(1, len(starts)):
            if middle >= starts[k] - gap_s / 2:
                index = k
        base = starts[index]
        out.setdefault(index, []).append(_ShiftedWord(word=word.word, start=max(0.0, word.start - base),
                                                      end=max(0.0, word.end - base), probability=word.probability))
    return out


@dataclass(frozen=True, slots=True)
class _ShiftedWord:
    word: str
    start: float
    end: float
    probability: float


def batched_pipeline(model):
    """A ``BatchedInferencePipeline`` over a loaded ``WhisperModel`` (a thin wrapper sharing its
    weights, made per call because it keeps per-call state); anything else is taken to be one
    already (or a test double with the same ``transcribe``).
    """
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    return BatchedInferencePipeline(model=model) if isinstance(model, WhisperModel) else model


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
