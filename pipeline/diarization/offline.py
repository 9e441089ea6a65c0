"""Offline two-speaker diarization from models that ship inside pip packages.

1. Speech activity: the Silero VAD bundled with faster-whisper (ONNX, ~2 MB).
2. Speaker embeddings: resemblyzer's GE2E LSTM (weights in its wheel) on ``window_s`` windows
   every ``hop_s`` inside each speech region; a short region (好的/嗯/对) gets one window of its own.
3. Two clusters (spherical k-means, seeded from the principal direction of the embeddings,
   so one speaker dominating the call does not split the dominant voice in two).
4. Re-segmentation: a two-state Viterbi over the windows in time order, where a speaker change
   inside continuous speech costs ``change_penalty`` and one across a silence costs
   ``gap_change_penalty``; each 10 ms frame then takes the label of its nearest window.

No hub, no token, CPU only; about 0.02-0.05 s of CPU per audio second.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np

from pipeline.config import DiarizationConfig
from pipeline.diarization.rttm import Diarization, SpeakerTurn
from pipeline.errors import DiarizationError, ModelNotFoundError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MEL_HOP_S = 0.01  # resemblyzer's frame rate: 25 ms windows every 10 ms, 40 mel bands
VAD_FRAME = 512  # Silero scores 32 ms frames at 16 kHz
_TARGET_DBFS = -30.0  # the level resemblyzer normalises its training audio to


@functools.lru_cache(maxsize=1)
def load_vad():
    """Faster-whisper's bundled Silero VAD (ONNX), shared with transcription."""
    try:
        from faster_whisper.vad import get_vad_model
    except ImportError as e:
        raise ModelNotFoundError(
            "faster-whisper is not installed; the offline diarizer uses its bundled Silero VAD — "
            "`pip install faster-whisper`"
        ) from e
    return get_vad_model()


@functools.lru_cache(maxsize=1)
def load_voice_encoder():
    """resemblyzer's pretrained speaker encoder (256-d GE2E embeddings), in eval mode on CPU."""
    try:
        from resemblyzer import VoiceEncoder
    except ImportError as e:
        raise ModelNotFoundError(
            f"resemblyzer cannot be imported ({e}); `pip install resemblyzer 'setuptools<81'` "
            "(its webrtcvad dependency needs pkg_resources)"
        ) from e
    encoder = VoiceEncoder(device="cpu", verbose=False)
    encoder.eval()
    return encoder


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero speech probability per 32 ms frame."""
    model = load_vad()
    padded = np.pad(samples, (0, (-len(samples)) % VAD_FRAME))
    return np.asarray(model(padded), dtype=np.float32).reshape(-1)


def speech_regions(probs: np.ndarray, cfg: DiarizationConfig) -> list[tuple[float, float]]:
    """Hysteresis on Silero probabilities: regions of speech in seconds."""
    frame_s = VAD_FRAME / SAMPLE_RATE
    on, off = cfg.vad_threshold, max(0.05, cfg.vad_threshold - 0.15)
    regions, start, active = [], 0, False
    for i, p in enumerate(probs):
        if not active and p >= on:
            active, start = True, i
        elif active and p < off:
            active = False
            regions.append([start * frame_s, i * frame_s])
    if active:
        regions.append([start * frame_s, len(probs) * frame_s])
    merged: list[list[float]] = []
    for region in regions:
        if merged and region[0] - merged[-1][1] < cfg.vad_min_gap_s:
            merged[-1][1] = region[1]
        else:
            merged.append(region)
    total = len(probs) * frame_s
    out = []
    for s, e in merged:
        if e - s < cfg.vad_min_speech_s:
            continue
        out.append((max(0.0, s - cfg.vad_pad_s), min(total, e + cfg.vad_pad_s)))
    return out


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """resemblyzer's input features: (frames, 40) mel power at 100 frames/s."""
    import librosa

    frames = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=int(SAMPLE_RATE * 0.025), hop_length=int(SAMPLE_RATE * MEL_HOP_S),
        n_mels=40,
    )
    return frames.astype(np.float32).T


