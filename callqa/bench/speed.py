"""``callqa bench --section speed``: the whole ``callqa transcribe`` command against a bare
faster-whisper loop, paired and interleaved, on the stereo dev calls.

Paired: every setting transcribes the same files in the same run. Interleaved: the files are cut
into blocks (``CALLQA_BENCH_BLOCK`` files, default 8) and each block is run by every setting in
turn, the order rotating from block to block, so a burst of load from other jobs on the machine
hits all settings alike. Every run is a fresh subprocess, so imports, model loading, audio
decoding and JSON writing all count, once per block for every setting.

The bare loop is what a user writes by hand to know who said what: ``WhisperModel(base, int8)``,
``decode_audio(path, split_stereo=True)`` and ``model.transcribe(channel, beam_size=5,
vad_filter=True, word_timestamps=True, ...)`` on each channel in turn, with the same decoding
options as the sequential pipeline, writing the segments as JSON. It is the reference of the
ratio target (≤ 0.75). ``bare mixed`` (faster-whisper's default for a stereo file: mixed to mono,
one pass, no speaker sides) can be added with ``CALLQA_BENCH_SPEED_SETTINGS``; its CER is over
the whole call, reference turns in time order.

CER of the callqa settings and of the per-channel loop is per speaker side (the stereo section's
measure).

Extra settings: ``CALLQA_BENCH_SPEED_SETTINGS='{"name": {"batch_size": 16, "cpu_threads": 1}}'``
(``asr`` overrides; the name ``bare mixed`` adds that loop).
"""
from __future__ import annotations

import csv
import json
import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from callqa.bench.common import BenchContext, call_scores, cer_counts, reference_turns, row, run_timed
from pipeline.config import PipelineConfig
from pipeline.models import resolve_whisper_model
from pipeline.transcribe import TranscribeOptions
from pipeline.types import Transcript

TARGET_RATIO = 0.75
BARE = "bare faster-whisper per channel"
BARE_MIXED = "bare mixed"

BARE_LOOP = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio
    model_path, device, compute_type, threads, kwargs, split, out, files = json.loads(sys.argv[1])
    model = WhisperModel(model_path, device=device, compute_type=compute_type, cpu_threads=threads)
    for path in files:
        sides = decode_audio(path, split_stereo=True) if split else [path]
        result = []
        for channel, audio in enumerate(sides):
            segments, _ = model.transcribe(audio, **kwargs)
            result += [{"channel": channel, "start": s.start, "end": s.end, "text": s.text} for s in segments]
        Path(out, Path(path).name.split(".")[0] + ".json").write_text(json.dumps(result, ensure_ascii=False))
