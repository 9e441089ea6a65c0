"""One recording in, one speaker-attributed transcript out: the per-call spine of every flow.

Stereo recorders put each party on its own channel: each channel is transcribed alone and the
results merged by time. Mono recordings are transcribed once, then diarized, and the diarized
speakers are mapped to agent and customer (:mod:`pipeline.roles`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import __version__
from pipeline.audio import Audio, file_sha256, load_audio
from pipeline.config import PipelineConfig
from pipeline.metadata import call_meta, with_layout
from pipeline.roles import attribute_mono, check_stereo_roles
from pipeline.transcribe import TranscribeOptions, load_whisper, merge_by_time, transcribe_channels
from pipeline.types import CallMeta, RoleAssignment, Transcript

logger = logging.getLogger(__name__)

Progress = Callable[[str, float, float], None]  # (step, completed seconds, total seconds)


@dataclass(frozen=True, slots=True)
class Models:
    """The loaded models a call needs; load once per process with :func:`load_models`."""

    whisper: object
    diarizer: object | None = None


def load_models(cfg: PipelineConfig, *, diarization: bool = True) -> Models:
    whisper = load_whisper(cfg.asr)
    diarizer = None
    if diarization:
        from pipeline.diarize import load_diarizer

        diarizer = load_diarizer(cfg.diarization)
    return Models(whisper=whisper, diarizer=diarizer)


def process_call(
    path: str | Path,
    models: Models,
    cfg: PipelineConfig,
    *,
    meta: CallMeta | None = None,
    progress: Progress | None = None,
) -> Transcript:
    """Decode, transcribe and attribute speakers for one call."""
    path = Path(path)
    meta = meta or call_meta(path, pattern=cfg.flow.filename_pattern, agent_channel=cfg.audio.agent_channel)
    audio = load_audio(path, cfg.audio)
    meta = with_layout(meta, audio.num_channels)
    options = TranscribeOptions.from_config(cfg.asr)
    if meta.layout == "stereo" and audio.num_channels == 2:
        utterances, roles = _stereo(audio, meta, models, options, cfg, progress)
    else:
        utterances, roles = _mono(audio, meta, models, options, cfg, progress)
    return Transcript(
        call=replace(meta, source_path=str(path)),
        duration_s=round(audio.duration_s, 3),
        utterances=utterances,
        layout="stereo" if meta.layout == "stereo" and audio.num_channels == 2 else "mono",
        model=cfg.asr.model,
        pipeline_version=__version__,
        audio_sha256=file_sha256(path),
        roles=roles,
        warnings=audio.warnings,
    )


def _reporter(progress: Progress | None, step: str, total: float, offset: float = 0.0):
    if progress is None:
        return None
    return lambda done: progress(step, offset + done, total)


def _stereo(audio: Audio, meta: CallMeta, models: Models, options: TranscribeOptions,
            cfg: PipelineConfig, progress: Progress | None):
    agent_channel = meta.agent_channel if meta.agent_channel is not None else cfg.audio.agent_channel
    total = audio.duration_s * 2
    per_channel = transcribe_channels(
        [audio.channel(0), audio.channel(1)], models.whisper, options,
        speakers=["agent" if channel == agent_channel else "customer" for channel in (0, 1)], channel_ids=(0, 1),
        progress=_reporter(progress, "transcribe", total), sample_rate=audio.sample_rate,
    )
    utterances = merge_by_time(*per_channel)
    roles = check_stereo_roles(utterances, cfg.roles)
    return utterances, roles


def _mono(audio: Audio, meta: CallMeta, models: Models, options: TranscribeOptions,
          cfg: PipelineConfig, progress: Progress | None):
    (utterances,) = transcribe_channels(
        [audio.mono()], models.whisper, options, speakers=["unknown"], channel_ids=[None],
        progress=_reporter(progress, "transcribe", audio.duration_s), sample_rate=audio.sample_rate,
    )
    if models.diarizer is None:
        return utterances, RoleAssignment(confidence=0.0, method="none", needs_review=True,
                                          evidence=("mono call without diarization",))
    attributed, roles, _diarization = attribute_mono(
        audio, utterances, models.diarizer, agent_id=meta.agent_id, diar_cfg=cfg.diarization,
        roles_cfg=cfg.roles, pause_s=options.utterance_pause_s,
    )
    return attributed, roles
