"""End to end on the 40 labelled synthetic calls: reference transcripts -> rules -> scores ->
database -> reports. Skips when ../shared/eval/calls or the rules stage is absent.

Measures that agent rankings follow the labelled faults, that a second identical night leaves
the database unchanged, and that the reports (CSV, XLSX, HTML) are complete.
"""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline.report import write_reports
from pipeline.store import open_store
from tests.integration.test_report_browser import browser, serve  # noqa: F401 (fixtures)

CALLS = Path(__file__).resolve().parents[3] / "shared" / "eval" / "calls"
pytestmark = pytest.mark.skipif(not (CALLS / "calls.json").is_file(), reason=f"{CALLS} not present")


def labelled_faults(labels: dict) -> int:
    """Faults a labeller marked in one call (each harsh or interrupting turn counts once)."""
    return (
        (not labels["opening_greeting"]) + (not labels["closing_farewell"])
        + (labels["apology"] == "missing") + (labels["hold_thanks"] == "missing")
        + len(labels["harsh_turns"]) + len(labels["interruption_turns"])
        + (labels["resolution"] == "unresolved")
    )


@pytest.fixture(scope="module")
def results():
    rules = pytest.importorskip("pipeline.rules")
    evaluate = pytest.importorskip("pipeline.evaluate")
    if not hasattr(rules, "assess") or not hasattr(evaluate, "transcript_from_reference"):
        pytest.skip("pipeline.rules.assess / pipeline.evaluate.transcript_from_reference not available yet")
    rulebook = rules.load_rulebook()
    with (CALLS / "manifest.csv").open(encoding="utf-8") as f:
        manifest = {row["call_id"]: row for row in csv.DictReader(f)}
    out = []
    for ref in sorted(CALLS.glob("*.ref.json")):
        transcript = evaluate.transcript_from_reference(ref)
        row = manifest[transcript.call.call_id]
        transcript = replace(transcript, call=replace(
            transcript.call, agent_id=row["agent_id"], recorded_at=row["recorded_at"], source_path=row["file"]))
        out.append((transcript, rules.assess(transcript, rulebook)))
    return out


@pytest.fixture(scope="module")
def nightly(results, tmp_path_factory):
    """The same night stored twice in one SQLite file."""
    db = tmp_path_factory.mktemp("db") / "callqa.db"
    counts = []
    with open_store(f"sqlite:///{db}") as store:
        for _ in range(2):
            run = store.start_run(run_id="2026-11-16", rulebook_id=results[0][1].rulebook_id,
                                  rulebook_version=results[0][1].rulebook_version)
            store.save_rulebook_version(results[0][1].rulebook_id, results[0][1].rulebook_version)
            for transcript, qa in results:
                store.save_call(transcript, qa, run_id=run)
            store.finish_run(run, n_calls=len(results), n_failed=0)
            counts.append(store.row_counts())
        calls = store.calls_frame("2026-11-01", "2026-11-30")
        findings = store.findings_frame(calls)
    return db, counts, calls, findings


def test_rerun_leaves_one_row_per_call_and_finding(nightly, results):
    _, (first, second), calls, findings = nightly
    assert first == second
    assert first["calls"] == first["scores"] == len(calls) == 40 and first["rulebook_versions"] == 1
    assert first["findings"] == sum(len(qa.findings) for _, qa in results) == len(findings)


def test_agent_ranking_follows_labelled_faults(nightly):
    from pipeline.scorecards import build_scorecards

    _, _, calls, findings = nightly
    labels = {c["call_id"]: labelled_faults(c["labels"]) for c in json.loads((CALLS / "calls.json").read_text())}
    card = build_scorecards(calls, findings, min_calls=3).set_index("agent_id")
    faults = calls.assign(faults=calls["call_id"].map(labels)).groupby("agent_id")["faults"].mean()
    table = pd.DataFrame({"mean_score": card["mean_score"], "rank": card["rank"], "faults_per_call": faults})
    rho = table["mean_score"].corr(-table["faults_per_call"], method="spearman")
    call_rho = calls["score"].corr(-calls["call_id"].map(labels), method="spearman")
    print(f"\n{table.sort_values('rank').to_string()}\nagent Spearman rho = {rho:.3f}, call rho = {call_rho:.3f}")
    assert rho >= 0.8
    assert table["mean_score"].idxmax() == "A03"  # the only agent without labelled faults
    assert table["mean_score"].idxmin() == "A05"  # the most faults per call


def test_reports_from_the_database(nightly, tmp_path):
    db, _, calls, _ = nightly
    with open_store(f"sqlite:///{db}") as store:
        paths = write_reports(store, tmp_path, run_date=date(2026, 11, 17), since="2026-11-01",
                              until="2026-11-30", audio_root=CALLS)
    assert len(paths.call_pages) == 40 and len(paths.agent_pages) == 8
    assert len(pd.read_csv(paths.calls_csv)) == 40 and len(pd.read_csv(paths.agents_csv)) == 8
    book = openpyxl.load_workbook(paths.scorecards_xlsx, read_only=True)
    assert book.sheetnames[:2] == ["Overview", "Rules"]
    assert sorted(book.sheetnames[2:]) == sorted(calls["agent_id"].unique())  # agents in rank order
    page = paths.call_pages["dev-001"].read_text(encoding="utf-8")
    assert "dev-001.stereo.flac" in page


@pytest.mark.browser
def test_eval_report_in_chromium(nightly, tmp_path, browser, serve):  # noqa: F811 (fixtures imported above)
    """Every page of the 40-call report loads without console errors; a finding click seeks the audio."""
    from tests.integration.test_report_browser import check_call_page, screenshot_dir

    db, _, _, findings = nightly
    with open_store(f"sqlite:///{db}") as store:
        paths = write_reports(store, tmp_path, run_date=date(2026, 11, 17), since="2026-11-01",
                              until="2026-11-30", audio_root=CALLS, copy_audio=True)
    base = serve(paths.root)
    for page in [paths.index_html, *paths.agent_pages.values()]:
        browser.get(f"{base}/{page.relative_to(paths.root).as_posix()}")
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == [], page
    timed = findings[findings["start_s"].notna() & (findings["weight"] > 0)]
    call_id = timed.sort_values("weight", ascending=False)["call_id"].iloc[0]
    start = check_call_page(browser, f"{base}/calls/{call_id}.html", screenshot_dir(tmp_path) / f"eval-{call_id}.png")
    assert start in set(findings[findings["call_id"] == call_id]["start_s"].dropna())
