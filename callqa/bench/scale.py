"""``callqa bench --section scale [--calls N]``: a night of N calls through ``callqa run`` with the
threads runner and through a real local Dask cluster, at 100 calls and at N (default 1,000).

The night is the stereo dev calls repeated under new call ids (``night-00001`` ...): the audio
files are hard links to one copy of each, the manifest gives each a fresh id, agent and time. Decoding 1,000 calls is
about three hours on 2 cores, so the calls are not decoded again: the nightly flow's
content-addressed transcript cache (same audio bytes + same ASR config + same channel mapping =
one decode, whatever the call id; see ``flows.tasks.transcript_by_content``) is seeded with one
transcript per distinct recording, and every night then measures exactly the flow: discovery,
hashing, one ``transcribe-call`` task per call on the runner (a cache hit inside the task),
scoring, the database upsert, the reports. The output says so.

Seed: the transcripts the speed section made with this config (``<work_dir>/speed/...``) when
its config matches, else a warm-up night of the distinct recordings (decoded once, not timed).

Every night is a fresh subprocess with a fresh database and report folder. For Dask the bench
starts ``dask scheduler`` and two ``dask worker`` processes (``--nworkers 1 --nthreads 1``) and
stops them after the night; peak RSS is sampled (every 0.2 s) as the sum over the whole process
tree: ``callqa run`` with its children, the scheduler and both workers.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from callqa.bench.common import BenchContext, row
from flows.nightly import dask_night_env
from pipeline.audio import file_sha256
from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError
from pipeline.types import CallMeta, Transcript

SMALL_NIGHT = 100
_PARTS = {"threads": "callqa run", "dask": "callqa run / scheduler / worker / worker"}
DEFAULT_NIGHT = 1000
RSS_TOLERANCE = 0.10
SUMMARY = re.compile(r"(\d+) calls scored \((\d+) transcribed, (\d+) reused\), (\d+) failed, in ([\d.]+) s "
                     r"\(reports ([\d.]+) s\)")


def bench_scale(ctx: BenchContext) -> list[dict]:
    originals = _dev_rows(ctx)
    if not originals:
        return []
    big = ctx.calls or DEFAULT_NIGHT
    sizes = sorted({min(SMALL_NIGHT, big), big})
    root = ctx.work_dir / "scale"
    source = night_source(root / "source", originals, big)
    seeded_from = seed_transcripts(ctx, root / "seed", originals)
    rows = [row("scale: distinct recordings / calls per night", f"{len(originals)} / {', '.join(map(str, sizes))}"),
            row("scale: transcripts", f"content-addressed cache seeded from {seeded_from}; every call is a cache "
                "hit inside its transcribe-call task, so the nights measure the flow, not Whisper")]
    results: dict[tuple[str, int], dict] = {}
    for runner in ("threads", "dask"):
        for size in sizes:
            ctx.log(f"scale: {runner}, {size} calls")
            result = run_night(ctx.cfg, root / f"{runner}-{size}", source / f"manifest-{size}.csv", root / "seed",
                               runner=runner)
            if result["scored"] != size or result["failed"]:
                raise CallQAError(f"scale: {runner} night of {size} calls scored {result['scored']}, failed "
                                  f"{result['failed']}; see {root / f'{runner}-{size}' / 'run.log'}")
            results[runner, size] = result
            ctx.log(f"scale: {runner} {size}: {result}")
        small, large = results[runner, sizes[0]], results[runner, sizes[-1]]
        growth = large["peak_rss_gb"] / small["peak_rss_gb"] - 1
        marginal = ((large["flow_s"] - small["flow_s"]) / (sizes[-1] - sizes[0])) if len(sizes) > 1 else None
        for size in sizes:
            r = results[runner, size]
            rows += [
                row(f"scale {runner} {size}: wall time (whole command)", round(r["wall_s"], 1), "", None, "s"),
                row(f"scale {runner} {size}: flow time (reports)", f"{r['flow_s']:.1f} s ({r['report_s']:.1f} s)"),
                row(f"scale {runner} {size}: flow overhead per call", round(r["flow_s"] / size * 1000), "", None, "ms"),
                row(f"scale {runner} {size}: peak RSS, process tree (largest process)",
                    f"{r['peak_rss_gb']:.2f} GB ({r['peak_process_gb']:.2f} GB)"),
                row(f"scale {runner} {size}: peak RSS by part ({_PARTS[runner]})",
                    " / ".join(f"{gb:.2f}" for gb in r["peak_parts_gb"]), "", None, "GB"),
            ]
        if marginal is not None:
            rows.append(row(f"scale {runner}: marginal flow time per extra call", round(marginal * 1000), "", None,
                            "ms"))
        rows.append(row(f"scale {runner}: peak RSS {sizes[-1]} vs {sizes[0]} calls", f"{growth:+.1%}",
                        f"within ±{RSS_TOLERANCE:.0%}", abs(growth) <= RSS_TOLERANCE))
    return rows


def _dev_rows(ctx: BenchContext) -> list[dict]:
    folder = ctx.shared_eval / "calls"
    with (folder / "manifest.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"].endswith(".stereo.flac")]
    return [{**r, "file": str((folder / r["file"]).resolve())} for r in rows][: ctx.limit]


def night_source(folder: Path, originals: list[dict], size: int) -> Path:
    """``size`` calls under new ids, each a hard link to a local copy of one original in turn.

    Hard links, not symlinks: the manifest reader resolves symlinks and (rightly) refuses one
    recording listed twice; a hard link is another file for it, with the same bytes. The copies
    (one per distinct recording) keep the evaluation folder itself untouched.
    """
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / "originals"
    local.mkdir(exist_ok=True)
    rows = []
    for number in range(1, size + 1):
        original = originals[(number - 1) % len(originals)]
        copy = local / Path(original["file"]).name
        if not copy.exists():
            shutil.copyfile(original["file"], copy)
        name = f"night-{number:05d}.stereo.flac"
        link = folder / name
        if not link.exists():
            os.link(copy, link)
        rows.append({**original, "file": name, "call_id": f"night-{number:05d}"})
    for n in {min(SMALL_NIGHT, size), size}:
        with (folder / f"manifest-{n}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[:n])
    return folder


def seed_transcripts(ctx: BenchContext, seed: Path, originals: list[dict]) -> str:
    """Fill ``seed/transcripts/.by-content`` with one transcript per distinct recording."""
    from flows.tasks import content_path, save_transcript, transcription_key

    transcripts = seed / "transcripts"
    speed_dir = _matching_speed_output(ctx)
    done = 0
    for original in originals:
        meta = CallMeta(call_id=original["call_id"], layout=original.get("layout") or None,
                        agent_channel=int(original["agent_channel"]) if original.get("agent_channel") else None)
        key = transcription_key(file_sha256(original["file"]), meta, ctx.cfg)
        target = content_path(transcripts, key)
        if target.exists():
            done += 1
            continue
        made = speed_dir / f"{original['call_id']}.json" if speed_dir else None
        if made is not None and made.exists():
            save_transcript(target, Transcript.from_dict(json.loads(made.read_text(encoding="utf-8"))), key)
            done += 1
    if done == len(originals):
        return f"{speed_dir} (the speed section's `callqa transcribe` output, same config)" if speed_dir else \
            f"{transcripts} (an earlier warm-up night)"
    ctx.log(f"scale: warm-up night decodes the {len(originals)} distinct recordings once (not timed)")
    warm = seed / "warm-up"  # run_night empties its folder: the manifest lives beside it
    warm_source = night_source(seed / "warm-up-source", originals, len(originals))
    run_night(ctx.cfg, warm, warm_source / f"manifest-{len(originals)}.csv", None, runner="threads")
    for found in (warm / "reports" / "transcripts" / ".by-content").glob("*.json"):
        target = transcripts / ".by-content" / found.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
    return f"a warm-up night ({len(originals)} recordings decoded once)"


def _matching_speed_output(ctx: BenchContext) -> Path | None:
    """The speed section's folder of the configured setting, when it ran with this same config."""
    for config_path in sorted((ctx.work_dir / "speed").glob("*/config.json")):
        made_with = PipelineConfig.model_validate_json(config_path.read_text(encoding="utf-8"))
        if _transcription_view(made_with) == _transcription_view(ctx.cfg):
            return config_path.parent
    return None


