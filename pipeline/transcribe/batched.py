"""The batched path: every channel of a call laid end to end and decoded in one
``BatchedInferencePipeline`` pass, the words mapped back to their channel and clock."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.transcribe.options import TranscribeOptions
from pipeline.transcribe.utterances import is_hallucination, segments_to_utterances
from pipeline.types import Utterance

logger = logging.getLogger(__name__)

# Silence laid between channels when they are batched together: longer than the VAD's
# min_silence + 2 x speech_pad (0.5 + 0.8 s), so no speech chunk ever spans two channels.
CHANNEL_GAP_S = 2.0


@dataclass(frozen=True, slots=True)
class _Piece:
    """The words of one Whisper segment that fall in one channel (what segments_to_utterances reads)."""

    text: str
    words: tuple
    avg_logprob: float


def transcribe_batched(
    channels: Sequence[np.ndarray],
    model,
    options: TranscribeOptions,
    *,
    speakers: Sequence[str],
    channel_ids: Sequence[int | None],
    progress: Callable[[float], None] | None = None,
    sample_rate: int = 16000,
) -> tuple[tuple[Utterance, ...], ...]:
    """The channels with :data:`CHANNEL_GAP_S` of silence between them, decoded in one batched
    pass so the VAD speech of both parties fills the same 30 s windows and batches; every word is
    then mapped back to its channel and to that channel's own clock."""
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
