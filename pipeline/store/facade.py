"""The public face of the store: :class:`Store` delegates to one module per kind of record."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from pipeline.errors import StoreError
from pipeline.scorecards import call_metrics
from pipeline.scoring import CallScore, Decision, ScoringOptions, score_call
from pipeline.store import decisions, frames, results, run_log, transcripts
from pipeline.store.database import Database, open_engine
from pipeline.store.times import TimeLike, parse_time, utc_now
from pipeline.types import CallQA, Transcript

logger = logging.getLogger("pipeline.store")


@dataclass(frozen=True, slots=True)
class SavedCall:
    """What :meth:`Store.save_call` wrote."""

    score: CallScore
    n_utterances: int
    n_findings: int


class Store(Database):
    """Read and write callqa results; open it with :func:`open_store`.

    ``engine``, ``metadata``, ``begin()`` and ``connect()`` are public, so a package with tables
    of its own (the web app) can share the database and its error messages.
    """

    def __init__(self, engine: Engine, scoring: ScoringOptions = ScoringOptions()) -> None:
        super().__init__(engine)
        self.scoring = scoring

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
        with self.begin() as conn:
            return run_log.start_run(
                conn, run_id=run_id, rulebook_id=rulebook_id, rulebook_version=rulebook_version,
                config_hash=config_hash, pipeline_version=pipeline_version, started_at=started_at,
            )

    def finish_run(self, run_id: str, *, n_calls: int, n_failed: int, status: str = "finished") -> None:
        with self.begin() as conn:
            run_log.finish_run(conn, run_id, n_calls=n_calls, n_failed=n_failed, status=status, url=self.url)

    def save_rulebook_version(self, rulebook_id: str, version: str, *, content: str = "", sha256: str = "") -> None:
        """Remember a rulebook version (first sighting time is kept on later saves)."""
        with self.begin() as conn:
            run_log.save_rulebook_version(conn, rulebook_id, version, content=content, sha256=sha256)

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
        now = utc_now()
        recorded = parse_time(qa.recorded_at or transcript.call.recorded_at)
        metrics = call_metrics(transcript, qa)
        with self.begin() as conn:
            if score is None:
                stored = decisions.decisions_for(conn, qa.call_id, qa.rulebook_version)
                score = score_call(qa, self.scoring, decisions=stored)
            transcripts.write_call(conn, transcript, qa, metrics=metrics, recorded=recorded, run_id=run_id, now=now)
            results.write_score(conn, transcript, qa, score, recorded=recorded, run_id=run_id, now=now)
            results.write_findings(conn, qa)
        logger.debug("saved call %s (rulebook %s): score %.1f", qa.call_id, qa.rulebook_version, score.score)
        return SavedCall(score=score, n_utterances=len(transcript.utterances), n_findings=len(qa.findings))

    def record_failure(
        self, run_id: str, *, path: str | Path, error: BaseException | str, call_id: str | None = None
    ) -> None:
        """Record that a run could not process one file (once per run and path)."""
        with self.begin() as conn:
            run_log.record_failure(conn, run_id, path=path, error=error, call_id=call_id)

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
        decisions.check_review(decision, reviewer)
        with self.begin() as conn:
            decisions.write_review(
                conn, call_id, rulebook_version, finding_key, decision=decision, reviewer=reviewer,
                comment=comment, decided_at=decided_at or utc_now(), url=self.url,
            )
            qa = results.load_qa(conn, call_id, rulebook_version, url=self.url)
            new = score_call(qa, self.scoring, decisions=decisions.decisions_for(conn, call_id, rulebook_version))
            results.update_score(conn, call_id, rulebook_version, new)
        return new

    # -- reading -------------------------------------------------------------------------------

    def row_counts(self) -> dict[str, int]:
        """Rows per table (used to check that re-runs do not duplicate)."""
        with self.connect() as conn:
            return frames.row_counts(conn)

    def calls_frame(
        self, since: TimeLike = None, until: TimeLike = None, *, rulebook_version: str | None = None
    ) -> pd.DataFrame:
        """One row per call recorded in [since, until] with its score and call metrics.

        A call scored under several rulebook versions appears once: with ``rulebook_version``
        if given, else with its most recently written score.
        """
        return frames.calls_frame(self, since, until, rulebook_version=rulebook_version)

    def findings_frame(self, calls_frame: pd.DataFrame) -> pd.DataFrame:
        """Findings of the calls (and rulebook versions) in ``calls_frame``, with review status.

        ``status`` is ``counted``, ``pending_review``, ``confirmed`` or ``rejected``.
        """
        return frames.findings_frame(self, calls_frame)

    def failures_frame(
        self, since: TimeLike = None, until: TimeLike = None, *, run_id: str | None = None
    ) -> pd.DataFrame:
        """Failed files, by the time the failure was recorded (or of one run)."""
        return frames.failures_frame(self, since, until, run_id=run_id)

    def rule_precision(self) -> pd.DataFrame:
        """Per rule: reviewed findings, confirmed, rejected and precision = confirmed / reviewed."""
        with self.connect() as conn:
            return decisions.rule_precision(conn)

    def load_transcript(self, call_id: str) -> Transcript:
        """Rebuild a call's stored transcript."""
        with self.connect() as conn:
            return transcripts.load_transcript(conn, call_id, url=self.url)

    def load_qa(self, call_id: str, rulebook_version: str) -> CallQA:
        """Rebuild a call's stored QA result under one rulebook version."""
        with self.connect() as conn:
            return results.load_qa(conn, call_id, rulebook_version, url=self.url)


def open_store(url: str | None = None, *, scoring: ScoringOptions = ScoringOptions()) -> Store:
    """Open (and create if needed) the results database at a SQLAlchemy URL.

    ``None`` means ``sqlite:///reports/callqa.db``; PostgreSQL needs the ``postgres`` extra,
    e.g. ``postgresql+psycopg://user:pass@host/callqa``.
    """
    return Store(open_engine(url), scoring)
