"""Reviewer decisions (`callqa review`, Store.record_review): a new score, or one line saying what to fix."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import StoreError
from pipeline.scoring import finding_keys
from pipeline.store import open_store
from tests.fuzz.helpers import cli_fails_in_one_line
from tests.report_factory import finding, qa, transcript

words = st.text(max_size=12) | st.sampled_from(["", " ", "confirm", "reject", "CONFIRM", "c1", "1.0", "\x00",
                                                "'; DROP TABLE reviews; --", "您好"])


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A database with one scored call and its findings; returns (url, call_id, version, finding keys)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reviews') / 'callqa.db'}"
    call = qa("c1", findings=(finding(), finding("no_closing", weight=5, utterance_index=None, start_s=None,
                                                  needs_review=True)))
    with open_store(url) as store:
        run = store.start_run(run_id="n1", rulebook_id="default", rulebook_version="1.0")
        store.save_rulebook_version("default", "1.0", content="rules: []")
        store.save_call(transcript("c1"), call, run_id=run)
        store.finish_run(run, n_calls=1, n_failed=0)
    return url, "c1", "1.0", finding_keys(call.findings)


@given(st.data())
def test_any_decision_scores_or_says_what_to_fix(night, data):
    url, call_id, version, keys = night
    args = dict(
        call_id=data.draw(st.sampled_from([call_id]) | words, label="call_id"),
        rulebook_version=data.draw(st.sampled_from([version]) | words, label="version"),
        finding_key=data.draw(st.sampled_from(keys) | words, label="finding_key"),
    )
    decision = data.draw(st.sampled_from(["confirm", "reject"]) | words, label="decision")
    reviewer = data.draw(st.sampled_from(["ana"]) | words, label="reviewer")
    comment = data.draw(words, label="comment")
    with open_store(url) as store:
        try:
            score = store.record_review(args["call_id"], args["rulebook_version"], args["finding_key"],
                                        decision=decision, reviewer=reviewer, comment=comment)
        except StoreError as e:
            assert "\n" not in str(e) and len(str(e)) > 30, e
        else:
            assert 0 <= score.score <= 100


# A value starting with '-' reads as an option to click (usage error, exit 2): pass it after `--`.
plain = words.filter(lambda w: not w.startswith("-"))


@given(plain, plain, st.sampled_from(["confirm", "reject"]) | plain, plain)
def test_review_command_exits_with_one_line(night, call_id, key, decision, reviewer):
    url = night[0]
    cli_fails_in_one_line(["review", call_id or "c1", key or "k", "--decision", decision or "confirm",
                           "--reviewer", reviewer, "--rulebook-version", "1.0", "--db", url])


def test_review_on_a_missing_database_names_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'nowhere' / 'deep' / 'x.db'}"
    result = cli_fails_in_one_line(["review", "c1", "k", "--decision", "confirm", "--reviewer", "ana",
                                    "--rulebook-version", "1.0", "--db", url])
    assert result.exit_code != 0
