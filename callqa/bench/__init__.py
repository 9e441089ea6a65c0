"""``callqa bench``: accuracy, speed and memory on the evaluation sets, printed as one table.

The benchmark harness is application code, not library code: it drives the library stages on
``shared/eval`` and compares them with bare faster-whisper. Sections register in
:data:`SECTIONS`; each returns rows ``{"metric", "value", "target", "ok", "unit"}``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from callqa.bench.common import BenchContext
from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError


def _optional_section(module: str, function: str) -> Callable[[BenchContext], list[dict]]:
    """Sections import their stages only when they run, so ``--section rules`` loads no ASR model."""

    def run(ctx: BenchContext) -> list[dict]:
        import importlib

        return getattr(importlib.import_module(module), function)(ctx)

    return run


SECTIONS: dict[str, Callable[[BenchContext], list[dict]]] = {
    "real_speech": _optional_section("callqa.bench.asr", "bench_real_speech"),
    "stereo": _optional_section("callqa.bench.asr", "bench_stereo"),
    # paired, interleaved: whole `callqa transcribe` per setting vs a bare faster-whisper loop
    "speed": _optional_section("callqa.bench.speed", "bench_speed"),
    # a night of N calls (default 1,000) vs 100 through `callqa run`: threads and a local Dask cluster
    "scale": _optional_section("callqa.bench.scale", "bench_scale"),
    "rules": _optional_section("callqa.bench.rules", "bench_rules"),  # label F1, speed, real text
    "real_dev": _optional_section("callqa.bench.real_dev", "bench_real_dev"),  # JDDC dev labels, real-style calls
    # diarization agent: DER, role accuracy, word attribution and speed on the mono8k files
    "diarization": _optional_section("callqa.bench.diarization", "bench_diarization"),
    # review workspace: page latency p50/p95 with the 40 eval calls, 20 concurrent clients for 60 s
    "web": _optional_section("callqa.bench.web", "bench_web"),
}


def run_bench(shared_eval: Path, cfg: PipelineConfig, *, sections: list[str] | None, limit: int | None,
              work_dir: Path, console, calls: int | None = None) -> list[dict]:
    """Run the chosen sections, print one table, and save it as ``<work_dir>/bench.json``."""
    from rich.table import Table

    if not (shared_eval / "README.md").exists():
        raise CallQAError(f"{shared_eval}: evaluation data not found; pass --eval-dir pointing at shared/eval")
    unknown = set(sections or ()) - set(SECTIONS)
    if unknown:
        raise CallQAError(f"unknown bench section(s) {sorted(unknown)}; choose from {sorted(SECTIONS)}")
    ctx = BenchContext(shared_eval=shared_eval, cfg=cfg, work_dir=work_dir, limit=limit,
                       log=lambda message: console.log(message), calls=calls)
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
