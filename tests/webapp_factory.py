"""A small results database with accounts for the web app tests (no Whisper, no rulebook)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.store import Store, open_store
from tests.report_factory import finding, qa, transcript
from webapp import auth
from webapp.db import create_web_tables

PASSWORD = "correct-horse-1"
USERS = (
    ("admin", "admin", None, None),
    ("reviewer", "qa_reviewer", None, None),
    ("lead.north", "team_lead", None, "north"),
    ("lead.south", "team_lead", None, "south"),
    ("agent.a01", "agent", "A01", "north"),
    ("agent.b01", "agent", "B01", "south"),
)
TRADITIONAL_LINES = (
    ("agent", "您好，請問有什麼可以幫您？"),
    ("customer", "我的寬頻一直斷線，已經三天了。"),
    ("agent", "這個不歸我們管，您找別的部門吧。"),
    ("agent", "好的，感謝來電，再見。"),
)


def write_tone(path: Path, seconds: float = 30.0, sample_rate: int = 8000) -> Path:
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    left = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    right = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    sf.write(path, np.stack([left, right], axis=1), sample_rate)
    return path


def build_workspace(url: str, audio_dir: Path) -> Store:
    """Calls of three agents in two teams, a Traditional-script call, recordings, six accounts."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(url)
    create_web_tables(store.engine)
    harsh = finding(weight=15.0, start_s=12.5, utterance_index=2)
    pending = finding("no_apology", weight=5.0, category="courtesy", needs_review=True, utterance_index=1,
                      start_s=4.5, quote="宽带一直断", pattern="宽带")
    calls = [
        (transcript("c1", "A01", "2026-11-02T09:00"), qa("c1", "A01", "2026-11-02T09:00", findings=(harsh, pending))),
        (transcript("c2", "A01", "2026-11-03T10:00"), qa("c2", "A01", "2026-11-03T10:00")),
        (transcript("c3", "A01", "2026-11-04T11:00"), qa("c3", "A01", "2026-11-04T11:00", findings=(harsh,))),
        (transcript("c4", "A02", "2026-11-04T12:00"), qa("c4", "A02", "2026-11-04T12:00")),
        (transcript("t1", "B01", "2026-11-05T09:30", lines=TRADITIONAL_LINES),
         qa("t1", "B01", "2026-11-05T09:30", findings=(finding(weight=15.0, start_s=9.0, quote="這個不歸我們管"),))),
    ]
    for tr, result in calls:
        write_tone(audio_dir / f"{tr.call.call_id}.stereo.wav")
        store.save_call(tr, result)
    for username, role, agent_id, team in USERS:
        auth.add_user(store.engine, username, PASSWORD, role=role, agent_id=agent_id, team=team)
    auth.set_team(store.engine, "A02", "north")
    return store
