"""Offline diarizer: generated two-voice calls (source-filter vowels), 8 kHz μ-law, a dominant speaker."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from pipeline.audio import Audio, AudioConfig, load_audio
from pipeline.config import DiarizationConfig
from pipeline.diarization.offline import change_log_prior, fill_gaps, speech_regions, viterbi
from pipeline.diarization.rttm import SpeakerTurn
from pipeline.diarize import diarize, load_diarizer

SR = 16000
VOWELS = ((800, 1200, 2500), (300, 2300, 3000), (350, 800, 2300), (500, 1800, 2500), (500, 900, 2400))


def synth_voice(seconds: float, f0: float, formant_scale: float, rng: np.random.Generator) -> np.ndarray:
    """Glottal pulses through three vowel formants, one syllable every 0.22 s: speech-like to a VAD."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f = f0 * (1 + 0.08 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6))) * (1 - 0.1 * t / seconds)
    pulses = (np.diff(np.floor(np.cumsum(f) / SR), prepend=0) > 0).astype(float)
    source = lfilter([1], [1, -0.95], pulses)
    out = np.zeros(n)
    syllable = int(0.22 * SR)
    for s in range(0, n, syllable):
        seg = source[s: s + syllable]
        formants = VOWELS[rng.integers(len(VOWELS))]
        y = np.zeros_like(seg)
        for k, freq in enumerate(formants):
            r, theta = np.exp(-np.pi * (80 + 40 * k) / SR), 2 * np.pi * freq * formant_scale / SR
            y += lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], seg) / (k + 1)
        out[s: s + syllable] = y * np.sin(np.pi * np.arange(len(seg)) / len(seg)) ** 0.6
    return 0.3 * out / np.abs(out).max()


def synth_call(durations: list[tuple[str, float]], seed: int = 0) -> tuple[np.ndarray, list[SpeakerTurn]]:
    """Turns of a low male-like voice (A) and a high female-like voice (B) with 0.4-0.8 s pauses."""
    rng = np.random.default_rng(seed)
    voices = {"A": (110.0, 1.0), "B": (220.0, 1.18)}
    t, pieces, turns = 0.3, [], []
    for speaker, seconds in durations:
        pieces.append((t, synth_voice(seconds, *voices[speaker], rng)))
        turns.append(SpeakerTurn(speaker, t, t + seconds))
        t += seconds + rng.uniform(0.4, 0.8)
    x = np.zeros(int((t + 0.5) * SR), dtype=np.float32)
    for start, v in pieces:
        x[int(start * SR): int(start * SR) + len(v)] += v
    x += np.random.default_rng(1).normal(0, 0.001, len(x)).astype(np.float32)
    return x, turns


def coverage_and_purity(turns, hyp, step: float = 0.05) -> tuple[float, float]:
    """Share of reference speech the hypothesis covers, and how much of that has the right speaker
    (under the best mapping of hypothesis labels to reference speakers)."""
    end = max(t.end_s for t in turns)
    times = np.arange(0, end, step)

    def label(ts, t):
        for turn in ts:
            if turn.start_s <= t < turn.end_s:
                return turn.speaker
        return None

    pairs = [(label(turns, t), label(hyp, t)) for t in times]
    speech = [(r, g) for r, g in pairs if r is not None]
    covered = [(r, g) for r, g in speech if g is not None]
    hyp_labels = sorted({g for _, g in covered})
    purity = max(
        np.mean([dict(zip(hyp_labels, order)).get(g) == r for r, g in covered]) for order in ("AB", "BA")
    )
    return len(covered) / len(speech), float(purity)


pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def offline():
    cfg = DiarizationConfig()
    return load_diarizer(cfg), cfg


def test_separates_two_generated_voices_from_8khz_mulaw(offline, make_wav):
    diarizer, cfg = offline
    script = [("A", 2.0), ("B", 1.6), ("A", 2.4), ("B", 0.5), ("A", 1.8), ("B", 2.2), ("A", 0.5), ("B", 1.5)]
    samples, turns = synth_call(script)
    import soundfile as sf
    import soxr

    path = make_wav("call.mono8k.wav", soxr.resample(samples, SR, 8000), 8000, subtype="ULAW")
    assert sf.info(path).subtype == "ULAW"
    audio = load_audio(path, AudioConfig())
    result = diarize(audio, diarizer, cfg)
    assert result.uri == "call"
    assert len(result.speakers) == 2
    coverage, purity = coverage_and_purity(turns, result.turns)
    # Silero is trained on real speech: it hears only part of these buzzy vowels after μ-law.
    assert coverage >= 0.6
    assert purity >= 0.95


def test_short_replies_of_a_dominated_speaker_are_kept(offline):
    diarizer, cfg = offline
    # The agent talks ~90% of the time; the customer only says 嗯/对-length things.
    script = [("A", 4.0), ("B", 0.45), ("A", 3.5), ("B", 0.4), ("A", 5.0), ("B", 0.5), ("A", 3.0), ("B", 0.45)]
    samples, turns = synth_call(script, seed=3)
    audio = Audio(samples=samples[None, :], sample_rate=SR, source_path="dominant.wav", source_sample_rate=SR)
    result = diarize(audio, diarizer, cfg)
    short = [t for t in turns if t.speaker == "B"]
    dominant = max(result.speakers, key=result.speech_s)
    for reply in short:
        covering = [h for h in result.turns if h.start_s < reply.end_s and h.end_s > reply.start_s]
        assert covering and all(h.speaker != dominant for h in covering), f"lost short reply at {reply.start_s:.2f}s"


