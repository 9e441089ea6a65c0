"""Offline two-speaker diarization from models that ship inside pip packages.

1. Speech activity: the Silero VAD bundled with faster-whisper (ONNX, ~2 MB), with hysteresis.
2. Speaker embeddings: resemblyzer's GE2E LSTM (weights in its wheel) on ``window_s`` windows
   every ``hop_s`` inside each speech region; a short region (好的/嗯/对) gets one window of its
   own, so short replies are scored instead of being swallowed by a neighbouring turn.
3. Two speakers: EM alternating a one-dimensional discriminant (the difference of the two
   voices' mean embeddings) with a two-state Viterbi over the windows in time order. The
   Viterbi's turn-taking prior makes a change inside continuous speech rare and one across a
   pause of about ``turn_gap_s`` or more likely. EM starts from several splits (principal
   directions, the prior alone, pitch) and the split whose voices are furthest apart on
   held-out windows wins, which keeps a dominant speaker from being cut in two.
4. Each 10 ms frame takes the label of its nearest window; pauses shorter than ``fill_gap_s``
   inside one speaker's turn are filled.

No hub, no token, CPU only: about 0.02 s of CPU per audio second.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from dataclasses import dataclass

import numpy as np

from pipeline.config import DiarizationConfig
from pipeline.diarization.rttm import Diarization, SpeakerTurn
from pipeline.errors import DiarizationError, ModelNotFoundError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MEL_HOP_S = 0.01  # resemblyzer's frame rate: 25 ms windows every 10 ms, 40 mel bands
N_FFT = 400  # 25 ms at 16 kHz
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
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=40).astype(np.float32)


@functools.lru_cache(maxsize=1)
def load_voice_encoder():
    """resemblyzer's pretrained speaker encoder (256-d GE2E embeddings), in eval mode on CPU."""
    try:
        with warnings.catch_warnings():
            # resemblyzer's webrtcvad imports pkg_resources, which setuptools warns about; nothing of ours.
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
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
    """resemblyzer's input features: (frames, 40) mel power at 100 frames/s.

    Same as ``librosa.feature.melspectrogram(n_fft=400, hop_length=160, n_mels=40)`` (centred,
    zero-padded, Hann window), computed in one strided FFT.
    """
    hop = int(SAMPLE_RATE * MEL_HOP_S)
    padded = np.pad(samples.astype(np.float32, copy=False), N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // hop
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * hop, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_basis().T).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _normalise_level(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    if rms <= 0:
        return samples
    gain = 10 ** (_TARGET_DBFS / 20) / rms
    return (samples * gain).astype(np.float32)


@contextlib.contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)


def embed_windows(mels: np.ndarray, windows: list[tuple[int, int]], *, threads: int = 1) -> np.ndarray:
    """L2-normalised embeddings of mel frame ranges, batched through the LSTM with packing."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    encoder = load_voice_encoder()
    out = np.zeros((len(windows), 256), dtype=np.float32)
    order = sorted(range(len(windows)), key=lambda i: windows[i][1] - windows[i][0])
    batch_size = 64
    with torch.inference_mode(), _torch_threads(threads):
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


def change_log_prior(gap_s: float, cfg: DiarizationConfig) -> tuple[float, float]:
    """(log P(change), log P(same)) between two windows separated by ``gap_s`` of silence.

    Inside continuous speech a change is rare (an interruption); short pauses are breaths
    and commas inside a turn; pauses around ``turn_gap_s`` and longer are where turns change hands.
    """
    if gap_s <= 0:
        p = cfg.change_prob_speech
    else:
        ramp = 1.0 / (1.0 + np.exp(-(gap_s - cfg.turn_gap_s) / cfg.turn_gap_width_s))
        p = cfg.change_prob_short + (cfg.change_prob_long - cfg.change_prob_short) * ramp
    return float(np.log(p)), float(np.log1p(-p))


def viterbi(emissions: np.ndarray, log_change: np.ndarray, log_stay: np.ndarray) -> tuple[np.ndarray, float]:
    """Best two-state path for (n, 2) log ``emissions``; returns the path and its log score."""
    n = len(emissions)
    best = emissions[0].copy()
    back = np.zeros((n, 2), dtype=np.int64)
    for i in range(1, n):
        stay = best + log_stay[i]
        switch = best[::-1] + log_change[i]
        choose = switch > stay
        back[i] = np.where(choose, [1, 0], [0, 1])
        best = np.where(choose, switch, stay) + emissions[i]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(best.argmax())
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path, float(best.max())


def _emissions(emb: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Per-window log-likelihoods of the two speakers, from the current labelling.

    Windows are projected on the difference of the two speakers' mean embeddings and each
    speaker's projections modelled as a Gaussian (shared variance): a one-dimensional
    discriminant that stays well estimated with the few dozen windows of a short call.
    """
    if labels.min() == labels.max():
        return None
    means = np.stack([np.average(emb[labels == k], axis=0, weights=weights[labels == k]) for k in (0, 1)])
    direction = means[0] - means[1]
    norm = float(np.linalg.norm(direction))
    if norm < 1e-6:
        return None
    proj = emb @ (direction / norm)
    mu = np.array([np.average(proj[labels == k], weights=weights[labels == k]) for k in (0, 1)])
    resid = proj - mu[labels]
    var = max(float(np.average(resid**2, weights=weights)), 1e-5)
    # The log-variance term keeps scores of different labellings comparable (a tighter fit wins).
    ll = -((proj[:, None] - mu[None, :]) ** 2) / (2 * var) - 0.5 * np.log(2 * np.pi * var)
    # Overlapping windows are not independent evidence: each counts for its share of the speech.
    return ll * weights[:, None]


