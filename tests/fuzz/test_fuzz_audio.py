"""Audio bytes from outside: decoded to 16 kHz float32, or one line naming the file and the fix."""
from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf
from hypothesis import assume, example, given
from hypothesis import strategies as st

from pipeline.audio import SAMPLE_RATE, decode_audio, load_audio
from pipeline.config import AudioConfig
from pipeline.errors import AudioError
from tests.conftest import tone
from tests.fuzz.helpers import cli_fails_in_one_line, valid_or_our_error

LENIENT = AudioConfig(min_duration_s=0.0, silence_dbfs=-200.0)
suffixes = st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".m4a", ".amr"])


def _encoded(fmt: str, seconds: float = 0.5, sample_rate: int = 8000, channels: int = 2) -> bytes:
    samples = np.stack([tone(seconds, sample_rate, 220.0 * (c + 1)) for c in range(channels)], axis=1)
    out = io.BytesIO()
    sf.write(out, samples, sample_rate, format=fmt, subtype="PCM_16")
    return out.getvalue()


REAL = {".wav": _encoded("WAV"), ".flac": _encoded("FLAC")}


def _decoded_or_our_error(path, cfg: AudioConfig = LENIENT):
    audio = valid_or_our_error(lambda: load_audio(path, cfg), path, AudioError)
    if audio is not None:
        assert audio.sample_rate == SAMPLE_RATE and audio.samples.dtype == np.float32
        assert audio.samples.ndim == 2 and audio.num_channels in (1, 2)
        assert np.isfinite(audio.samples).all()
    return audio


@given(st.binary(max_size=2000), suffixes)
def test_random_bytes_decode_or_name_the_file(tmp_path, raw, suffix):
    path = tmp_path / f"call{suffix}"
    path.write_bytes(raw)
    _decoded_or_our_error(path)


def test_wav_header_with_zero_bits_per_sample_is_our_error(tmp_path):
    """Found by the deep profile: PyAV gives no codec context, decode_audio raised AttributeError."""
    raw = bytearray(REAL[".wav"][:44])
    raw[34] = 0
    path = tmp_path / "call.wav"
    path.write_bytes(bytes(raw))
    assert _decoded_or_our_error(path) is None


@given(st.sampled_from(sorted(REAL)), st.data())
def test_truncated_or_damaged_wav_and_flac(tmp_path, suffix, data):
    raw = bytearray(REAL[suffix])
    raw = raw[: data.draw(st.integers(0, len(raw)), label="cut at")]
    for position in data.draw(st.lists(st.integers(0, 120), max_size=4), label="damaged bytes"):
        if position < len(raw):
            raw[position] = data.draw(st.integers(0, 255))
    path = tmp_path / f"call{suffix}"
    path.write_bytes(bytes(raw))
    _decoded_or_our_error(path)


@given(st.sampled_from([1, 2, 7, 100, 4000, 8000, 11025, 22050, 44100, 48000, 96000, 192000, 384000])
       | st.integers(1, 400_000), st.integers(1, 8), st.integers(0, 3000), st.sampled_from(["WAV", "FLAC"]))
@example(sample_rate=1, channels=1, frames=22, fmt="WAV")  # deep profile: 22 s at 1 Hz decoded to 17 s
def test_odd_sample_rates_channel_counts_and_lengths(tmp_path, sample_rate, channels, frames, fmt):
    path = tmp_path / f"call.{fmt.lower()}"
    samples = (np.random.default_rng(frames).standard_normal((frames, channels)) * 0.1).astype(np.float32)
    try:
        sf.write(path, samples, sample_rate, format=fmt, subtype="PCM_16")
    except (sf.LibsndfileError, ValueError, RuntimeError):
        assume(False)  # a file no encoder writes
    audio = _decoded_or_our_error(path)
    if audio is not None and frames:
        assert abs(audio.duration_s - frames / sample_rate) < 0.1 + 2 / sample_rate


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 400))
def test_wav_header_lying_about_its_size(tmp_path, riff_size, data_size, payload):
    header = b"RIFF" + struct.pack("<I", riff_size) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", data_size)
    path = tmp_path / "call.wav"
    path.write_bytes(header + bytes(range(256)) * (payload // 256) + bytes(payload % 256))
    _decoded_or_our_error(path)


def test_too_long_is_refused_without_decoding_it_all(tmp_path):
    path = tmp_path / "long.flac"
    path.write_bytes(_encoded("FLAC", seconds=6.0))
    with_limit = AudioConfig(max_duration_s=2.0)
    assert valid_or_our_error(lambda: load_audio(path, with_limit), path, AudioError) is None
    try:
        decode_audio(path, max_duration_s=2.0)
    except AudioError as e:
        assert "audio.max_duration_s" in str(e) and "split the recording or raise the limit" in str(e)
    else:
        raise AssertionError("a recording over audio.max_duration_s decoded")


@given(st.binary(max_size=400) | st.sampled_from([REAL[".wav"][:60], REAL[".flac"][:200], b""]), suffixes)
def test_transcribe_command_on_bad_audio_exits_with_one_line(tmp_path, fake_model, raw, suffix):
    path = tmp_path / f"call{suffix}"
    path.write_bytes(raw)
    cli_fails_in_one_line(["transcribe", str(path), "--out", str(tmp_path / "out")])
