from __future__ import annotations

import re
from datetime import date

import openpyxl
import pandas as pd
import pytest

from pipeline.report import find_audio, report_data_from_results, write_reports
from pipeline.store import open_store
from tests.report_factory import finding, qa, transcript

PII = ("13812345678", "建国路88号")


def results():
    out = []
    for i in range(7):
        agent = ("A01", "A02", "A/3")[i % 3]
        day = f"2026-11-{2 + i:02d}T09:00"
        fs = (finding(weight=10 * (i % 3)), finding("no_closing", weight=5, category="courtesy",
                                                      utterance_index=None, start_s=None, pattern="",
                                                      needs_review=True),
              # a quote with a phone number in it: must be masked in findings.csv and the pages
              finding("escalation_request", weight=0, category="process", utterance_index=1, start_s=3.0,
                      quote="我的手机号是13812345678，宽带一直断，我要投诉", pattern="投诉")) if i % 3 else ()
        out.append((transcript(f"c{i}", agent, day), qa(f"c{i}", agent, day, findings=fs)))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report shared by the read-only tests below (writing it is the slow part)."""
    tmp_path = tmp_path_factory.mktemp("report")
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "c1.stereo.wav").write_bytes(b"RIFF")
    data = report_data_from_results(results(), since="2026-11-01", until="2026-11-30")
    return write_reports(data, tmp_path / "reports", run_date=date(2026, 11, 30), audio_root=tmp_path / "audio",
                         min_calls=3)


def test_all_outputs_are_written_under_the_run_date(report):
    assert report.root.parts[-2:] == ("reports", "2026-11-30")
    for path in (report.calls_csv, report.findings_csv, report.agents_csv, report.rules_csv, report.failures_csv,
                 report.scorecards_xlsx, report.index_html):
        assert path.is_file(), path
    assert len(report.call_pages) == 7 and set(report.agent_pages) == {"A01", "A02", "A/3"}
    assert report.agent_pages["A/3"].name == "A_3.html"  # ids are made safe for file names


def test_csv_contents(report):
    calls = pd.read_csv(report.calls_csv)
    assert len(calls) == 7 and {"score", "passed", "cat_language", "talk_ratio"} <= set(calls.columns)
    agents = pd.read_csv(report.agents_csv)
    assert list(agents["agent_id"]) == ["A01", "A02", "A/3"]
    assert list(agents["status"]) == ["ranked", "not enough calls", "not enough calls"]  # 3, 2, 2 calls
    findings = pd.read_csv(report.findings_csv)
    assert set(findings["status"]) == {"counted", "pending_review"} and "finding_key" in findings


def test_xlsx_has_overview_rules_and_one_sheet_per_agent(report):
    book = openpyxl.load_workbook(report.scorecards_xlsx, read_only=True)
    assert book.sheetnames == ["Overview", "Rules", "A01", "A02", "A_3"]
    header = [c.value for c in next(book["Overview"].iter_rows(max_row=1))]
    assert {"agent_id", "mean_score", "ci_low", "pass_rate", "trend"} <= set(header)


def test_no_personal_data_in_any_output(report):
    files = [p for p in report.root.rglob("*") if p.is_file() and p.suffix in (".csv", ".html")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in PII:
            assert secret not in text, f"{secret} leaked into {path}"
    cells = " ".join(str(c) for sheet in openpyxl.load_workbook(report.scorecards_xlsx).worksheets
                     for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
    assert not any(secret in cells for secret in PII)
    page = report.call_pages["c1"].read_text(encoding="utf-8")
    assert "[手机号]" in page and "[地址]" in page


def test_unredacted_report_only_on_request(tmp_path):
    data = report_data_from_results(results()[:2])
    paths = write_reports(data, tmp_path, run_date="2026-11-30", redact=False)
    assert "13812345678" in paths.call_pages["c0"].read_text(encoding="utf-8")


def test_call_page_has_player_findings_and_coloured_transcript(report):
    page = report.call_pages["c1"].read_text(encoding="utf-8")
    assert re.search(r'<audio id="player"[^>]+src="\.\./\.\./\.\./audio/c1\.stereo\.wav"', page)
    assert 'class="finding counted" data-start="12.5"' in page
    assert '<mark title="harsh_negation">这个不归我们管</mark>' in page
    assert 'class="utt agent' in page and 'class="utt customer' in page
    assert "Recording not available" in report.call_pages["c0"].read_text(encoding="utf-8")


def test_overview_and_agent_pages(report):
    index = report.index_html.read_text(encoding="utf-8")
    assert "<svg" in index and "not enough calls" in index and 'href="agents/A01.html"' in index
    assert "Findings waiting for review" in index
    agent = report.agent_pages["A02"].read_text(encoding="utf-8")
    assert "Coaching list" in agent and "不归我们管" in agent and "<polyline" in agent or "<circle" in agent
    assert "http://" not in index.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from the net


def test_report_from_store_with_copied_audio(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "c1.stereo.wav").write_bytes(b"RIFF")
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        run = store.start_run(run_id="r1")
        for t, q in results():
            store.save_call(t, q, run_id=run)
        store.record_failure(run, path="broken.wav", error="decode failed")
        paths = write_reports(store, tmp_path / "out", run_date="2026-11-30", since="2026-11-02",
                              until="2026-11-05", audio_root=audio, copy_audio=True)
    assert len(paths.call_pages) == 4
    assert (paths.root / "audio" / "c1.stereo.wav").is_file()
    assert 'src="../audio/c1.stereo.wav"' in paths.call_pages["c1"].read_text(encoding="utf-8")
    assert "broken.wav" in paths.failures_csv.read_text(encoding="utf-8")


def test_find_audio_prefers_source_path_then_call_id(tmp_path):
    (tmp_path / "x.mono8k.wav").write_bytes(b"")
    (tmp_path / "x.stereo.flac").write_bytes(b"")
    assert find_audio(transcript("x", source_path="elsewhere/x.mono8k.wav"), tmp_path).name == "x.mono8k.wav"
    assert find_audio(transcript("x", source_path="x.json"), tmp_path).name == "x.stereo.flac"
    assert find_audio(transcript("y"), tmp_path) is None


def test_empty_period_still_writes_every_file(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        paths = write_reports(store, tmp_path / "out", run_date="2026-11-30", since="2026-01-01", until="2026-01-31")
    assert paths.call_pages == {} and paths.agent_pages == {}
    assert paths.index_html.is_file() and pd.read_csv(paths.agents_csv).empty
    assert openpyxl.load_workbook(paths.scorecards_xlsx).sheetnames == ["Overview", "Rules"]


def test_cli_report_rebuilds_from_the_database(tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with open_store(url) as store:
        for t, q in results():
            store.save_call(t, q)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "--since", "2026-11-01", "--until", "2026-11-30", "--db", url,
                                      "--out", str(out), "--run-date", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert (out / "2026-12-01" / "index.html").is_file()
    assert len(pd.read_csv(out / "2026-12-01" / "calls.csv")) == 7
    bad = CliRunner().invoke(app, ["report", "--since", "2026-11-01", "--until", "2026-11-30", "--db", "nope"])
    assert bad.exit_code == 2 and "not a SQLAlchemy URL" in bad.output


def test_cli_review_rescores_the_call(tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with open_store(url) as store:
        for t, q in results()[:2]:
            store.save_call(t, q)
        key = store.findings_frame(store.calls_frame()).query("call_id == 'c1'")["finding_key"].iloc[0]
    args = ["review", "c1", key, "--decision", "reject", "--reviewer", "li", "--rulebook-version", "1.0", "--db", url]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with open_store(url) as store:
        assert store.calls_frame().set_index("call_id").loc["c1", "score"] == 100.0
    assert CliRunner().invoke(app, [*args[:4], "maybe", *args[5:]]).exit_code == 2
