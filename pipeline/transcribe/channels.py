"""Transcribing the channels of a call: one ``WhisperModel.transcribe`` per channel, side by side
on the model's workers, or one batched pass (:mod:`pipeline.transcribe.batched`)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipeline.transcribe.batched import transcribe_batched
from pipeline.transcribe.options import TranscribeOptions
from pipeline.transcribe.utterances import is_hallucination, segments_to_utterances
from pipeline.types import Utterance

logger = logging.getLogger(__name__)


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

    Batched when ``options.batch_size`` > 1 (:func:`~pipeline.transcribe.batched.transcribe_batched`),
    else one ``transcribe_channel`` per channel, side by side. ``progress`` gets the seconds of
    audio done, summed over the channels.
    """
    if options.batched:
        return transcribe_batched(channels, model, options, speakers=speakers, channel_ids=channel_ids,
                                  progress=progress, sample_rate=sample_rate)
    return _side_by_side(channels, model, options, speakers=speakers, channel_ids=channel_ids, progress=progress)


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