""")


@dataclass(slots=True)
class Setting:
    name: str
    cfg: PipelineConfig | None = None  # None: a bare loop
    split: bool = False
    wall_s: float = 0.0
    peak_gb: float = 0.0
    runs: list[float] = field(default_factory=list)

    @property
    def bare(self) -> bool:
        return self.cfg is None


def speed_settings(cfg: PipelineConfig, extra: str | None = None) -> list[Setting]:
    """Bare loop, the configured pipeline, the sequential path, then any extra named settings."""
    asr = cfg.asr
    settings = [Setting(BARE, split=True),
                Setting(f"callqa (batch_size {asr.batch_size}, num_workers {asr.num_workers})", cfg)]
    if asr.batch_size > 1:
        settings.append(Setting("callqa sequential (batch_size 0)", _with_asr(cfg, {"batch_size": 0})))
    else:
        if asr.num_workers != 1:
            settings.append(Setting("callqa one channel at a time (num_workers 1)",
                                    _with_asr(cfg, {"num_workers": 1})))
        settings.append(Setting("callqa batched (batch_size 8)", _with_asr(cfg, {"batch_size": 8})))
    for name, overrides in json.loads(extra or "{}").items():
        if name == BARE_MIXED:
            settings.append(Setting(BARE_MIXED))
        else:
            settings.append(Setting(f"callqa {name}", _with_asr(cfg, overrides)))
    return settings


def _with_asr(cfg: PipelineConfig, overrides: dict) -> PipelineConfig:
    return PipelineConfig.model_validate({**cfg.model_dump(mode="json"), "asr": {**cfg.asr.model_dump(mode="json"),
                                                                                 **overrides}})


def dev_stereo_calls(ctx: BenchContext) -> list[Path]:
    folder = ctx.shared_eval / "calls"
    with (folder / "manifest.csv").open(encoding="utf-8") as handle:
        return [folder / r["file"] for r in csv.DictReader(handle) if r["file"].endswith(".stereo.flac")][: ctx.limit]


def audio_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return container.duration / 1_000_000


def bench_speed(ctx: BenchContext) -> list[dict]:
    files = dev_stereo_calls(ctx)
    if not files:
        return []
    block = int(os.environ.get("CALLQA_BENCH_BLOCK", "8"))
    settings = speed_settings(ctx.cfg, os.environ.get("CALLQA_BENCH_SPEED_SETTINGS"))
    root = ctx.work_dir / "speed"
    outs = {s.name: root / _slug(s.name) for s in settings}
    for folder in outs.values():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
    blocks = [files[i: i + block] for i in range(0, len(files), block)]
    for number, chunk in enumerate(blocks):
        order = settings[number % len(settings):] + settings[: number % len(settings)]
        for setting in order:
            ctx.log(f"speed: block {number + 1}/{len(blocks)}, {setting.name} on {len(chunk)} files")
            wall, peak, _ = run_timed(_command(setting, chunk, outs[setting.name], ctx))
            setting.wall_s += wall
            setting.runs.append(round(wall, 1))
            setting.peak_gb = max(setting.peak_gb, peak)
    audio_s = sum(audio_seconds(p) for p in files)
    bare_s = settings[0].wall_s
    rows = [row("speed: stereo dev calls / audio minutes", f"{len(files)} / {audio_s / 60:.1f}"),
            row("speed: load average at the end (1/5 min)", " / ".join(f"{x:.1f}" for x in os.getloadavg()[:2]))]
    for setting in settings:
        cer = _cer(setting, files, outs[setting.name])
        ratio = setting.wall_s / bare_s
        target = "" if setting.bare else f"≤ {TARGET_RATIO}"
        ok = None if setting.bare else ratio <= TARGET_RATIO
        rows += [
            row(f"{setting.name}: wall time", round(setting.wall_s, 1), "", None, "s"),
            row(f"{setting.name}: time / bare", round(ratio, 3), target, ok, "x"),
            row(f"{setting.name}: real-time factor", round(setting.wall_s / audio_s, 4), "", None, "x"),
            row(f"{setting.name}: CER", round(cer * 100, 2), "" if setting.bare else "≤ 17.5",
                None if setting.bare else cer <= 0.175, "%"),
            row(f"{setting.name}: peak RSS", round(setting.peak_gb, 2), "", None, "GB"),
        ]
        ctx.log(f"speed: {setting.name}: {setting.wall_s:.1f} s (blocks {setting.runs}), x{ratio:.3f}, "
                f"CER {cer:.2%}, {setting.peak_gb:.2f} GB")
    return rows


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def _command(setting: Setting, files: list[Path], out: Path, ctx: BenchContext) -> list[str]:
    if setting.bare:
        asr = ctx.cfg.asr
        # Same decoding options as the sequential pipeline, without hotwords: what a user writes by hand.
        options = TranscribeOptions.from_config(asr.model_copy(update={"hotwords": (), "batch_size": 0}))
        payload = [resolve_whisper_model(asr.model, asr.models_dir), asr.device, asr.compute_type, asr.cpu_threads,
                   options.whisper_kwargs(), setting.split, str(out), list(map(str, files))]
        return [sys.executable, "-c", BARE_LOOP, json.dumps(payload)]
    config_path = out / "config.json"
    config_path.write_text(setting.cfg.model_dump_json(), encoding="utf-8")
    return [sys.executable, "-m", "callqa.cli", "transcribe", *map(str, files), "--out", str(out),
            "--config", str(config_path)]


def _cer(setting: Setting, files: list[Path], out: Path) -> float:
    errors = chars = 0
    for path in files:
        call_id = path.name.split(".")[0]
        turns = reference_turns(path.with_name(f"{call_id}.ref.json"))
        data = json.loads((out / f"{call_id}.json").read_text(encoding="utf-8"))
        if setting.cfg is not None:
            scores = call_scores(Transcript.from_dict(data), turns)
            e, n = scores["errors"], scores["chars"]
        elif setting.split:
            e = n = 0
            for channel, speaker in ((0, "agent"), (1, "customer")):
                hyp = "".join(s["text"] for s in data if s["channel"] == channel)
                de, dn = cer_counts(hyp, "".join(t["text"] for t in turns if t["speaker"] == speaker))
                e, n = e + de, n + dn
        else:
            hyp = "".join(s["text"] for s in sorted(data, key=lambda s: s["start"]))
            e, n = cer_counts(hyp, "".join(t["text"] for t in sorted(turns, key=lambda t: t["start"])))
        errors, chars = errors + e, chars + n
    return errors / max(chars, 1)
