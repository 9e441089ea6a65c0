"""Shared fixtures: generated audio we own, and a fake Whisper model with the real interface."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate after the pipeline's CER normalisation: what holds on any CPU, unlike exact words."""
    from rapidfuzz.distance import Levenshtein

    from pipeline.normalize import text_for_cer

    reference = text_for_cer(reference)
    return Levenshtein.distance(text_for_cer(hypothesis), reference) / len(reference)


def tone(seconds: float, sample_rate: int, freq: float = 220.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    # a vowel-like harmonic tone, so VADs and codecs treat it as voiced signal
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (level * wave / np.max(np.abs(wave))).astype(np.float32)


@pytest.fixture
def make_wav(tmp_path):
    """Write a WAV with soundfile: ``make_wav(name, samples (n,) or (n, ch), sr, subtype)``."""
    import soundfile as sf

    def write(name: str, samples: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16") -> Path:
        path = tmp_path / name
        sf.write(path, samples, sample_rate, subtype=subtype)
        return path

    return write


@dataclass
class FakeWord:
    word: str
    start: float
    end: float
    probability: float = 0.9


@dataclass
class FakeSegment:
    start: float
    end: float
    text: str
    words: list[FakeWord] = field(default_factory=list)
    avg_logprob: float = -0.2
    no_speech_prob: float = 0.01


def segment(words: list[tuple[str, float, float]], avg_logprob: float = -0.2) -> FakeSegment:
    fake = [FakeWord(w, s, e) for w, s, e in words]
    return FakeSegment(fake[0].start, fake[-1].end, "".join(w for w, _, _ in words), fake, avg_logprob)


class FakeWhisper:
    """Returns canned segments, recording the keyword arguments it was called with."""

    def __init__(self, segments: list[FakeSegment]):
        self.segments = segments
        self.calls: list[dict] = []

    def transcribe(self, audio, **kwargs):
        self.calls.append(kwargs)
        return iter(self.segments), None


@pytest.fixture
def fake_whisper():
    return FakeWhisper


@pytest.fixture(scope="session")
def book():
    """The bundled default rulebook, loaded once (rule and act tests read it, never change it)."""
    from pipeline.rules import load_rulebook

    return load_rulebook()