def _normalise_level(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    if rms <= 0:
        return samples
    gain = 10 ** (_TARGET_DBFS / 20) / rms
    return (samples * gain).astype(np.float32)


def embed_windows(mels: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """L2-normalised embeddings of mel frame ranges, batched through the LSTM with packing."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    encoder = load_voice_encoder()
    out = np.zeros((len(windows), 256), dtype=np.float32)
    order = sorted(range(len(windows)), key=lambda i: windows[i][1] - windows[i][0])
    batch_size = 64
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            idx = order[b: b + batch_size]
            seqs = [torch.from_numpy(mels[windows[i][0]: windows[i][1]]) for i in idx]
            lengths = torch.tensor([len(s) for s in seqs])
            packed = pack_padded_sequence(pad_sequence(seqs, batch_first=True), lengths, batch_first=True,
                                          enforce_sorted=False)
            _, (hidden, _) = encoder.lstm(packed)
            raw = encoder.relu(encoder.linear(hidden[-1]))
            emb = raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-8)
            out[idx] = emb.numpy()
    return out


def embed_spans(samples: np.ndarray, sample_rate: int, spans: list[tuple[float, float]]) -> np.ndarray | None:
    """One voice embedding for a set of time spans (e.g. all of one speaker's speech)."""
    if sample_rate != SAMPLE_RATE:
        raise DiarizationError(f"expected {SAMPLE_RATE} Hz audio for speaker embeddings, found {sample_rate} Hz")
    mels = mel_frames(_normalise_level(samples))
    windows = []
    for s, e in spans:
        f0, f1 = int(s / MEL_HOP_S), min(len(mels), int(e / MEL_HOP_S))
        step = 80
        for w in range(f0, max(f0 + 1, f1 - 160 + 1), step):
            if min(w + 160, f1) - w >= 40:
                windows.append((w, min(w + 160, f1)))
    if not windows:
        return None
    emb = embed_windows(mels, windows).mean(axis=0)
    return emb / max(float(np.linalg.norm(emb)), 1e-8)


@dataclass(frozen=True, slots=True)
class _Window:
    region: int
    start_f: int
    end_f: int

    @property
    def center_f(self) -> float:
        return (self.start_f + self.end_f) / 2


def _windows(regions: list[tuple[float, float]], n_frames: int, cfg: DiarizationConfig) -> list[_Window]:
    win, hop = int(round(cfg.window_s / MEL_HOP_S)), int(round(cfg.hop_s / MEL_HOP_S))
    min_len = 25  # below 0.25 s an LSTM embedding is noise; short replies are padded to this
    out = []
    for r, (s, e) in enumerate(regions):
        f0, f1 = int(s / MEL_HOP_S), min(n_frames, int(round(e / MEL_HOP_S)))
        if f1 - f0 < min_len:
            c = (f0 + f1) // 2
            f0, f1 = max(0, c - min_len // 2), min(n_frames, c + min_len // 2 + 1)
        if f1 - f0 <= win:
            out.append(_Window(r, f0, f1))
            continue
        starts = list(range(f0, f1 - win + 1, hop))
        if starts[-1] + win < f1:
            starts.append(f1 - win)
        out.extend(_Window(r, st, st + win) for st in starts)
    return out


def two_clusters(emb: np.ndarray, weights: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Spherical k-means with k=2, returning the two unit centroids (2, d)."""
    mean = np.average(emb, axis=0, weights=weights)
    centred = emb - mean
    # The principal direction separates the two voices even when one has far more windows.
    _, _, vt = np.linalg.svd(centred * np.sqrt(weights)[:, None], full_matrices=False)
    side = centred @ vt[0] > 0
    if side.all() or not side.any():
        side = np.arange(len(emb)) % 2 == 0
    labels = side.astype(int)
    centroids = np.zeros((2, emb.shape[1]), dtype=np.float32)
    for _ in range(iterations):
        for k in range(2):
            members = labels == k
            c = (emb[members] * weights[members, None]).sum(axis=0) if members.any() else emb[np.argmin(
                (emb @ centroids[1 - k]))]
            centroids[k] = c / max(float(np.linalg.norm(c)), 1e-8)
        new = np.argmax(emb @ centroids.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return centroids


def viterbi(scores: np.ndarray, penalties: np.ndarray) -> np.ndarray:
    """Best state path for (n, k) ``scores`` where leaving a state before step i costs ``penalties[i]``."""
    n, k = scores.shape
    best = scores[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for i in range(1, n):
        stay = best
        switch = best.max() - penalties[i]
        switch_from = int(best.argmax())
        choose_switch = switch > stay
        back[i] = np.where(choose_switch, switch_from, np.arange(k))
        best = np.where(choose_switch, switch, stay) + scores[i]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(best.argmax())
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


class OfflineDiarizer:
    """Silero VAD + resemblyzer + two-state Viterbi; exactly two speakers (``SPEAKER_00/01``)."""

    backend = "offline"

    def __init__(self, cfg: DiarizationConfig):
        self.cfg = cfg
        load_vad()
        load_voice_encoder()

    def __call__(self, samples: np.ndarray, *, uri: str = "call", hook=None) -> Diarization:
        cfg = self.cfg
        duration = len(samples) / SAMPLE_RATE
        probs = speech_probabilities(samples)
        regions = speech_regions(probs, cfg)
        if hook:
            hook("speech_activity", regions, completed=1, total=3)
        if not regions:
            return Diarization(turns=(), uri=uri, duration_s=duration, backend=self.backend)
        mels = mel_frames(_normalise_level(samples))
        windows = _windows(regions, len(mels), cfg)
        emb = embed_windows(mels, [(w.start_f, w.end_f) for w in windows])
        if hook:
            hook("embeddings", emb, completed=2, total=3)
        weights = np.array([w.end_f - w.start_f for w in windows], dtype=np.float32)
        if len(windows) == 1:
            labels = np.zeros(1, dtype=np.int64)
        else:
            centroids = two_clusters(emb, weights)
            scores = emb @ centroids.T
            penalties = np.array(
                [0.0] + [cfg.change_penalty if windows[i].region == windows[i - 1].region else cfg.gap_change_penalty
                         for i in range(1, len(windows))], dtype=np.float32)
            labels = viterbi(scores, penalties)
        turns = self._turns(regions, windows, labels)
        if hook:
            hook("resegmentation", turns, completed=3, total=3)
        return Diarization(turns=tuple(turns), uri=uri, duration_s=duration, backend=self.backend)

    @staticmethod
    def _turns(regions, windows: list[_Window], labels: np.ndarray) -> list[SpeakerTurn]:
        """Each frame of a region takes the label of its nearest window; runs become turns."""
        turns: list[SpeakerTurn] = []
        by_region: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_region.setdefault(w.region, []).append(i)
        for r, (s, e) in enumerate(regions):
            idx = by_region.get(r, [])
            if not idx:
                continue
            centres = np.array([windows[i].center_f for i in idx]) * MEL_HOP_S
            region_labels = labels[idx]
            if len(set(region_labels.tolist())) == 1:
                turns.append(SpeakerTurn(f"SPEAKER_{int(region_labels[0]):02d}", s, e))
                continue
            # Change points fall halfway between neighbouring windows that disagree.
            bounds = [s]
            seq = [int(region_labels[0])]
            for j in range(1, len(idx)):
                if region_labels[j] != region_labels[j - 1]:
                    bounds.append(float((centres[j] + centres[j - 1]) / 2))
                    seq.append(int(region_labels[j]))
            bounds.append(e)
            for k, label in enumerate(seq):
                turns.append(SpeakerTurn(f"SPEAKER_{label:02d}", bounds[k], bounds[k + 1]))
        return turns