def window_pitch(samples: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """Median pitch (semitones) of the louder half of each window's 10 ms frames (YIN)."""
    import librosa

    hop = int(SAMPLE_RATE * MEL_HOP_S)
    f0 = librosa.yin(samples, fmin=70, fmax=400, sr=SAMPLE_RATE, frame_length=640, hop_length=hop, center=True)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(samples, 320), 640)[::hop]
    level = np.sqrt(np.mean(frames[: len(f0)] ** 2, axis=1))
    semitones = 12 * np.log2(f0)
    out = np.zeros(len(windows))
    for i, (a, b) in enumerate(windows):
        b = min(b, len(f0))
        if b <= a:
            out[i] = np.nan
            continue
        loud = level[a:b] >= np.median(level[a:b])
        out[i] = np.median(semitones[a:b][loud])
    return np.nan_to_num(out, nan=float(np.nanmedian(out)) if np.isfinite(out).any() else 0.0)


def segment_two_speakers(
    emb: np.ndarray, weights: np.ndarray, log_change: np.ndarray, log_stay: np.ndarray, iterations: int = 8,
    *, pitch: np.ndarray | None = None, folds: np.ndarray | None = None,
) -> np.ndarray:
    """Two-speaker labels of the windows: EM over (discriminant, Viterbi) from several starts.

    Starts: the signs of the first principal directions (voices that differ clearly), the
    turn-taking prior alone, and a split by pitch (similar voices). Candidates are compared
    by their Fisher separation on held-out windows, averaged over the ``folds`` splits
    (rows of 0/1 per window).
    """
    n = len(emb)
    centred = emb - np.average(emb, axis=0, weights=weights)
    _, _, vt = np.linalg.svd(centred * np.sqrt(weights)[:, None], full_matrices=False)
    # Several principal directions: with similar voices the speaker axis is not always the first.
    starts = [(centred @ vt[k] > 0).astype(np.int64) for k in range(min(4, len(vt)))]
    prior_path, _ = viterbi(np.zeros((n, 2)) + np.array([[1e-3, 0.0]]), log_change, log_stay)
    starts.append(prior_path)
    if pitch is not None:
        # Similar voices (same gender) still differ in pitch range: a start near the right split.
        starts.append((pitch > np.median(pitch)).astype(np.int64))
    folds = folds if folds is not None else np.stack([np.arange(n) % 2, (np.arange(n) // 2) % 2])
    finals = []
    for labels in starts:
        for _ in range(iterations):
            em = _emissions(emb, weights, labels)
            if em is None:
                break
            new, _ = viterbi(em, log_change, log_stay)
            if np.array_equal(new, labels):
                break
            labels = new
        if labels.min() != labels.max():  # a start that collapsed to one voice is no candidate
            finals.append(labels)
    if not finals:
        return starts[0]
    # Viterbi scores of different labellings are not comparable (each fits its own
    # discriminant); how far apart the two voices end up is, measured on held-out windows
    # because a direction fitted in 256 dimensions separates almost any split of its own data.
    per_split = np.array([
        [heldout_fisher_ratio(emb, weights, labels, split) for split in folds] for labels in finals
    ], dtype=object)
    usable = [j for j in range(per_split.shape[1]) if all(v is not None for v in per_split[:, j])]
    if usable:
        scores = [float(np.mean([per_split[i, j] for j in usable])) for i in range(len(finals))]
    else:  # no split holds both voices in both halves for every candidate: in-sample it is
        scores = [fisher_ratio(emb, weights, labels) for labels in finals]
    return finals[int(np.argmax(scores))]


def heldout_fisher_ratio(
    emb: np.ndarray, weights: np.ndarray, labels: np.ndarray, folds: np.ndarray
) -> float | None:
    """:func:`fisher_ratio` with the direction fitted on one fold and measured on the other (mean of both).

    ``None`` when a fold lacks one of the two labels.
    """
    total = 0.0
    for fold in (0, 1):
        train, test = folds == fold, folds != fold
        masks = [(labels == k) & train for k in (0, 1)]
        held = [(labels == k) & test for k in (0, 1)]
        if not all(m.any() for m in masks + held):
            return None
        direction = (np.average(emb[masks[0]], axis=0, weights=weights[masks[0]])
                     - np.average(emb[masks[1]], axis=0, weights=weights[masks[1]]))
        direction /= max(float(np.linalg.norm(direction)), 1e-8)
        proj = emb @ direction
        mu = [np.average(proj[m], weights=weights[m]) for m in held]
        resid = np.where(held[0], proj - mu[0], proj - mu[1])[test]
        var = float(np.average(resid**2, weights=weights[test]))
        total += (mu[0] - mu[1]) ** 2 / max(var, 1e-8)
    return total / 2


def fisher_ratio(emb: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> float:
    """Separation of two labelled groups along their mean difference (0 when one group is empty)."""
    masks = [labels == 0, labels == 1]
    if not all(m.any() for m in masks):
        return 0.0
    means = [np.average(emb[m], axis=0, weights=weights[m]) for m in masks]
    direction = means[0] - means[1]
    direction /= max(float(np.linalg.norm(direction)), 1e-8)
    proj = emb @ direction
    mu = [np.average(proj[m], weights=weights[m]) for m in masks]
    var = float(np.average((proj - np.where(masks[0], mu[0], mu[1])) ** 2, weights=weights))
    return (mu[0] - mu[1]) ** 2 / max(var, 1e-8)


def fill_gaps(turns: list[SpeakerTurn], max_gap_s: float) -> list[SpeakerTurn]:
    """Join consecutive turns of one speaker across pauses shorter than ``max_gap_s``.

    VAD splits a turn at every comma-length pause; references (and reviewers) count the
    whole turn as speech.
    """
    out: list[SpeakerTurn] = []
    for turn in turns:
        if out and out[-1].speaker == turn.speaker and turn.start_s - out[-1].end_s < max_gap_s:
            out[-1] = SpeakerTurn(turn.speaker, out[-1].start_s, max(out[-1].end_s, turn.end_s))
        else:
            out.append(turn)
    return out


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
        emb = embed_windows(mels, [(w.start_f, w.end_f) for w in windows], threads=cfg.cpu_threads)
        if hook:
            hook("embeddings", emb, completed=2, total=3)
        weights = self._weights(regions, windows)
        if len(windows) == 1:
            labels = np.zeros(1, dtype=np.int64)
        else:
            log_change, log_stay = np.zeros(len(windows)), np.zeros(len(windows))
            for i in range(1, len(windows)):
                prev, cur = windows[i - 1], windows[i]
                gap = 0.0 if prev.region == cur.region else regions[cur.region][0] - regions[prev.region][1]
                log_change[i], log_stay[i] = change_log_prior(max(gap, 1e-3) if prev.region != cur.region else 0.0,
                                                              cfg)
            pitch = window_pitch(samples, [(w.start_f, w.end_f) for w in windows])
            # Held-out splits by speech region (windows of one region share audio, so they stay
            # together); several splits, because any one can line up with the turn alternation.
            regions_of = np.array([w.region for w in windows])
            folds = np.stack([
                regions_of % 2,
                (regions_of // 2) % 2,
                ((regions_of * 0.6180339887) % 1.0 >= 0.5).astype(np.int64),
                (np.cumsum(weights) > weights.sum() / 2).astype(np.int64),
            ])
            labels = segment_two_speakers(emb, weights, log_change, log_stay, pitch=pitch, folds=folds)
        turns = fill_gaps(self._turns(regions, windows, labels), cfg.fill_gap_s)
        if hook:
            hook("resegmentation", turns, completed=3, total=3)
        return Diarization(turns=tuple(turns), uri=uri, duration_s=duration, backend=self.backend)

    @staticmethod
    def _weights(regions, windows: list[_Window]) -> np.ndarray:
        """Each region's speech, in window lengths, shared evenly among its windows."""
        counts: dict[int, int] = {}
        for w in windows:
            counts[w.region] = counts.get(w.region, 0) + 1
        win_s = max(w.end_f - w.start_f for w in windows) * MEL_HOP_S
        return np.array(
            [(regions[w.region][1] - regions[w.region][0]) / win_s / counts[w.region] for w in windows],
            dtype=np.float64,
        )

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
