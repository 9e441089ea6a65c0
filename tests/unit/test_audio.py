"""Audio edge cases: telephone codecs, odd rates, silent channels, broken files."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio import check_audio, decode_audio, load_audio
from pipeline.config import AudioConfig
from pipeline.errors import AudioError
from tests.conftest import tone


def test_8khz_mulaw_is_resampled_to_16khz(make_wav):
    path = make_wav("call.wav", tone(2.0, 8000), 8000, subtype="ULAW")
    audio = decode_audio(path)
    assert audio.sample_rate == 16000
    assert audio.source_sample_rate == 8000
    assert audio.num_channels == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.02)
    assert np.abs(audio.samples).max() > 0.1


def test_alaw_and_48k_decode(make_wav):
    alaw = decode_audio(make_wav("a.wav", tone(1.0, 8000), 8000, subtype="ALAW"))
    hi = decode_audio(make_wav("hi.wav", tone(1.0, 48000), 48000))
    assert alaw.duration_s == pytest.approx(1.0, abs=0.02)
    assert hi.samples.shape == (1, 16000)


def test_stereo_channels_stay_separate(make_wav):
    left, right = tone(1.0, 8000, 200), np.zeros(8000, np.float32)
    audio = decode_audio(make_wav("s.flac", np.stack([left, right], axis=1), 8000, subtype="PCM_16"))
    assert audio.num_channels == 2
    assert np.abs(audio.channel(0)).max() > 0.1
    assert np.abs(audio.channel(1)).max() < 1e-3


def test_stereo_with_silent_channel_warns_naming_file(make_wav):
    both = np.stack([tone(2.0, 16000), np.zeros(32000, np.float32)], axis=1)
    path = make_wav("one_sided.wav", both)
    audio = load_audio(path, AudioConfig())
    assert len(audio.warnings) == 1
    assert "channel 1 is silent" in audio.warnings[0] and "one_sided.wav" in audio.warnings[0]


def test_all_silent_recording_is_rejected(make_wav):
    path = make_wav("silent.wav", np.zeros(32000, np.float32))
    with pytest.raises(AudioError, match="silent.wav: all-silent"):
        load_audio(path, AudioConfig())


def test_zero_length_file_is_rejected(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav: file is empty"):
        decode_audio(path)


def test_header_only_wav_is_rejected(make_wav):
    path = make_wav("header.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="header.wav"):
        load_audio(path, AudioConfig())


def test_corrupt_file_names_file_and_fix(tmp_path):
    path = tmp_path / "corrupt.flac"
    path.write_bytes(b"fLaC" + bytes(range(256)) * 40)
    with pytest.raises(AudioError, match=r"corrupt.flac: .*re-export"):
        decode_audio(path)


def test_truncated_file_still_decodes_or_fails_clearly(make_wav):
    path = make_wav("cut.wav", tone(3.0, 16000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    audio = decode_audio(path)  # PCM truncated mid-way keeps the part that is there
    assert 1.0 < audio.duration_s < 2.0


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        decode_audio(tmp_path / "nope.wav")


def test_too_long_and_too_short(make_wav):
    audio = decode_audio(make_wav("long.wav", tone(3.0, 16000)))
    with pytest.raises(AudioError, match="max_duration_s"):
        check_audio(audio, AudioConfig(max_duration_s=2))
    with pytest.raises(AudioError, match="empty or truncated"):
        check_audio(audio, AudioConfig(min_duration_s=5))
