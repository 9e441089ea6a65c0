from __future__ import annotations

import os

import pytest

from pipeline.errors import StoreError
from pipeline.scoring import finding_keys
from pipeline.store import metadata, open_store
from tests.report_factory import finding, qa, transcript

POSTGRES_URL = os.environ.get("CALLQA_TEST_POSTGRES_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1/callqa_test


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same tests on a SQLite file and, when CALLQA_TEST_POSTGRES_URL is set, on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'callqa.db'}"
    elif POSTGRES_URL:
        url = POSTGRES_URL
    else:
        pytest.skip("set CALLQA_TEST_POSTGRES_URL to run the store tests on PostgreSQL")
    with open_store(url) as s:
        metadata.drop_all(s.engine)  # a shared server database starts each test empty
        metadata.create_all(s.engine)
        yield s


def night(store, run_id="n1", version="1.0", harsh_weight=15.0):
    run = store.start_run(run_id=run_id, rulebook_id="default", rulebook_version=version)
    store.save_rulebook_version("default", version, content="rules: []")
    for i, agent in enumerate(("A01", "A01", "A02")):
        cid = f"c{i}"
        fs = (finding(weight=harsh_weight), finding("no_closing", weight=5, category="courtesy",
                                                     utterance_index=None, start_s=None, pattern="",
                                                     needs_review=True))
        store.save_call(transcript(cid, agent, f"2026-11-0{i + 2}T10:00"),
                        qa(cid, agent, f"2026-11-0{i + 2}T10:00", findings=fs if i else (), version=version),
                        run_id=run)
    store.record_failure(run, path="/calls/bad.wav", error=ValueError("not audio"))
    store.finish_run(run, n_calls=3, n_failed=1)


def test_same_night_twice_keeps_one_row_per_call_and_finding(store):
    night(store)
    first = store.row_counts()
    night(store)
    assert store.row_counts() == first
    assert first == {"runs": 1, "rulebook_versions": 1, "calls": 3, "utterances": 15, "scores": 3,
                     "findings": 4, "reviews": 0, "failures": 1}


def test_new_rulebook_version_adds_scores_and_frames_pick_the_latest(store):
    night(store)
    night(store, run_id="n2", version="1.1", harsh_weight=30.0)
    counts = store.row_counts()
    assert (counts["calls"], counts["scores"], counts["findings"], counts["rulebook_versions"]) == (3, 6, 8, 2)
    calls = store.calls_frame("2026-11-01", "2026-11-30")
    assert list(calls["rulebook_version"]) == ["1.1"] * 3
    assert list(calls["score"]) == [100.0, 70.0, 70.0]
    old = store.calls_frame("2026-11-01", "2026-11-30", rulebook_version="1.0")
    assert list(old["score"]) == [100.0, 85.0, 85.0]


def test_date_range_includes_the_whole_last_day(store):
    night(store)
    assert list(store.calls_frame("2026-11-03", "2026-11-03")["call_id"]) == ["c1"]
    assert list(store.calls_frame("2026-11-02", "2026-11-03")["call_id"]) == ["c0", "c1"]
    assert store.calls_frame("2026-12-01", "2026-12-31").empty


def test_frames_have_scores_categories_and_metrics(store):
    night(store)
    calls = store.calls_frame("2026-11-01", "2026-11-30").set_index("call_id")
    assert calls.loc["c1", "cat_language"] == 85.0 and calls.loc["c1", "pending_review_deductions"] == 5.0
    assert bool(calls.loc["c1", "escalated"]) and 0 < calls.loc["c1", "talk_ratio"] < 1
    findings = store.findings_frame(calls.reset_index())
    assert sorted(findings["status"]) == ["counted", "counted", "pending_review", "pending_review"]
    assert set(findings["agent_id"]) == {"A01", "A02"}


