"""Web section of ``callqa bench``: page latency of the review workspace and a concurrency run.

Loads the 40 labelled eval calls (reference transcripts, scored with the bundled rulebook) into
a temporary SQLite database, creates accounts and a few reviews and appeals, starts
``callqa serve`` in a subprocess, then

- requests every page once on the fresh server (cold: the first request loads the snapshot, the
  first search builds its index), then ``--requests`` times one after another (warm), signed in as
  a QA reviewer (the users page as the admin), and reports cold and warm p50 and p95 per page
  (target: < 300 ms);
- runs ``--clients`` concurrent clients (each its own session) for ``--duration`` seconds,
  cycling through the pages, and reports requests, errors and latency.

Run it alone with ``python -m callqa.bench.web [--eval-dir ../shared/eval]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from callqa.bench.common import row

PASSWORD = "bench-password-1"
TARGET_MS = 300.0


def load_eval_calls(calls_dir: Path, url: str) -> list[tuple[str, str]]:
    """Score the labelled calls into the database at ``url``; returns (call_id, agent_id) pairs."""
    from pipeline.evaluate import transcript_from_reference
    from pipeline.rules import assess, load_rulebook
    from pipeline.store import open_store

    rulebook = load_rulebook()
    start = datetime(2026, 11, 2, 9, 0)
    loaded = []
    with open_store(url) as store:
        for i, path in enumerate(sorted(calls_dir.glob("*.ref.json"))):
            transcript = transcript_from_reference(path)
            call_id = transcript.call.call_id
            recorded = start + timedelta(days=i % 20, hours=i % 7)  # four weeks of calls
            meta = dataclasses.replace(transcript.call, recorded_at=recorded.isoformat(timespec="minutes"),
                                       source_path=str(path.with_name(f"{call_id}.stereo.flac")))
            transcript = dataclasses.replace(transcript, call=meta)
            qa = dataclasses.replace(assess(transcript, rulebook), recorded_at=meta.recorded_at)
            store.save_call(transcript, qa)
            loaded.append((call_id, transcript.call.agent_id or ""))
    return loaded


def seed_workspace(url: str, agents: list[str]) -> None:
    """Accounts, a few reviews and an appeal, so every page has something to show."""
    from pipeline.store import open_store
    from webapp import auth, decisions
    from webapp.db import create_web_tables

    with open_store(url) as store:
        create_web_tables(store.engine)
        auth.add_user(store.engine, "bench.admin", PASSWORD, role="admin")
        reviewer = auth.add_user(store.engine, "bench.reviewer", PASSWORD, role="qa_reviewer")
        for agent_id in agents:
            auth.set_team(store.engine, agent_id, "bench")
        lead = auth.add_user(store.engine, "bench.lead", PASSWORD, role="team_lead", team="bench")
        agent = auth.add_user(store.engine, "bench.agent", PASSWORD, role="agent", agent_id=agents[0], team="bench")
        calls = store.calls_frame()
        findings = store.findings_frame(calls)
        counted = findings[findings["status"].isin(["counted", "pending_review"])]
        for i, f in enumerate(counted.head(6).itertuples()):
            decisions.review_finding(store, reviewer, f.call_id, f.rulebook_version, f.finding_key,
                                     decision="reject" if i % 3 == 0 else "confirm", comment="bench")
        findings = store.findings_frame(calls)  # after the reviews above
        mine = findings[(findings["agent_id"] == agents[0]) & (findings["status"] == "counted")]
        if not mine.empty:
            f = mine.iloc[0]
            appeal_id = decisions.file_appeal(store, agent, f["call_id"], f["rulebook_version"], f["finding_key"],
                                              reason="bench appeal")
            decisions.rule_appeal(store, lead, appeal_id, ruling="deny", team_of=auth.team_of(store.engine))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, audio_root: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [sys.executable, "-m", "callqa.cli", "serve", "--db", url, "--port", str(port), "--audio-root", str(audio_root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"callqa serve exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("callqa serve did not answer /healthz within 60 s")


def signed_in_client(base: str, username: str = "bench.reviewer"):
    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD, "next": "/"})
    if response.status_code not in (200, 303) or "callqa_session" not in client.cookies:
        raise RuntimeError(f"bench login failed: {response.status_code}")
    return client


REVIEWER, ADMIN = "bench.reviewer", "bench.admin"


def pages(calls: list[tuple[str, str]]) -> dict[str, tuple[str, dict[str, str], str]]:
    """page name -> (path, headers, user who opens it)."""
    call_id, agent_id = calls[len(calls) // 2]
    return {
        "overview /": ("/", {}, REVIEWER),
        "review queue": ("/queue", {}, REVIEWER),
        "call page": (f"/calls/{call_id}", {}, REVIEWER),
        "agent scorecard": (f"/agents/{agent_id}", {}, REVIEWER),
        "coaching pack": (f"/agents/{agent_id}/coaching", {}, REVIEWER),
        "search phrase": ("/search?q=%E8%AF%B7%E7%A8%8D%E7%AD%89", {}, REVIEWER),  # 请稍等
        "search rule+score": ("/search?rule=harsh_negation&max_score=90", {}, REVIEWER),
        "calibration": ("/calibration", {}, REVIEWER),
        "appeals": ("/appeals", {}, REVIEWER),
        "users (admin)": ("/admin/users", {}, ADMIN),
        "audio (64 KiB range)": (f"/calls/{call_id}/audio", {"Range": "bytes=0-65535"}, REVIEWER),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _timed_get(client, path: str, headers: dict) -> float:
    t0 = time.perf_counter()
    response = client.get(path, headers=headers)
    if response.status_code not in (200, 206):
        raise RuntimeError(f"{path}: HTTP {response.status_code}")
    return (time.perf_counter() - t0) * 1000


def measure_pages(base: str, targets: dict[str, tuple[str, dict, str]], requests: int) -> dict[str, dict[str, float]]:
    clients = {user: signed_in_client(base, user) for user in {t[2] for t in targets.values()}}
    cold = {name: _timed_get(clients[user], path, headers) for name, (path, headers, user) in targets.items()}
    out = {}
    for name, (path, headers, user) in targets.items():
        client = clients[user]
        client.get(path, headers=headers)  # one more warm-up
        times = []
        for _ in range(requests):
            times.append(_timed_get(client, path, headers))
        out[name] = {"cold": cold[name], "p50": statistics.median(times), "p95": _percentile(times, 0.95)}
    return out


def concurrent_run(base: str, targets: dict[str, tuple[str, dict, str]], clients: int, duration_s: float) -> dict[str, Any]:
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + duration_s
    users = {t[2] for t in targets.values()}
    sessions = [{user: signed_in_client(base, user) for user in users} for _ in range(clients)]
    order = list(targets.values())

    def work(i: int) -> None:
        k = i
        while time.monotonic() < stop:
            path, headers, user = order[k % len(order)]
            client = sessions[i][user]
            k += 1
            t0 = time.perf_counter()
            try:
                status = client.get(path, headers=headers).status_code
                problem = None if status in (200, 206) else f"{path}: HTTP {status}"
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                problem = f"{path}: {type(e).__name__}: {e}"
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
                if problem:
                    errors.append(problem)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {"requests": len(latencies), "errors": len(errors), "first_errors": errors[:5],
            "rps": len(latencies) / elapsed, "p50": statistics.median(latencies) if latencies else float("nan"),
            "p95": _percentile(latencies, 0.95) if latencies else float("nan")}


def run_web_bench(shared_eval: Path, *, requests: int = 30, clients: int = 20, duration_s: float = 60.0,
                  log: Callable[[str], None] = print) -> list[dict]:
    calls_dir = Path(shared_eval) / "calls"
    if not any(calls_dir.glob("*.ref.json")):
        raise FileNotFoundError(f"{calls_dir}: no *.ref.json eval calls; pass --eval-dir pointing at shared/eval")
    with tempfile.TemporaryDirectory(prefix="callqa-web-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'callqa.db'}"
        t0 = time.perf_counter()
        calls = load_eval_calls(calls_dir, url)
        seed_workspace(url, sorted({a for _, a in calls}))
        log(f"web: {len(calls)} eval calls scored and loaded in {time.perf_counter() - t0:.1f} s")
        port = _free_port()
        server = start_server(url, calls_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            targets = pages(calls)
            per_page = measure_pages(base, targets, requests)
            log(f"web: {clients} clients for {duration_s:.0f} s …")
            load = concurrent_run(base, targets, clients, duration_s)
        finally:
            server.terminate()
            server.wait(timeout=20)
    rows = []
    for name, t in per_page.items():
        rows.append(row(f"web {name}: cold, warm p50 / p95", f"{t['cold']:.0f}, {t['p50']:.0f} / {t['p95']:.0f}",
                        f"< {TARGET_MS:.0f}", t["p95"] < TARGET_MS, " ms"))
    rows.append(row(f"web {clients} clients × {duration_s:.0f} s: errors", load["errors"], "0", load["errors"] == 0))
    rows.append(row(f"web {clients} clients: requests (per s)", f"{load['requests']} ({load['rps']:.0f}/s)"))
    rows.append(row(f"web {clients} clients: latency p50 / p95", f"{load['p50']:.0f} / {load['p95']:.0f}", "", None, " ms"))
    for problem in load["first_errors"]:
        log(f"web error: {problem}")
    return rows


def bench_web(ctx: Any) -> list[dict]:
    """Rows for ``callqa bench --section web``."""
    return run_web_bench(ctx.shared_eval, log=ctx.log)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--requests", type=int, default=30, help="Sequential requests per page.")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of the concurrent run.")
    args = parser.parse_args(argv)
    rows = run_web_bench(args.eval_dir, requests=args.requests, clients=args.clients, duration_s=args.duration)
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        ok = "" if r["ok"] is None else ("PASS" if r["ok"] else "FAIL")
        print(f"{r['metric']:<{width}}  {r['value']}{r['unit']:<4} {r['target']:<7} {ok}")


if __name__ == "__main__":
    main()
