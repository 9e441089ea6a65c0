"""The labelled real dev set and the real-style fixtures stay well-formed and self-consistent.

These files are what the QA rules are measured on, so a label that points at the wrong turn or a
ref.json that drifts from calls.json would silently corrupt every score computed on them.
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import DATA, SHARED_EVAL

ACTS = {
    "problem_report", "complaint", "request", "question", "apology_empathy", "refusal_inability",
    "alternative_offer", "commitment_follow_up", "hold_announce", "hold_return", "thanks",
    "satisfaction", "give_up", "closing",
}
AGENT_ONLY = {"apology_empathy", "refusal_inability", "alternative_offer", "commitment_follow_up",
              "hold_announce", "hold_return"}
CUSTOMER_ONLY = {"problem_report", "complaint", "request", "question", "satisfaction", "give_up"}
TRISTATE = {"present", "missing", "not_needed"}
OUTCOMES = {"resolved", "unresolved", "follow_up"}
LABEL_KEYS = {"opening_greeting", "closing_farewell", "apology", "hold_thanks", "harsh_turns",
              "interruption_turns", "resolution"}

REALSTYLE = DATA / "realstyle"
JDDC_LABELS = DATA / "real_dev" / "jddc_labels.json"
REAL_TEXT = SHARED_EVAL / "real_text" / "cs_dialogues.jsonl"


def check_labels(labels: dict, speakers: list[str]) -> None:
    assert LABEL_KEYS <= set(labels)
    assert isinstance(labels["opening_greeting"], bool) and isinstance(labels["closing_farewell"], bool)
    assert labels["apology"] in TRISTATE and labels["hold_thanks"] in TRISTATE
    assert labels["resolution"] in OUTCOMES
    for index in labels["harsh_turns"] + labels["interruption_turns"]:
        assert speakers[index] == "agent"


def check_acts(acts: dict[int, list[str]], speakers: list[str]) -> None:
    for index, names in acts.items():
        assert set(names) <= ACTS, names
        if speakers[index] == "agent":
            assert not set(names) & CUSTOMER_ONLY, (index, names)
        else:
            assert not set(names) & AGENT_ONLY, (index, names)


def realstyle_calls() -> list[dict]:
    return json.loads((REALSTYLE / "calls.json").read_text(encoding="utf-8"))


def test_realstyle_calls_are_consistent_with_their_labels():
    calls = realstyle_calls()
    assert len(calls) >= 30
    assert len({c["call_id"] for c in calls}) == len(calls)
    for call in calls:
        turns = call["turns"]
        speakers = [t["speaker"] for t in turns]
        assert 8 <= len(turns) <= 24 and call["agent_voice"] != call["customer_voice"]
        check_labels(call["labels"], speakers)
        check_acts({i: t["acts"] for i, t in enumerate(turns)}, speakers)
        interrupting = [i for i, t in enumerate(turns) if t["speaker"] == "agent" and t.get("overlap")]
        assert call["labels"]["interruption_turns"] == interrupting
        announced = any("hold_announce" in t["acts"] for t in turns)
        # a hold is announced; an announced short look-up answered unmarked is none (SCHEMA.md)
        assert call["labels"]["hold_thanks"] == "not_needed" or announced, call["call_id"]


def test_realstyle_refs_match_what_build_refs_writes():
    spec = importlib.util.spec_from_file_location("build_refs", REALSTYLE / "build_refs.py")
    build_refs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_refs)
    for call in realstyle_calls():
        stored = json.loads((REALSTYLE / f"{call['call_id']}.ref.json").read_text(encoding="utf-8"))
        assert stored == build_refs.reference(call), f"rerun build_refs.py for {call['call_id']}"
        ends = [t["end"] for t in stored["turns"]]
        assert all(t["start"] < t["end"] for t in stored["turns"]) and stored["duration"] > max(ends)


def test_jddc_label_file_holds_ids_and_labels_only():
    data = json.loads(JDDC_LABELS.read_text(encoding="utf-8"))
    sessions = data["sessions"]
    assert len(sessions) >= 60 and len({s["dialog_id"] for s in sessions}) == len(sessions)
    for session in sessions:
        assert set(session) <= {"dialog_id", "labels", "acts"}
        assert set(session["labels"]) <= LABEL_KEYS | {"notes"}
        assert len(session["labels"].get("notes", "")) <= 40
        assert session["labels"]["interruption_turns"] == []


@pytest.mark.skipif(not REAL_TEXT.exists(), reason="shared eval data (real_text) not available")
def test_jddc_labels_point_at_jddc_sessions_in_file_order():
    rows = [json.loads(line) for line in REAL_TEXT.read_text(encoding="utf-8").splitlines() if line.strip()]
    jddc = [r for r in rows if r["source"].startswith("JDDC")]
    sessions = json.loads(JDDC_LABELS.read_text(encoding="utf-8"))["sessions"]
    assert [s["dialog_id"] for s in sessions] == [r["dialog_id"] for r in jddc[: len(sessions)]]
    for session, row in zip(sessions, jddc):
        speakers = [t["role"] for t in row["turns"]]
        check_labels(session["labels"], speakers)
        check_acts({int(i): names for i, names in session.get("acts", {}).items()}, speakers)


CHECK_SETS = sorted(p for p in DATA.glob("other_wording*") if (p / "calls.json").is_file())


def load_build_refs():
    spec = importlib.util.spec_from_file_location("build_scripted_refs", DATA / "build_scripted_refs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("folder", CHECK_SETS, ids=lambda p: p.name)
def test_check_set_labels_are_well_formed_and_refs_are_current(folder):
    calls = json.loads((folder / "calls.json").read_text(encoding="utf-8"))
    assert len({c["call_id"] for c in calls}) == len(calls) >= 20
    build_refs = load_build_refs()
    for call in calls:
        turns = call["turns"]
        speakers = [t["speaker"] for t in turns]
        check_labels(call["labels"], speakers)
        for turn in turns:  # these sets also tag the agent's own questions and requests
            assert set(turn["acts"]) <= ACTS, turn["acts"]
            assert turn["speaker"] == "agent" or not set(turn["acts"]) & AGENT_ONLY, (call["call_id"], turn)
        interrupting = [i for i, t in enumerate(turns) if t["speaker"] == "agent" and t.get("overlap")]
        assert call["labels"]["interruption_turns"] == interrupting, call["call_id"]
        stored = json.loads((folder / f"{call['call_id']}.ref.json").read_text(encoding="utf-8"))
        assert stored == build_refs.with_times(call), f"rerun build_scripted_refs.py {folder.name} for {call['call_id']}"
