"""Decode any call recording once to 16 kHz float32, per channel, and check it is usable.

PyAV (FFmpeg) reads wav/flac/mp3/m4a/ogg/opus/amr and μ-law/A-law WAV at any sample rate;
everything is resampled to 16 kHz, the rate Whisper and the diarizers expect.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.config import AudioConfig
from pipeline.errors import AudioError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MIN_SOURCE_RATE = 1000  # below this a "recording" is a damaged header, not speech
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".amr", ".aac", ".wma")


@dataclass(frozen=True, slots=True, eq=False)
class Audio:
    """Decoded audio: ``samples`` has shape (channels, n) at ``sample_rate`` (16 kHz)."""

    samples: np.ndarray
    sample_rate: int
    source_path: str
    source_sample_rate: int
    source_codec: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def num_channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def channel(self, index: int) -> np.ndarray:
        return self.samples[index]

    def mono(self) -> np.ndarray:
        """Mix of all channels (what a mono recorder would have written)."""
        if self.num_channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0).astype(np.float32)

    def as_pyannote(self, channel: int | None = None) -> dict:
        """In-memory input for pyannote pipelines: ``{"waveform": (1, n) tensor, "sample_rate"}``."""
        import torch  # late: only diarization needs torch

        wave = self.mono() if channel is None else self.channel(channel)
        return {"waveform": torch.from_numpy(np.ascontiguousarray(wave)).unsqueeze(0), "sample_rate": self.sample_rate}


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Content hash of a recording: the cache key of everything computed from it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _too_long(path: Path, seconds: float, limit_s: float) -> AudioError:
    return AudioError(
        f"{path}: {seconds / 60:.0f} min long or more, more than audio.max_duration_s={limit_s:.0f} s; "
        "split the recording or raise the limit in the config"
    )


def decode_audio(path: str | Path, *, sample_rate: int = SAMPLE_RATE, max_duration_s: float | None = None) -> Audio:
    """Decode ``path`` to float32 (channels, n) at ``sample_rate`` without mixing channels.

    With ``max_duration_s``, decoding stops (:class:`AudioError`) as soon as the recording proves
    longer, so a runaway recording never fills memory.
    """
    import av  # late: keeps `import pipeline` light

    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path or the manifest entry")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes); re-export the recording from the recorder")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream found; expected a call recording (wav/flac/mp3/...)")
            stream = container.streams.audio[0]
            if stream.codec_context is None:  # e.g. a WAV header with 0 bits per sample
                raise AudioError(f"{path}: the audio stream has no codec FFmpeg can open (damaged or unsupported "
                                 "header); re-export the recording as WAV or FLAC")
            channels = max(1, min(stream.codec_context.channels or 1, 2))
            layout = "stereo" if channels == 2 else "mono"
            source_rate = stream.codec_context.sample_rate or 0
            if 0 < source_rate < MIN_SOURCE_RATE:
                raise AudioError(f"{path}: sample rate {source_rate} Hz is not a speech recording (telephone audio "
                                 f"is 8000 Hz); the header is damaged or wrong — re-export the recording")
            codec = stream.codec_context.name
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
            chunks = []
            limit = None if max_duration_s is None else int(max_duration_s * sample_rate) + sample_rate
            decoded = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    decoded += chunks[-1].shape[-1]
                if limit is not None and decoded > limit:
                    raise _too_long(path, decoded / sample_rate, max_duration_s)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as e:
        raise AudioError(
            f"{path}: cannot decode audio ({e.__class__.__name__}: {e}); the file is corrupt, truncated "
            "or not an audio format FFmpeg reads — re-export it as WAV or FLAC"
        ) from e
    if not chunks:
        raise AudioError(f"{path}: decodes to no samples (truncated or header-only file); re-export the recording")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return Audio(samples=samples, sample_rate=sample_rate, source_path=str(path),
                 source_sample_rate=source_rate, source_codec=codec)


def channel_dbfs(samples: np.ndarray) -> float:
    """RMS level of a signal in dBFS (−inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def check_audio(audio: Audio, cfg: AudioConfig) -> Audio:
    """Reject unusable recordings; return ``audio`` with warnings for suspicious channels.

    A stereo call with one silent channel is still transcribed (the other party may simply
    not be recorded), but the warning travels into the transcript for the reviewer.
    """
    path = audio.source_path
    if audio.duration_s < cfg.min_duration_s:
        raise AudioError(
            f"{path}: only {audio.duration_s:.2f} s of audio (minimum {cfg.min_duration_s} s); "
            "the recording is empty or truncated"
        )
    if audio.duration_s > cfg.max_duration_s:
        raise AudioError(
            f"{path}: {audio.duration_s / 60:.0f} min long, more than audio.max_duration_s="
            f"{cfg.max_duration_s:.0f} s; split the recording or raise the limit in the config"
        )
    levels = [channel_dbfs(audio.channel(i)) for i in range(audio.num_channels)]
    if all(level < cfg.silence_dbfs for level in levels):
        raise AudioError(
            f"{path}: all-silent recording (level {max(levels):.0f} dBFS, threshold {cfg.silence_dbfs} dBFS); "
            "check the recorder's input or lower audio.silence_dbfs"
        )
    warnings = list(audio.warnings)
    for index, level in enumerate(levels):
        if audio.num_channels > 1 and level < cfg.silence_dbfs:
            warnings.append(
                f"{path}: channel {index} is silent ({level:.0f} dBFS); only the other party was recorded"
            )
            logger.warning("%s: channel %d is silent (%.0f dBFS)", path, index, level)
    if audio.source_sample_rate and audio.source_sample_rate < 8000:
        warnings.append(f"{path}: sample rate {audio.source_sample_rate} Hz is below telephone quality (8 kHz)")
    return Audio(samples=audio.samples, sample_rate=audio.sample_rate, source_path=audio.source_path,
                 source_sample_rate=audio.source_sample_rate, source_codec=audio.source_codec,
                 warnings=tuple(warnings))


def load_audio(path: str | Path, cfg: AudioConfig) -> Audio:
    """Decode and check in one step: the entry point of every stage that takes a file."""
    return check_audio(decode_audio(path, max_duration_s=cfg.max_duration_s), cfg)
