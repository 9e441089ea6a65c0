"""Results history in a real database (SQLAlchemy 2 Core): SQLite file by default, PostgreSQL by URL.

Tables and their keys (every write is an upsert on these keys, so running the same night
twice leaves one row per call, score and finding):

========================  ==========================================  =========================
table                     key                                          what
========================  ==========================================  =========================
``runs``                  ``run_id``                                   one nightly (or manual) run
``rulebook_versions``     ``rulebook_id, version``                     rulebooks results refer to
``calls``                 ``call_id``                                  recording metadata, talk ratio
``utterances``            ``call_id, idx``                             the latest transcript
``scores``                ``call_id, rulebook_version``                QA outcome and score
``findings``              ``call_id, rulebook_version, finding_key``   evidence of each finding
``reviews``               ``call_id, rulebook_version, finding_key``   reviewer confirm / reject
``failures``              ``run_id, path``                             calls a run could not process
========================  ==========================================  =========================

Reviews are keyed like findings (not by row id), so they survive re-runs that rewrite the
findings; recording a review re-scores the call.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from pipeline.errors import StoreError
from pipeline.scorecards import call_metrics
from pipeline.scoring import (
    CallScore,
    Decision,
    ScoringOptions,
    finding_keys,
    finding_status,
    score_call,
)
from pipeline.types import CallMeta, CallQA, Finding, RoleAssignment, Transcript, Utterance

logger = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///reports/callqa.db"

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False, default="running"),
    Column("rulebook_id", String(128)),
    Column("rulebook_version", String(64)),
    Column("config_hash", String(64)),
    Column("pipeline_version", String(64)),
    Column("n_calls", Integer),
    Column("n_failed", Integer),
)

rulebook_versions = Table(
    "rulebook_versions", metadata,
    Column("rulebook_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("sha256", String(64)),
    Column("content", Text),
    Column("first_seen_at", DateTime, nullable=False),
)

calls = Table(
    "calls", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("agent_id", String(64), index=True),
    Column("recorded_at", DateTime, nullable=False, index=True),
    Column("recorded_at_known", Boolean, nullable=False),
    Column("source_path", Text),
    Column("layout", String(16)),
    Column("duration_s", Float),
    Column("model", String(256)),
    Column("pipeline_version", String(64)),
    Column("audio_sha256", String(64)),
    Column("role_method", String(32)),
    Column("role_confidence", Float),
    Column("warnings_json", Text),
    Column("agent_talk_s", Float),
    Column("customer_talk_s", Float),
    Column("talk_ratio", Float),
    Column("escalated", Boolean),
    Column("run_id", String(64)),
    Column("updated_at", DateTime, nullable=False),
)

utterances = Table(
    "utterances", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("speaker", String(16)),
    Column("start_s", Float),
    Column("end_s", Float),
    Column("text", Text),
    Column("raw_text", Text),
    Column("channel", Integer),
    Column("avg_logprob", Float),
    Column("words_json", Text),
)

scores = Table(
    "scores", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("rulebook_version", String(64), primary_key=True),
    Column("rulebook_id", String(128)),
    Column("agent_id", String(64), index=True),
    Column("recorded_at", DateTime, index=True),
    Column("score", Float, nullable=False),
    Column("category_scores_json", Text),
    Column("fatal", Boolean),
    Column("passed", Boolean),
    Column("deductions", Float),
    Column("pending_review_deductions", Float),
    Column("n_findings", Integer),
    Column("n_pending_review", Integer),
    Column("n_rejected", Integer),
    Column("resolution", String(32)),
    Column("resolution_evidence", Text),
    Column("needs_review", Boolean),
    Column("role_confidence", Float),
    Column("metrics_json", Text),
    Column("checks_json", Text),
    Column("run_id", String(64)),
    Column("updated_at", DateTime, nullable=False),
)

findings = Table(
    "findings", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("rulebook_version", String(64), primary_key=True),
    Column("finding_key", String(512), primary_key=True),
    Column("idx", Integer),
    Column("rule_id", String(128), index=True),
    Column("severity", String(32)),
    Column("weight", Float),
    Column("category", String(32)),
    Column("fatal", Boolean),
    Column("utterance_index", Integer),
    Column("start_s", Float),
    Column("end_s", Float),
    Column("speaker", String(16)),
    Column("quote", Text),
    Column("pattern", Text),
    Column("asr_confidence", Float),
    Column("needs_review", Boolean),
    Column("message", Text),
)

reviews = Table(
    "reviews", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("rulebook_version", String(64), primary_key=True),
    Column("finding_key", String(512), primary_key=True),
    Column("rule_id", String(128), index=True),
    Column("decision", String(16), nullable=False),
    Column("reviewer", String(128), nullable=False),
    Column("comment", Text),
    Column("decided_at", DateTime, nullable=False),
)

failures = Table(
    "failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("call_id", String(128)),
    Column("error_type", String(128)),
    Column("message", Text),
    Column("recorded_at", DateTime, nullable=False),
    UniqueConstraint("run_id", "path", name="uq_failures_run_path"),
)

TABLES = ("runs", "rulebook_versions", "calls", "utterances", "scores", "findings", "reviews", "failures")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_time(value: str | date | datetime | None) -> datetime | None:
    """ISO text or date to a naive datetime (wall-clock time as recorded; offsets dropped)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError as e:
        raise StoreError(
            f"recorded_at: expected an ISO date/time such as 2026-11-02T09:00, got {value!r}; "
            "fix the manifest or the filename pattern"
        ) from e