def _transcription_view(cfg: PipelineConfig) -> str:
    from flows.tasks import TRANSCRIPTION_SECTIONS

    stable = cfg.model_copy(update={"asr": cfg.asr.model_copy(update={"cpu_threads": 0, "num_workers": 1})})
    return stable.fingerprint(*TRANSCRIPTION_SECTIONS)


def run_night(cfg: PipelineConfig, folder: Path, manifest: Path, seed: Path | None, *, runner: str) -> dict:
    """One ``callqa run`` in a fresh folder; wall, flow and report time, peak RSS of the process tree."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    reports = folder / "reports"
    if seed is not None:
        shutil.copytree(seed / "transcripts" / ".by-content", reports / "transcripts" / ".by-content")
    processes: list[subprocess.Popen] = []
    log = (folder / "run.log").open("w", encoding="utf-8")
    try:
        flow = {"task_runner": runner, "max_workers": 2}
        if runner == "dask":
            flow["dask_address"] = _start_dask(processes, log)
        night_cfg = PipelineConfig.model_validate({
            **cfg.model_dump(mode="json"), "flow": {**cfg.flow.model_dump(mode="json"), **flow},
            "report": {**cfg.report.model_dump(mode="json"), "out_dir": str(reports)},
            "store": {**cfg.store.model_dump(mode="json"), "url": f"sqlite:///{reports / 'callqa.db'}"},
        })
        config_path = folder / "config.json"
        config_path.write_text(night_cfg.model_dump_json(), encoding="utf-8")
        env = {**os.environ, "PREFECT_HOME": str(folder / ".prefect")}
        started = time.perf_counter()
        command = subprocess.Popen([sys.executable, "-m", "callqa.cli", "run", str(manifest), "--config",
                                    str(config_path)], stdout=log, stderr=subprocess.STDOUT, env=env)
        sampler = _TreeRss([command, *processes])
        code = command.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    output = (folder / "run.log").read_text(encoding="utf-8")
    found = SUMMARY.search(output)
    if code not in (0, 1) or found is None:
        raise CallQAError(f"scale: `callqa run` ({runner}) exited {code}; see {folder / 'run.log'}:\n{output[-1500:]}")
    scored, transcribed, reused, failed, flow_s, report_s = found.groups()
    return {"scored": int(scored), "transcribed": int(transcribed), "reused": int(reused), "failed": int(failed),
            "flow_s": float(flow_s), "report_s": float(report_s), "wall_s": wall,
            "peak_rss_gb": sampler.peak_total / 2**30, "peak_process_gb": sampler.peak_process / 2**30,
            "peak_parts_gb": [round(b / 2**30, 3) for b in sampler.peak_by_root]}


def _start_dask(processes: list[subprocess.Popen], log) -> str:
    """``dask scheduler`` and two ``dask worker`` processes on a free local port; the address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, **dask_night_env()}  # the bounded logs the README recommends for a night
    processes.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=env))
    for _ in range(2):
        processes.append(subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=env))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    return address


class _TreeRss:
    """Samples the summed RSS of some processes and all their descendants in a thread."""

    def __init__(self, roots: list[subprocess.Popen], every_s: float = 0.2) -> None:
        import psutil

        self._roots = [psutil.Process(p.pid) for p in roots]
        self._every_s = every_s
        self.peak_total = self.peak_process = 0
        self.peak_by_root = [0] * len(roots)  # each root with its descendants: where memory grows
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._done.is_set():
            seen: dict[int, int] = {}
            for index, root in enumerate(self._roots):
                try:
                    tree = {p.pid: p.memory_info().rss for p in [root, *root.children(recursive=True)]}
                except psutil.Error:
                    continue
                seen.update(tree)
                self.peak_by_root[index] = max(self.peak_by_root[index], sum(tree.values()))
            if seen:
                self.peak_total = max(self.peak_total, sum(seen.values()))
                self.peak_process = max(self.peak_process, max(seen.values()))
            self._done.wait(self._every_s)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
