from __future__ import annotations

import pytest

from pipeline.scoring import CallScore, ScoringOptions, finding_keys, score_call
from tests.report_factory import finding, qa


def test_clean_call_scores_full_marks_in_every_category():
    s = score_call(qa())
    assert (s.score, s.passed, s.fatal, s.deductions) == (100.0, True, False, 0.0)
    assert s.category_scores == {"courtesy": 100.0, "language": 100.0, "resolution": 100.0, "process": 100.0}


def test_weights_deduct_and_feed_category_subscores():
    s = score_call(qa(findings=(
        finding("no_greeting", weight=5, category="courtesy", utterance_index=None, start_s=None, pattern=""),
        finding("harsh_negation", weight=15, category="language"),
        finding("unresolved", weight=10, category="resolution", utterance_index=None, start_s=None, pattern=""),
    )))
    assert s.score == 70.0 and s.deductions == 30.0 and not s.passed
    assert s.category_scores == {"courtesy": 95.0, "language": 85.0, "resolution": 90.0, "process": 100.0}
    assert (s.call_id, s.agent_id, s.recorded_at, s.rulebook_version) == ("c1", "A01", "2026-11-02T09:00", "1.0")


def test_fatal_finding_zeroes_the_score():
    s = score_call(qa(findings=(finding("abuse", weight=5, fatal=True),)))
    assert s.score == 0.0 and s.fatal and not s.passed
    assert s.category_scores["language"] == 95.0  # sub-scores still show where it went wrong


def test_review_flags_deduct_nothing_until_confirmed():
    flagged = finding("harsh_negation", weight=15, needs_review=True)
    call = qa(findings=(flagged,))
    pending = score_call(call)
    assert pending.score == 100.0 and pending.pending_review_deductions == 15.0 and pending.n_pending_review == 1
    key = finding_keys(call.findings)[0]
    confirmed = score_call(call, decisions={key: "confirm"})
    assert confirmed.score == 85.0 and confirmed.pending_review_deductions == 0.0
    assert score_call(call, decisions={key: "reject"}).score == 100.0


def test_pending_fatal_finding_is_not_fatal_yet():
    s = score_call(qa(findings=(finding("abuse", weight=5, fatal=True, needs_review=True),)))
    assert s.score == 100.0 and not s.fatal


def test_rejecting_an_unflagged_finding_removes_its_deduction():
    call = qa(findings=(finding(weight=20),))
    assert score_call(call, decisions={finding_keys(call.findings)[0]: "reject"}).score == 100.0


def test_repeated_rule_deducts_at_most_max_hits_per_rule():
    hits = tuple(finding(weight=10, utterance_index=i, start_s=float(i)) for i in range(5))
    assert score_call(qa(findings=hits)).score == 80.0
    assert score_call(qa(findings=hits), ScoringOptions(max_hits_per_rule=5)).score == 50.0


def test_score_never_goes_below_zero_and_pass_mark_is_an_option():
    s = score_call(qa(findings=tuple(finding(f"r{i}", weight=40) for i in range(4))))
    assert s.score == 0.0 and s.category_scores["language"] == 0.0
    call = qa(findings=(finding(weight=25),))
    assert not score_call(call).passed
    assert score_call(call, ScoringOptions(pass_score=70)).passed


def test_unknown_category_gets_its_own_subscore():
    s = score_call(qa(findings=(finding("x", weight=5, category="compliance"),)))
    assert s.category_scores["compliance"] == 95.0


def test_finding_keys_are_stable_and_unique():
    twice = (finding(), finding(), finding(utterance_index=None, pattern=""))
    assert finding_keys(twice) == ["harsh_negation@2:不归我们管", "harsh_negation@2:不归我们管#2",
                                   "harsh_negation@call:"]


def test_bad_decision_is_an_error():
    call = qa(findings=(finding(),))
    with pytest.raises(ValueError, match="confirm"):
        score_call(call, decisions={finding_keys(call.findings)[0]: "maybe"})


def test_call_score_round_trips_through_dict():
    s = score_call(qa(findings=(finding(),)))
    assert CallScore.from_dict(s.to_dict()) == s


def test_long_regex_patterns_give_short_stable_keys():
    long = finding(pattern="re:(明天|后天|过段时间|过几天|过两天|晚点|晚些|改天|下午|晚上|等会|等一会|回头)(再)?打来")
    key = finding_keys((long,))[0]
    assert len(key) < 80 and key == finding_keys((long,))[0] and key.startswith("harsh_negation@2:re:(明天|后天")
