"""``callqa bench``: accuracy, speed and memory on the evaluation sets, printed as one table.

Sections register in :data:`SECTIONS`; each returns rows ``{"metric", "value", "target", "ok"}``.
Speed is measured on whole commands in subprocesses (``callqa transcribe`` against a bare
faster-whisper script with the same decoding options on the same files, same run), so model
loading, audio decoding and JSON writing all count.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pipeline.audio import decode_audio
from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError
from pipeline.normalize import text_for_cer
from pipeline.transcribe import TranscribeOptions, load_whisper, transcribe_channel
from pipeline.types import Transcript


@dataclass(frozen=True, slots=True)
class BenchContext:
    shared_eval: Path
    cfg: PipelineConfig
    work_dir: Path
    limit: int | None
    log: Callable[[str], None]

    @property
    def asr_dir(self) -> Path | None:
        """Stereo transcripts of ``calls/`` made by the stereo section (later sections score them)."""
        folder = self.work_dir / "calls-stereo"
        return folder if any(folder.glob("*.json")) else None


def row(metric: str, value: float | str, target: str = "", ok: bool | None = None, unit: str = "") -> dict:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "ok": ok}


# --- shared measures -------------------------------------------------------------------------
def cer_counts(hypothesis: str, reference: str) -> tuple[int, int]:
    """(edit distance, reference length) on normalised, punctuation-free text."""
    hyp, ref = text_for_cer(hypothesis), text_for_cer(reference)
    return Levenshtein.distance(hyp, ref), len(ref)


def reference_turns(ref_path: Path) -> list[dict]:
    return json.loads(ref_path.read_text(encoding="utf-8"))["turns"]


def speaker_of_time(turns: list[dict], start: float, end: float) -> str:
    """The reference speaker whose turn overlaps [start, end] most (nearest turn if none)."""
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn["end"]) - max(start, turn["start"])
        if overlap > best_overlap:
            best, best_overlap = turn["speaker"], overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t["start"] - middle), abs(t["end"] - middle)))["speaker"]


def call_scores(transcript: Transcript, turns: list[dict]) -> dict:
    """CER per speaker side, and words attributed to the right speaker, for one call."""
    errors = chars = 0
    for speaker in ("agent", "customer"):
        hyp = "".join(u.text for u in transcript.utterances if u.speaker == speaker)
        ref = "".join(t["text"] for t in turns if t["speaker"] == speaker)
        e, n = cer_counts(hyp, ref)
        errors, chars = errors + e, chars + n
    words = [w for u in transcript.utterances for w in u.words]
    right = sum(1 for w in words if w.speaker == speaker_of_time(turns, w.start_s, w.end_s))
    return {"errors": errors, "chars": chars, "words": len(words), "words_right": right}


def run_timed(command: list[str]) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, the command's own peak RSS in GB, its output)."""
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if process.returncode:
        raise CallQAError(f"benchmark command failed ({process.returncode}): {' '.join(command[:4])} ...\n"
                          f"{output[-2000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024, output


BARE_WHISPER = textwrap.dedent("""
    import json, sys
    from faster_whisper import WhisperModel
    model_path, device, compute_type, threads, kwargs, files = json.loads(sys.argv[1])
    model = WhisperModel(model_path, device=device, compute_type=compute_type, cpu_threads=threads)
    for path in files:
        segments, _ = model.transcribe(path, **kwargs)
        list(segments)
""")


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
        command = [sys.executable, "-m", "pipeline.cli", "transcribe", *map(str, files), "--out", str(out),
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


def _optional_section(module: str, function: str) -> Callable[[BenchContext], list[dict]]:
    """Sections owned by later stages (diarization, rules) are looked up when they run."""

    def run(ctx: BenchContext) -> list[dict]:
        import importlib

        return getattr(importlib.import_module(module), function)(ctx)

    return run


SECTIONS: dict[str, Callable[[BenchContext], list[dict]]] = {
    "real_speech": bench_real_speech,
    "stereo": bench_stereo,
    "rules": _optional_section("pipeline.evaluate", "bench_rules"),  # rules agent: label F1, speed, real text
    # diarization agent: DER, role accuracy, word attribution and speed on the mono8k files
    "diarization": _optional_section("pipeline.diarization.bench", "bench_diarization"),
}


def run_bench(shared_eval: Path, cfg: PipelineConfig, *, sections: list[str] | None, limit: int | None,
              work_dir: Path, console) -> list[dict]:
    """Run the chosen sections, print one table, and save it as ``<work_dir>/bench.json``."""
    from rich.table import Table

    if not (shared_eval / "README.md").exists():
        raise CallQAError(f"{shared_eval}: evaluation data not found; pass --eval-dir pointing at shared/eval")
    unknown = set(sections or ()) - set(SECTIONS)
    if unknown:
        raise CallQAError(f"unknown bench section(s) {sorted(unknown)}; choose from {sorted(SECTIONS)}")
    ctx = BenchContext(shared_eval=shared_eval, cfg=cfg, work_dir=work_dir, limit=limit,
                       log=lambda message: console.log(message))
    rows: list[dict] = []
    for name in sections or SECTIONS:
        for item in SECTIONS[name](ctx):
            rows.append({"section": name, **item})
    table = Table(title=f"callqa bench (model {cfg.asr.model}, {cfg.asr.device}/{cfg.asr.compute_type}, "
                        f"{os.cpu_count()} cores)")
    for column in ("section", "metric", "value", "target", "ok"):
        table.add_column(column)
    for item in rows:
        ok = "" if item["ok"] is None else ("PASS" if item["ok"] else "FAIL")
        table.add_row(item["section"], item["metric"], f"{item['value']}{item['unit']}", item["target"], ok)
    console.print(table)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "bench.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows
