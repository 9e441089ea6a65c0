"""ASR sections of ``callqa bench``: CER on real speech, and CER, speaker attribution, speed and
memory of the whole ``callqa transcribe`` command on stereo calls.

Speed is measured on whole commands in subprocesses (``callqa transcribe`` against a bare
faster-whisper script with the same decoding options on the same files, same run), so model
loading, audio decoding and JSON writing all count.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from callqa.bench.common import BARE_WHISPER, BenchContext, call_scores, cer_counts, reference_turns, row, run_timed
from pipeline.audio import decode_audio
from pipeline.config import PipelineConfig
from pipeline.transcribe import TranscribeOptions, load_whisper, transcribe_channel
from pipeline.types import Transcript


# --- sections --------------------------------------------------------------------------------
def bench_real_speech(ctx: BenchContext) -> list[dict]:
    """CER of the configured model on real single-speaker Mandarin utterances."""
    folder = ctx.shared_eval / "real_speech"
    with (folder / "transcripts.tsv").open(encoding="utf-8") as handle:
        items = list(csv.DictReader(handle, delimiter="\t"))[: ctx.limit]
    model, options = load_whisper(ctx.cfg.asr), TranscribeOptions.from_config(ctx.cfg.asr)
    errors = chars = 0
    audio_s = wall = 0.0
    for item in items:
        audio = decode_audio(folder / item["filename"])
        start = time.perf_counter()
        utterances = transcribe_channel(audio.mono(), model, options)
        wall += time.perf_counter() - start
        audio_s += audio.duration_s
        e, n = cer_counts("".join(u.text for u in utterances), item["text"])
        errors, chars = errors + e, chars + n
    cer = errors / max(chars, 1)
    ctx.log(f"real_speech: {len(items)} files, CER {cer:.2%}")
    return [
        row("real_speech CER", round(cer * 100, 2), "≤ 11", cer <= 0.11, "%"),
        row("real_speech real-time factor", round(wall / max(audio_s, 1e-9), 3), "", None, "x"),
    ]


def _stereo_set(ctx: BenchContext, name: str) -> tuple[list[Path], Path]:
    folder = ctx.shared_eval / name
    with (folder / "manifest.csv").open(encoding="utf-8") as handle:
        files = [folder / r["file"] for r in csv.DictReader(handle)][: ctx.limit]
    return files, folder


def bench_stereo(ctx: BenchContext) -> list[dict]:
    """Whole ``callqa transcribe`` on stereo calls vs bare faster-whisper: CER, attribution, speed, RSS."""
    from pipeline.models import resolve_whisper_model

    rows: list[dict] = []
    cfg = ctx.cfg.asr
    kwargs = TranscribeOptions.from_config(cfg).whisper_kwargs()
    model_path = resolve_whisper_model(cfg.model, cfg.models_dir)
    totals = {"pipeline_s": 0.0, "bare_s": 0.0, "audio_s": 0.0, "peak_gb": 0.0}
    for name, cer_target in (("calls", None), ("real_voice_calls", 0.15)):
        files, folder = _stereo_set(ctx, name)
        if not files:
            continue
        out = ctx.work_dir / f"{name}-stereo"
        config_args = []
        if ctx.cfg != PipelineConfig():
            config_path = ctx.work_dir / "bench-config.json"
            config_path.parent.mkdir(parents=True, exist_ok=True)
            config_path.write_text(ctx.cfg.model_dump_json(), encoding="utf-8")
            config_args = ["--config", str(config_path)]
        command = [sys.executable, "-m", "callqa.cli", "transcribe", *map(str, files), "--out", str(out),
                   *config_args]
        bare = [sys.executable, "-c", BARE_WHISPER, json.dumps(
            [model_path, cfg.device, cfg.compute_type, cfg.cpu_threads, kwargs, list(map(str, files))])]
        ctx.log(f"{name}: bare faster-whisper on {len(files)} files")
        bare_s, _, _ = run_timed(bare)
        ctx.log(f"{name}: callqa transcribe on {len(files)} files")
        pipeline_s, peak_gb, _ = run_timed(command)
        totals["pipeline_s"] += pipeline_s
        totals["bare_s"] += bare_s
        totals["peak_gb"] = max(totals["peak_gb"], peak_gb)
        sums = {"errors": 0, "chars": 0, "words": 0, "words_right": 0}
        for path in files:
            ref = folder / path.name.replace(".stereo.flac", ".ref.json")
            transcript = Transcript.from_dict(json.loads((out / f"{path.name.split('.')[0]}.json").read_text()))
            totals["audio_s"] += transcript.duration_s
            for key, value in call_scores(transcript, reference_turns(ref)).items():
                sums[key] += value
        cer = sums["errors"] / max(sums["chars"], 1)
        attribution = sums["words_right"] / max(sums["words"], 1)
        rows.append(row(f"{name} stereo CER", round(cer * 100, 2), f"≤ {cer_target:.0%}" if cer_target else "",
                        cer <= cer_target if cer_target else None, "%"))
        rows.append(row(f"{name} stereo word attribution", round(attribution * 100, 2), "≥ 98", attribution >= 0.98,
                        "%"))
        rows.append(row(f"{name} callqa/bare time", round(pipeline_s / bare_s, 3), "≤ 1.2", pipeline_s / bare_s <= 1.2,
                        "x"))
    if totals["audio_s"]:
        minutes = totals["audio_s"] / 60
        ratio = totals["pipeline_s"] / totals["bare_s"]
        rows += [
            row("callqa transcribe s / audio min", round(totals["pipeline_s"] / minutes, 2), "", None, "s"),
            row("bare faster-whisper s / audio min", round(totals["bare_s"] / minutes, 2), "", None, "s"),
            row("callqa / bare (all stereo)", round(ratio, 3), "≤ 1.2", ratio <= 1.2, "x"),
            row("peak RSS of callqa transcribe", round(totals["peak_gb"], 2), "≤ 3", totals["peak_gb"] <= 3, "GB"),
        ]
    return rows
