"""Hypothesis profiles for the fuzz suite, chosen with ``CALLQA_HYPOTHESIS_PROFILE``.

- ``ci`` (default): few examples, derandomized, so `make test` stays fast and the same on every
  machine (the whole fuzz suite adds well under a minute).
- ``deep``: thousands of random examples per parser for a long search before a release, e.g.
  ``CALLQA_HYPOTHESIS_PROFILE=deep pytest tests/fuzz``.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_SHARED = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                     HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, **_SHARED)
settings.register_profile("deep", max_examples=3000, **_SHARED)
settings.load_profile(os.environ.get("CALLQA_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def fake_model(monkeypatch, fake_whisper):
    """`callqa transcribe` with a fake Whisper that hears nothing: decoding and checks stay real."""
    import pipeline.calls

    monkeypatch.setattr(pipeline.calls, "load_models",
                        lambda cfg, diarization=True: pipeline.calls.Models(whisper=fake_whisper([])))