def test_review_decisions_rescore_survive_reruns_and_feed_precision(store):
    night(store)
    call = qa("c1", findings=(finding(weight=15.0), finding("no_closing", weight=5, category="courtesy",
                                                             utterance_index=None, start_s=None, pattern="",
                                                             needs_review=True)))
    harsh_key, closing_key = finding_keys(call.findings)
    assert store.record_review("c1", "1.0", closing_key, decision="confirm", reviewer="li").score == 80.0
    assert store.record_review("c2", "1.0", harsh_key, decision="reject", reviewer="li", comment="polite").score == 100.0
    night(store)  # the nightly re-run must keep the decisions
    calls = store.calls_frame("2026-11-01", "2026-11-30").set_index("call_id")
    assert calls.loc["c1", "score"] == 80.0 and calls.loc["c2", "score"] == 100.0
    assert store.row_counts()["reviews"] == 2
    precision = store.rule_precision().set_index("rule_id")
    assert precision.loc["no_closing", "precision"] == 1.0 and precision.loc["harsh_negation", "precision"] == 0.0
    findings = store.findings_frame(calls.reset_index())
    rejected = findings[findings["status"] == "rejected"].iloc[0]
    assert (rejected["call_id"], rejected["reviewer"], rejected["comment"]) == ("c2", "li", "polite")


def test_review_of_unknown_finding_is_an_error(store):
    night(store)
    with pytest.raises(StoreError, match="no finding"):
        store.record_review("c1", "1.0", "nope@1:", decision="confirm", reviewer="li")
    with pytest.raises(StoreError, match="confirm"):
        store.record_review("c1", "1.0", "nope@1:", decision="ok", reviewer="li")


def test_transcript_and_qa_round_trip(store):
    night(store)
    t = store.load_transcript("c1")
    assert t.utterances == tuple(u.__class__(**{**u.to_dict(), "words": ()}) for u in transcript("c1", "A01").utterances)
    loaded = store.load_qa("c1", "1.0")
    assert len(loaded.findings) == 2 and loaded.findings[0].quote == "这个不归我们管"
    with pytest.raises(StoreError, match="not in"):
        store.load_transcript("zzz")


def test_failures_are_listed_per_run(store):
    night(store)
    failures = store.failures_frame(run_id="n1")
    assert list(failures["path"]) == ["/calls/bad.wav"] and failures.loc[0, "error_type"] == "ValueError"


def test_bad_url_and_mismatched_pair_are_errors(store):
    with pytest.raises(StoreError, match="not a SQLAlchemy URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match="same call"):
        store.save_call(transcript("a"), qa("b"))


def test_postgresql_upsert_compiles_to_on_conflict():
    from sqlalchemy.dialects import postgresql

    from pipeline.store import scores, upsert_statement

    stmt = upsert_statement("postgresql", scores, {"call_id": "c1", "rulebook_version": "1.0", "score": 90.0},
                            ("call_id", "rulebook_version"))
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (call_id, rulebook_version) DO UPDATE SET score = excluded.score" in sql
    with pytest.raises(StoreError, match="no native upsert"):
        upsert_statement("oracle", scores, {"call_id": "c1"}, ("call_id",))


def test_database_errors_become_store_errors(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as s:
        with s.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE scores")
        with pytest.raises(StoreError, match="rolled back") as written:
            s.save_call(transcript("c1"), qa("c1"))
        with pytest.raises(StoreError, match="read failed"):
            s.calls_frame()
    # One line naming the cause; no SQL echo with transcript values, no help link.
    message = str(written.value)
    assert "no such table: scores" in message
    assert "\n" not in message and "[SQL" not in message and "sqlalche.me" not in message


def test_edited_rulebook_under_a_used_version_is_refused(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as s:
        s.save_rulebook_version("default", "1.0.0", content="rules: [a]", sha256="a" * 64)
        s.save_rulebook_version("default", "1.0.0", content="rules: [a]", sha256="a" * 64)  # same file: fine
        with pytest.raises(StoreError, match=r"default 1\.0\.0 was changed.*raise `version:`"):
            s.save_rulebook_version("default", "1.0.0", content="rules: [b]", sha256="b" * 64)
        s.save_rulebook_version("default", "1.0.1", content="rules: [b]", sha256="b" * 64)
