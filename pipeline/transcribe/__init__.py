"""Speech to text with faster-whisper: words with times, split into utterances at pauses.

A stereo call is two channels, each party on its own (see :mod:`pipeline.calls`); a mono call
is one channel that diarization splits later. :func:`transcribe_channels` decodes all channels
of a call either in one batched pass (``asr.batch_size`` > 1: faster-whisper's
``BatchedInferencePipeline`` over the VAD speech of every channel laid end to end, words mapped
back to their channel and time); ``asr.batch_size`` 0 or 1 (the default) runs
``WhisperModel.transcribe`` once per channel, the channels side by side on the model's
``asr.num_workers`` CTranslate2 workers (one after the other when that is 1).
"""
from pipeline.transcribe.batched import CHANNEL_GAP_S, split_by_channel, transcribe_batched
from pipeline.transcribe.channels import transcribe_channel, transcribe_channels
from pipeline.transcribe.options import TranscribeOptions, hotword_prompt
from pipeline.transcribe.utterances import (
    HALLUCINATIONS,
    drop_repetition_loops,
    is_hallucination,
    merge_by_time,
    segments_to_utterances,
)
from pipeline.transcribe.whisper import load_whisper, thread_layout, usable_cores

__all__ = [
    "CHANNEL_GAP_S", "HALLUCINATIONS", "TranscribeOptions", "drop_repetition_loops", "hotword_prompt",
    "is_hallucination", "load_whisper", "merge_by_time", "segments_to_utterances", "split_by_channel",
    "thread_layout", "transcribe_batched", "transcribe_channel", "transcribe_channels", "usable_cores",
]