def _range(since: str | date | datetime | None, until: str | date | datetime | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) bounds; a bare ``until`` date includes that whole day."""
    lo = parse_time(since)
    hi = parse_time(until)
    if hi is not None and (isinstance(until, date) and not isinstance(until, datetime) or (isinstance(until, str) and len(until) <= 10)):
        hi = hi + timedelta(days=1)
    return lo, hi


@dataclass(frozen=True, slots=True)
class SavedCall:
    """What :meth:`Store.save_call` wrote."""

    score: CallScore
    n_utterances: int
    n_findings: int


class Store:
    """Read and write callqa results; open it with :func:`open_store`."""

    def __init__(self, engine: Engine, scoring: ScoringOptions = ScoringOptions()) -> None:
        self.engine = engine
        self.scoring = scoring

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        run_id: str | None = None,
        rulebook_id: str = "",
        rulebook_version: str = "",
        config_hash: str = "",
        pipeline_version: str = "",
        started_at: datetime | None = None,
    ) -> str:
        """Record the start of a run; returns its id (re-using an id restarts that run)."""
        run_id = run_id or f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        row = dict(
            run_id=run_id, started_at=started_at or _now(), finished_at=None, status="running",
            rulebook_id=rulebook_id, rulebook_version=rulebook_version, config_hash=config_hash,
            pipeline_version=pipeline_version, n_calls=None, n_failed=None,
        )
        with self._begin() as conn:
            _upsert(conn, runs, [row], ("run_id",))
        return run_id

    def finish_run(self, run_id: str, *, n_calls: int, n_failed: int, status: str = "finished") -> None:
        with self._begin() as conn:
            result = conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(
                    finished_at=_now(), status=status, n_calls=n_calls, n_failed=n_failed
                )
            )
            if result.rowcount == 0:
                raise StoreError(f"run {run_id!r} not found in {self.url}; call start_run() first")

    def save_rulebook_version(self, rulebook_id: str, version: str, *, content: str = "", sha256: str = "") -> None:
        """Remember a rulebook version (first sighting time is kept on later saves)."""
        with self._begin() as conn:
            exists = conn.execute(
                select(rulebook_versions.c.version).where(
                    rulebook_versions.c.rulebook_id == rulebook_id, rulebook_versions.c.version == version
                )
            ).first()
            if exists is None:
                conn.execute(insert(rulebook_versions).values(
                    rulebook_id=rulebook_id, version=version, sha256=sha256, content=content,
                    first_seen_at=_now(),
                ))

    def save_call(
        self,
        transcript: Transcript,
        qa: CallQA,
        *,
        run_id: str | None = None,
        score: CallScore | None = None,
    ) -> SavedCall:
        """Upsert one call's transcript, QA findings and score.

        With ``score=None`` the call is scored here, applying review decisions already stored
        for its findings (a re-run keeps reviewers' work); pass a score to store it as is.
        """
        if transcript.call.call_id != qa.call_id:
            raise StoreError(
                f"save_call: transcript is for call {transcript.call.call_id!r} but the QA result "
                f"is for {qa.call_id!r}; pass the pair produced for the same call"
            )
        now = _now()
        recorded = parse_time(qa.recorded_at or transcript.call.recorded_at)
        metrics = call_metrics(transcript, qa)
        keys = finding_keys(qa.findings)
        with self._begin() as conn:
            if score is None:
                score = score_call(qa, self.scoring, decisions=self._decisions(conn, qa.call_id, qa.rulebook_version))
            _upsert(conn, calls, [dict(
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
            _upsert(conn, scores, [dict(
                call_id=qa.call_id,
                rulebook_version=qa.rulebook_version,
                rulebook_id=qa.rulebook_id,
                agent_id=qa.agent_id or transcript.call.agent_id,
                recorded_at=recorded or now,
                score=score.score,
                category_scores_json=json.dumps(score.category_scores),
                fatal=score.fatal,
                passed=score.passed,
                deductions=score.deductions,
                pending_review_deductions=score.pending_review_deductions,
                n_findings=score.n_findings,
                n_pending_review=score.n_pending_review,
                n_rejected=score.n_rejected,
                resolution=qa.resolution,
                resolution_evidence=qa.resolution_evidence,
                needs_review=qa.needs_review,
                role_confidence=qa.role_confidence,
                metrics_json=json.dumps(qa.metrics, ensure_ascii=False, default=float),
                checks_json=json.dumps(qa.checks, ensure_ascii=False),
                run_id=run_id,
                updated_at=now,
            )], ("call_id", "rulebook_version"))
            # Findings are replaced as a set: one that a re-run no longer produces must go.
            conn.execute(delete(findings).where(
                findings.c.call_id == qa.call_id, findings.c.rulebook_version == qa.rulebook_version
            ))
            if qa.findings:
                conn.execute(insert(findings), [
                    dict(call_id=qa.call_id, rulebook_version=qa.rulebook_version, finding_key=key,
                         idx=i, **f.to_dict())
                    for i, (key, f) in enumerate(zip(keys, qa.findings, strict=True))
                ])
        logger.debug("saved call %s (rulebook %s): score %.1f", qa.call_id, qa.rulebook_version, score.score)
        return SavedCall(score=score, n_utterances=len(transcript.utterances), n_findings=len(qa.findings))

    def record_failure(
        self, run_id: str, *, path: str | Path, error: BaseException | str, call_id: str | None = None
    ) -> None:
        """Record that a run could not process one file (once per run and path)."""
        error_type = type(error).__name__ if isinstance(error, BaseException) else "Error"
        with self._begin() as conn:
            _upsert(conn, failures, [dict(
                run_id=run_id, path=str(path), call_id=call_id, error_type=error_type,
                message=str(error), recorded_at=_now(),
            )], ("run_id", "path"))

    def record_review(
        self,
        call_id: str,
        rulebook_version: str,
        finding_key: str,
        *,
        decision: Decision,
        reviewer: str,
        comment: str = "",
        decided_at: datetime | None = None,
    ) -> CallScore:
        """Store a reviewer's confirm/reject of one finding and return the call's new score."""
        if decision not in ("confirm", "reject"):
            raise StoreError(f"review decision must be 'confirm' or 'reject', got {decision!r}")
        if not reviewer:
            raise StoreError("record_review: a reviewer name is required so decisions can be audited")
        with self._begin() as conn:
            row = conn.execute(select(findings.c.rule_id).where(
                findings.c.call_id == call_id, findings.c.rulebook_version == rulebook_version,
                findings.c.finding_key == finding_key,
            )).first()
            if row is None:
                raise StoreError(
                    f"no finding {finding_key!r} for call {call_id!r} under rulebook version "
                    f"{rulebook_version!r} in {self.url}; take the key from findings.csv (finding_key)"
                )
            _upsert(conn, reviews, [dict(
                call_id=call_id, rulebook_version=rulebook_version, finding_key=finding_key,
                rule_id=row.rule_id, decision=decision, reviewer=reviewer, comment=comment,
                decided_at=decided_at or _now(),
            )], ("call_id", "rulebook_version", "finding_key"))
            qa = self._load_qa(conn, call_id, rulebook_version)
            new = score_call(qa, self.scoring, decisions=self._decisions(conn, call_id, rulebook_version))
            conn.execute(update(scores).where(
                scores.c.call_id == call_id, scores.c.rulebook_version == rulebook_version
            ).values(
                score=new.score, category_scores_json=json.dumps(new.category_scores), fatal=new.fatal,
                passed=new.passed, deductions=new.deductions,
                pending_review_deductions=new.pending_review_deductions, n_findings=new.n_findings,
                n_pending_review=new.n_pending_review, n_rejected=new.n_rejected,
            ))
        return new

    # -- reading -------------------------------------------------------------------------------

    def row_counts(self) -> dict[str, int]:
        """Rows per table (used to check that re-runs do not duplicate)."""
        with self._connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
                for name in TABLES
            }

    def calls_frame(
        self,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        *,
        rulebook_version: str | None = None,
    ) -> pd.DataFrame:
        """One row per call recorded in [since, until] with its score and call metrics.

        A call scored under several rulebook versions appears once: with ``rulebook_version``
        if given, else with its most recently written score.
        """
        lo, hi = _range(since, until)
        query = select(
            scores.c.call_id, calls.c.agent_id, calls.c.recorded_at, scores.c.rulebook_id,
            scores.c.rulebook_version, scores.c.score, scores.c.passed, scores.c.fatal,
            scores.c.deductions, scores.c.pending_review_deductions, scores.c.n_findings,
            scores.c.n_pending_review, scores.c.n_rejected, scores.c.resolution,
            scores.c.resolution_evidence, scores.c.needs_review, scores.c.role_confidence,
            calls.c.duration_s, calls.c.talk_ratio, calls.c.agent_talk_s, calls.c.customer_talk_s,
            calls.c.escalated, calls.c.source_path, calls.c.layout, calls.c.model,
            scores.c.run_id, scores.c.updated_at, scores.c.category_scores_json,
        ).join(calls, calls.c.call_id == scores.c.call_id)
        if lo is not None:
            query = query.where(calls.c.recorded_at >= lo)
        if hi is not None:
            query = query.where(calls.c.recorded_at < hi)
        if rulebook_version is not None:
            query = query.where(scores.c.rulebook_version == rulebook_version)
        frame = self._frame(query)
        if frame.empty:
            return empty_calls_frame()
        frame = (
            frame.sort_values(["updated_at", "rulebook_version"])
            .drop_duplicates("call_id", keep="last")
            .sort_values(["recorded_at", "call_id"])
            .reset_index(drop=True)
        )
        cats = pd.DataFrame([json.loads(s or "{}") for s in frame.pop("category_scores_json")])
        for col in cats.columns:
            frame[f"cat_{col}"] = cats[col].to_numpy()
        for col in ("passed", "fatal", "needs_review", "escalated"):
            frame[col] = frame[col].astype(bool)
        frame["recorded_at"] = pd.to_datetime(frame["recorded_at"])
        return frame

    def findings_frame(self, calls_frame: pd.DataFrame) -> pd.DataFrame:
        """Findings of the calls (and rulebook versions) in ``calls_frame``, with review status.

        ``status`` is ``counted``, ``pending_review``, ``confirmed`` or ``rejected``.
        """
        if calls_frame.empty:
            return empty_findings_frame()
        pairs = set(zip(calls_frame["call_id"], calls_frame["rulebook_version"], strict=True))
        ids = sorted({c for c, _ in pairs})
        parts = []
        for chunk in _chunks(ids, 500):
            query = select(
                findings, reviews.c.decision, reviews.c.reviewer, reviews.c.comment, reviews.c.decided_at,
            ).outerjoin(reviews, (reviews.c.call_id == findings.c.call_id)
                        & (reviews.c.rulebook_version == findings.c.rulebook_version)
                        & (reviews.c.finding_key == findings.c.finding_key)
                        ).where(findings.c.call_id.in_(chunk))
            parts.append(self._frame(query))
        frame = pd.concat(parts, ignore_index=True) if parts else empty_findings_frame()
        if frame.empty:
            return empty_findings_frame()
        keep = [(c, v) in pairs for c, v in zip(frame["call_id"], frame["rulebook_version"], strict=True)]
        frame = frame[keep].copy()
        if frame.empty:
            return empty_findings_frame()
        frame["status"] = [
            finding_status(Finding(rule_id=r, severity="", weight=0.0, needs_review=bool(nr)),
                           d if isinstance(d, str) else None)
            for r, nr, d in zip(frame["rule_id"], frame["needs_review"], frame["decision"], strict=True)
        ]
        meta = calls_frame.set_index("call_id")
        frame["agent_id"] = frame["call_id"].map(meta["agent_id"])
        frame["recorded_at"] = frame["call_id"].map(meta["recorded_at"])
        for col in ("fatal", "needs_review"):
            frame[col] = frame[col].astype(bool)
        return frame.sort_values(["recorded_at", "call_id", "idx"]).reset_index(drop=True)

    def failures_frame(
        self,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        *,
        run_id: str | None = None,
    ) -> pd.DataFrame:
        """Failed files, by the time the failure was recorded (or of one run)."""
        lo, hi = _range(since, until)
        query = select(failures)
        if run_id is not None:
            query = query.where(failures.c.run_id == run_id)
        if lo is not None:
            query = query.where(failures.c.recorded_at >= lo)
        if hi is not None:
            query = query.where(failures.c.recorded_at < hi)
        frame = self._frame(query.order_by(failures.c.recorded_at))
        if frame.empty:
            return pd.DataFrame(columns=["run_id", "path", "call_id", "error_type", "message", "recorded_at"])
        return frame.drop(columns=["id"])

    def rule_precision(self) -> pd.DataFrame:
        """Per rule: reviewed findings, confirmed, rejected and precision = confirmed / reviewed."""
        with self._connect() as conn:
            rows = conn.execute(
                select(reviews.c.rule_id, reviews.c.decision, func.count().label("n"))
                .group_by(reviews.c.rule_id, reviews.c.decision)
            ).all()
        table: dict[str, dict[str, int]] = {}
        for rule_id, decision, n in rows:
            table.setdefault(rule_id, {"confirm": 0, "reject": 0})[decision] = n
        out = pd.DataFrame(
            [{"rule_id": r, "confirmed": d["confirm"], "rejected": d["reject"]} for r, d in sorted(table.items())],
            columns=["rule_id", "confirmed", "rejected"],
        )
        out["reviewed"] = out["confirmed"] + out["rejected"]
        out["precision"] = (out["confirmed"] / out["reviewed"]).where(out["reviewed"] > 0)
        return out

    def load_transcript(self, call_id: str) -> Transcript:
        """Rebuild a call's stored transcript."""
        with self._connect() as conn:
            call = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
            if call is None:
                raise StoreError(f"call {call_id!r} is not in {self.url}; was it processed in this database?")
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

    def load_qa(self, call_id: str, rulebook_version: str) -> CallQA:
        """Rebuild a call's stored QA result under one rulebook version."""
        with self._connect() as conn:
            return self._load_qa(conn, call_id, rulebook_version)

    # -- helpers -------------------------------------------------------------------------------

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One transaction; database errors become a StoreError naming the database."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise StoreError(f"database {self.url}: write failed and was rolled back: {e}") from e

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise StoreError(f"database {self.url}: read failed: {e}") from e

    def _frame(self, query: Any) -> pd.DataFrame:
        with self._connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))

    @staticmethod
    def _decisions(conn: Connection, call_id: str, rulebook_version: str) -> dict[str, Decision]:
        rows = conn.execute(select(reviews.c.finding_key, reviews.c.decision).where(
            reviews.c.call_id == call_id, reviews.c.rulebook_version == rulebook_version
        )).all()
        return {key: decision for key, decision in rows}

    def _load_qa(self, conn: Connection, call_id: str, rulebook_version: str) -> CallQA:
        row = conn.execute(select(scores).where(
            scores.c.call_id == call_id, scores.c.rulebook_version == rulebook_version
        )).mappings().first()
        if row is None:
            raise StoreError(
                f"no QA result for call {call_id!r} under rulebook version {rulebook_version!r} in {self.url}"
            )
        rows = conn.execute(select(findings).where(
            findings.c.call_id == call_id, findings.c.rulebook_version == rulebook_version
        ).order_by(findings.c.idx)).mappings().all()
        known = set(Finding.__dataclass_fields__)
        return CallQA(
            call_id=call_id,
            agent_id=row["agent_id"],
            rulebook_id=row["rulebook_id"] or "",
            rulebook_version=rulebook_version,
            resolution=row["resolution"] or "",
            findings=tuple(Finding(**{k: v for k, v in r.items() if k in known}) for r in rows),
            resolution_evidence=row["resolution_evidence"] or "",
            recorded_at=row["recorded_at"].isoformat(timespec="minutes") if row["recorded_at"] else None,
            role_confidence=row["role_confidence"] if row["role_confidence"] is not None else 1.0,
            needs_review=bool(row["needs_review"]),
            metrics=json.loads(row["metrics_json"] or "{}"),
            checks=json.loads(row["checks_json"] or "{}"),
        )


