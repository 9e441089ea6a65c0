"""Calls and their utterances: the latest transcript of each call, written and read back."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from pipeline.errors import StoreError
from pipeline.store.database import upsert
from pipeline.store.schema import calls, utterances
from pipeline.types import CallMeta, CallQA, RoleAssignment, Transcript, Utterance


def write_call(
    conn: Connection,
    transcript: Transcript,
    qa: CallQA,
    *,
    metrics: dict[str, Any],
    recorded: datetime | None,
    run_id: str | None,
    now: datetime,
) -> None:
    """Upsert the call's row and replace its utterances."""
    upsert(conn, calls, [dict(
        call_id=qa.call_id,
        agent_id=qa.agent_id or transcript.call.agent_id,
        recorded_at=recorded or now,
        recorded_at_known=recorded is not None,
        source_path=transcript.call.source_path,
        layout=transcript.layout,
        duration_s=transcript.duration_s,
        model=transcript.model,
        pipeline_version=transcript.pipeline_version,
        audio_sha256=transcript.audio_sha256,
        role_method=transcript.roles.method,
        role_confidence=transcript.roles.confidence,
        warnings_json=json.dumps(list(transcript.warnings), ensure_ascii=False),
        agent_talk_s=metrics["agent_talk_s"],
        customer_talk_s=metrics["customer_talk_s"],
        talk_ratio=metrics["talk_ratio"],
        escalated=bool(metrics["escalated"]),
        run_id=run_id,
        updated_at=now,
    )], ("call_id",))
    conn.execute(delete(utterances).where(utterances.c.call_id == qa.call_id))
    if transcript.utterances:
        conn.execute(insert(utterances), [dict(
            call_id=qa.call_id, idx=i, speaker=u.speaker, start_s=u.start_s, end_s=u.end_s,
            text=u.text, raw_text=u.raw_text, channel=u.channel, avg_logprob=u.avg_logprob,
            words_json=json.dumps([w.to_dict() for w in u.words], ensure_ascii=False),
        ) for i, u in enumerate(transcript.utterances)])


def load_transcript(conn: Connection, call_id: str, *, url: str) -> Transcript:
    call = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
    if call is None:
        raise StoreError(f"call {call_id!r} is not in {url}; was it processed in this database?")
    rows = conn.execute(
        select(utterances).where(utterances.c.call_id == call_id).order_by(utterances.c.idx)
    ).mappings().all()
    return Transcript(
        call=CallMeta(
            call_id=call_id, source_path=call["source_path"] or "", agent_id=call["agent_id"],
            recorded_at=call["recorded_at"].isoformat(timespec="minutes") if call["recorded_at_known"] else None,
            layout=call["layout"],
        ),
        duration_s=call["duration_s"] or 0.0,
        utterances=tuple(
            Utterance(
                speaker=r["speaker"], start_s=r["start_s"], end_s=r["end_s"], text=r["text"] or "",
                raw_text=r["raw_text"] or "", channel=r["channel"], avg_logprob=r["avg_logprob"] or 0.0,
                words=tuple(),
            ) for r in rows
        ),
        layout=call["layout"] or "stereo",
        model=call["model"] or "",
        pipeline_version=call["pipeline_version"] or "",
        audio_sha256=call["audio_sha256"] or "",
        roles=RoleAssignment(confidence=call["role_confidence"] or 0.0, method=call["role_method"] or ""),
        warnings=tuple(json.loads(call["warnings_json"] or "[]")),
    )