def test_silence_gives_no_turns(offline):
    diarizer, cfg = offline
    audio = Audio(samples=np.zeros((1, SR * 3), dtype=np.float32), sample_rate=SR, source_path="quiet.wav",
                  source_sample_rate=SR)
    assert diarize(audio, diarizer, cfg).turns == ()


def test_speech_regions_bridge_short_gaps_and_drop_blips():
    cfg = DiarizationConfig(vad_min_gap_s=0.1, vad_min_speech_s=0.1, vad_pad_s=0.0)
    frame = 512 / SR
    probs = np.zeros(100)
    probs[10:30] = 0.9  # speech
    probs[31:40] = 0.9  # after a one-frame dip: same region
    probs[60:62] = 0.9  # 64 ms blip: dropped
    regions = speech_regions(probs, cfg)
    assert regions == [(pytest.approx(10 * frame), pytest.approx(40 * frame))]


def test_turn_taking_prior_grows_with_the_pause():
    cfg = DiarizationConfig()
    inside, short, long = (np.exp(change_log_prior(g, cfg)[0]) for g in (0.0, 0.15, 1.0))
    assert inside < short < long
    assert long > 0.5 > short


def test_viterbi_needs_evidence_to_switch_inside_speech():
    emissions = np.array([[0.0, -1.0], [-0.2, 0.0], [0.0, -1.0]])
    stay, change = np.log(0.99), np.log(0.01)
    path, _ = viterbi(emissions, np.full(3, change), np.full(3, stay))
    assert path.tolist() == [0, 0, 0]
    path, _ = viterbi(emissions, np.full(3, np.log(0.7)), np.full(3, np.log(0.3)))
    assert path.tolist() == [0, 1, 0]


def test_fill_gaps_joins_one_speakers_pauses_only():
    turns = [SpeakerTurn("S0", 0.0, 1.0), SpeakerTurn("S0", 1.3, 2.0), SpeakerTurn("S1", 2.2, 3.0)]
    assert fill_gaps(turns, 0.5) == [SpeakerTurn("S0", 0.0, 2.0), SpeakerTurn("S1", 2.2, 3.0)]


def test_mono_call_gets_the_stereo_transcript_schema(offline, make_wav, fake_whisper):
    """process_call on a mono file: words diarized, speakers mapped to agent/customer, roles filled."""
    from tests.conftest import segment

    from pipeline.calls import Models, process_call
    from pipeline.config import PipelineConfig
    from pipeline.types import Transcript

    diarizer, cfg = offline
    script = [("A", 2.4), ("B", 1.6), ("A", 2.4), ("B", 1.2)]
    samples, turns = synth_call(script, seed=5)
    import soxr

    path = make_wav("call-9.mono8k.wav", soxr.resample(samples, SR, 8000), 8000, subtype="ULAW")
    lines = {"A": ["您好，", "工号", "为您服务，", "请问有什么可以帮您？"], "B": ["你好，", "我想", "查话费。"]}

    def words_of(turn):
        texts = lines[turn.speaker]
        step = turn.duration_s / len(texts)
        return [(w, turn.start_s + i * step, turn.start_s + (i + 1) * step) for i, w in enumerate(texts)]

    # Whisper on a mono mix hears both parties in one segment: the diarizer has to split it.
    segments = [segment(words_of(turns[0]) + words_of(turns[1])), segment(words_of(turns[2]) + words_of(turns[3]))]
    models = Models(whisper=fake_whisper(segments), diarizer=diarizer)
    transcript = process_call(path, models, PipelineConfig())
    assert transcript.layout == "mono"
    assert [u.speaker for u in transcript.utterances] == ["agent", "customer", "agent", "customer"]
    assert transcript.utterances[1].text.startswith("你好")
    assert not transcript.roles.needs_review and transcript.roles.method.startswith("diarization")
    assert Transcript.from_dict(transcript.to_dict()) == transcript


def test_cli_diarize_writes_rttm_and_json(make_wav, tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    samples, _ = synth_call([("A", 1.5), ("B", 1.2), ("A", 1.5), ("B", 1.0)], seed=7)
    path = make_wav("call-7.wav", samples, SR)
    result = CliRunner().invoke(app, ["diarize", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rttm = (tmp_path / "out" / "call-7.rttm").read_text()
    assert rttm.startswith("SPEAKER call-7 1 ")
    import json

    data = json.loads((tmp_path / "out" / "call-7.json").read_text())
    assert data["backend"] == "offline" and len(data["speakers"]) == 2


def test_cli_diarize_without_audio_fails_cleanly(tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    result = CliRunner().invoke(app, ["diarize", str(tmp_path)])
    assert result.exit_code == 2


def test_cli_diarize_never_drops_a_named_file(make_wav, tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    samples, _ = synth_call([("A", 1.5), ("B", 1.2)], seed=3)
    good = make_wav("call-3.wav", samples, SR)
    odd = tmp_path / "call-4.recording"
    odd.write_bytes(b"not audio")
    missing = tmp_path / "call-5.wav"

    result = CliRunner().invoke(app, ["diarize", str(good), str(missing), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "call-5.wav" in result.output and "no such file" in result.output

    # a named file with an unusual suffix is tried and fails loudly, not skipped
    result = CliRunner().invoke(app, ["diarize", str(good), str(odd), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "call-4.recording" in result.output
    assert (tmp_path / "out" / "call-3.rttm").exists()
