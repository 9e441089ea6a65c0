"""The pyannote backend end to end with a tiny randomly initialised pipeline built here.

Pretrained pyannote weights are not downloadable in CI, so this builds the same kind of
directory ``huggingface-cli download pyannote/speaker-diarization-community-1`` gives
(config.yaml + segmentation/ + embedding/ + plda/) with random weights, and checks that
loading, in-memory inference and output conversion all work. Speaker accuracy is not
tested here (random weights); the offline backend's accuracy is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyannote.audio")

from pipeline.audio import Audio
from pipeline.config import DiarizationConfig
from pipeline.diarize import Diarization, diarize, load_diarizer
from pipeline.errors import ModelNotFoundError

pytestmark = [pytest.mark.model, pytest.mark.slow]

EMBEDDING_DIM = 32


def _save(model, path: Path) -> None:
    import lightning
    import torch

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)
    path.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path / "pytorch_model.bin")


def build_tiny_pipeline(root: Path) -> Path:
    """A pyannote SpeakerDiarization directory with tiny random models; returns its path."""
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding.xvector import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)
    segmentation = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 16, "num_layers": 1, "bidirectional": True, "monolithic": True},
        linear={"hidden_size": 16, "num_layers": 1},
    )
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=5.0,
        min_duration=5.0, warm_up=(0.0, 0.0), classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2, permutation_invariant=True,
    )
    segmentation.build()
    _save(segmentation, root / "segmentation")

    embedding = XVectorMFCC(dimension=EMBEDDING_DIM)
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0, min_duration=0.5,
    )
    embedding.build()
    _save(embedding, root / "embedding")

    # VBx clustering needs a PLDA: identity-like transforms of the right shapes.
    rng = np.random.default_rng(0)
    lda_dim = 8
    (root / "plda").mkdir(parents=True, exist_ok=True)
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(EMBEDDING_DIM), mean2=np.zeros(lda_dim),
             lda=rng.normal(size=(EMBEDDING_DIM, lda_dim)))
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(lda_dim), tr=np.eye(lda_dim),
             psi=np.linspace(2.0, 0.5, lda_dim))

    (root / "config.yaml").write_text(
        "version: 4.0.0\n"
        "pipeline:\n"
        "  name: pyannote.audio.pipelines.SpeakerDiarization\n"
        "  params:\n"
        "    segmentation: $model/segmentation\n"
        "    embedding: $model/embedding\n"
        "    plda: $model/plda\n"
        "    clustering: VBxClustering\n"
        "    segmentation_batch_size: 8\n"
        "    embedding_batch_size: 8\n"
        "params:\n"
        "  segmentation:\n"
        "    min_duration_off: 0.0\n"
        "  clustering:\n"
        "    threshold: 0.6\n"
        "    Fa: 0.07\n"
        "    Fb: 0.8\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="module")
def tiny_pipeline_dir(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("pyannote-tiny"))


def _two_tone_call(seconds: float = 12.0) -> Audio:
    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    samples = np.zeros_like(t, dtype=np.float32)
    for k, start in enumerate(np.arange(0.5, seconds - 1.5, 2.0)):
        seg = (t >= start) & (t < start + 1.5)
        f0 = 140.0 if k % 2 == 0 else 260.0
        samples[seg] = 0.3 * np.sin(2 * np.pi * f0 * t[seg]) * (1 + 0.3 * np.sin(2 * np.pi * 4 * t[seg]))
    return Audio(samples=samples[None, :], sample_rate=sr, source_path="tiny-call.mono8k.wav", source_sample_rate=8000)


def test_pyannote_backend_loads_local_directory_and_diarizes(tiny_pipeline_dir, monkeypatch):
    monkeypatch.delenv("PYANNOTE_METRICS_ENABLED", raising=False)
    cfg = DiarizationConfig(backend="pyannote", pyannote_pipeline=str(tiny_pipeline_dir), num_speakers=2)
    diarizer = load_diarizer(cfg)
    import os

    assert os.environ["PYANNOTE_METRICS_ENABLED"] in {"0", "false"}, "telemetry must be off"
    steps = []
    result = diarize(_two_tone_call(), diarizer, cfg, hook=lambda step, *a, **k: steps.append(step))
    assert isinstance(result, Diarization)
    assert result.backend == "pyannote" and result.uri == "tiny-call"
    assert result.turns, "random weights still mark the tones as speech"
    assert steps, "the progress hook is passed through to pyannote"
    for turn in result.turns:
        assert 0.0 <= turn.start_s < turn.end_s <= 12.0 + 1e-3
        assert turn.speaker.startswith("SPEAKER_")
    again = Diarization.from_rttm(result.to_rttm())
    assert [t.speaker for t in again.turns] == [t.speaker for t in result.turns]
    assert np.allclose([t.end_s for t in again.turns], [t.end_s for t in result.turns], atol=2e-3)


def test_pyannote_backend_min_max_speakers(tiny_pipeline_dir):
    cfg = DiarizationConfig(backend="pyannote", pyannote_pipeline=str(tiny_pipeline_dir), num_speakers=None,
                            min_speakers=1, max_speakers=2)
    result = diarize(_two_tone_call(6.0), load_diarizer(cfg), cfg)
    assert len(result.speakers) <= 2


def test_missing_pipeline_directory_says_how_to_install(tmp_path):
    cfg = DiarizationConfig(backend="pyannote", pyannote_pipeline=str(tmp_path / "models" / "nope"))
    with pytest.raises(ModelNotFoundError, match="huggingface-cli download"):
        load_diarizer(cfg)