def empty_calls_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[
        "call_id", "agent_id", "recorded_at", "rulebook_id", "rulebook_version", "score", "passed",
        "fatal", "deductions", "pending_review_deductions", "n_findings", "n_pending_review",
        "n_rejected", "resolution", "resolution_evidence", "needs_review", "role_confidence",
        "duration_s", "talk_ratio", "agent_talk_s", "customer_talk_s", "escalated", "source_path",
        "layout", "model", "run_id", "updated_at",
    ])


def empty_findings_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[
        "call_id", "rulebook_version", "finding_key", "idx", *Finding.__dataclass_fields__,
        "decision", "reviewer", "comment", "decided_at", "status", "agent_id", "recorded_at",
    ])


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def upsert_statement(dialect: str, table: Table, row: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` for SQLite and PostgreSQL (same syntax, two dialects)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        raise StoreError(f"no native upsert for database dialect {dialect!r}; use SQLite or PostgreSQL")
    stmt = dialect_insert(table).values(**row)
    changed = {k: stmt.excluded[k] for k in row if k not in keys}
    if not changed:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)


def _upsert(conn: Connection, table: Table, rows: list[Mapping[str, Any]], keys: tuple[str, ...]) -> None:
    """Insert rows, or update every non-key column where a row with the same key exists."""
    dialect = conn.dialect.name
    for row in rows:
        if dialect in ("sqlite", "postgresql"):
            conn.execute(upsert_statement(dialect, table, row, keys))
        else:
            # Other databases: portable delete-then-insert inside the caller's transaction.
            conn.execute(delete(table).where(*(table.c[k] == row[k] for k in keys)))
            conn.execute(insert(table).values(**row))


def open_store(url: str | None = None, *, scoring: ScoringOptions = ScoringOptions()) -> Store:
    """Open (and create if needed) the results database at a SQLAlchemy URL.

    ``None`` means ``sqlite:///reports/callqa.db``; PostgreSQL needs the ``postgres`` extra,
    e.g. ``postgresql+psycopg://user:pass@host/callqa``.
    """
    url = url or DEFAULT_URL
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(
            f"database URL {url!r} is not a SQLAlchemy URL; use e.g. sqlite:///reports/callqa.db "
            "or postgresql+psycopg://user:pass@host/db"
        ) from e
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, future=True)
        metadata.create_all(engine)
    except ModuleNotFoundError as e:
        raise StoreError(
            f"the database driver for {parsed.drivername!r} is not installed ({e}); "
            "for PostgreSQL install callqa[postgres]"
        ) from e
    except SQLAlchemyError as e:
        raise StoreError(f"cannot open database {parsed.render_as_string(hide_password=True)}: {e}") from e
    return Store(engine, scoring)
