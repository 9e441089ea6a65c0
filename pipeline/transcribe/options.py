"""Decoding options: what ``WhisperModel.transcribe`` and the batched pipeline are called with."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import AsrConfig


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
