"""Runs, the rulebook versions they used, and the files they could not process."""
from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from pipeline.errors import StoreError
from pipeline.store.database import upsert
from pipeline.store.schema import failures, rulebook_versions, runs
from pipeline.store.times import utc_now


def start_run(
    conn: Connection,
    *,
    run_id: str | None,
    rulebook_id: str,
    rulebook_version: str,
    config_hash: str,
    pipeline_version: str,
    started_at: datetime | None,
) -> str:
    """Write a run as running; returns its id (a new one when ``run_id`` is None)."""
    run_id = run_id or f"{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    row = dict(
        run_id=run_id, started_at=started_at or utc_now(), finished_at=None, status="running",
        rulebook_id=rulebook_id, rulebook_version=rulebook_version, config_hash=config_hash,
        pipeline_version=pipeline_version, n_calls=None, n_failed=None,
    )
    upsert(conn, runs, [row], ("run_id",))
    return run_id


def finish_run(conn: Connection, run_id: str, *, n_calls: int, n_failed: int, status: str, url: str) -> None:
    result = conn.execute(
        update(runs).where(runs.c.run_id == run_id).values(
            finished_at=utc_now(), status=status, n_calls=n_calls, n_failed=n_failed
        )
    )
    if result.rowcount == 0:
        raise StoreError(f"run {run_id!r} not found in {url}; call start_run() first")


def save_rulebook_version(conn: Connection, rulebook_id: str, version: str, *, content: str, sha256: str) -> None:
    """Remember a rulebook version; an edited rulebook under a version already used is an error.

    Scores are kept per rulebook version, so a weight edited without a version bump would silently
    overwrite the history reviewers compare against.
    """
    exists = conn.execute(
        select(rulebook_versions.c.sha256).where(
            rulebook_versions.c.rulebook_id == rulebook_id, rulebook_versions.c.version == version
        )
    ).first()
    if exists is not None and exists.sha256 and sha256 and exists.sha256 != sha256:
        raise StoreError(
            f"rulebook {rulebook_id} {version} was changed since this database first used it "
            f"(sha256 {exists.sha256[:12]} then, {sha256[:12]} now); raise `version:` in the rulebook "
            "(e.g. to the next patch number) so earlier scores keep their meaning, then run again"
        )
    if exists is None:
        conn.execute(insert(rulebook_versions).values(
            rulebook_id=rulebook_id, version=version, sha256=sha256, content=content,
            first_seen_at=utc_now(),
        ))


def record_failure(
    conn: Connection, run_id: str, *, path: str | Path, error: BaseException | str, call_id: str | None
) -> None:
    error_type = type(error).__name__ if isinstance(error, BaseException) else "Error"
    upsert(conn, failures, [dict(
        run_id=run_id, path=str(path), call_id=call_id, error_type=error_type,
        message=str(error), recorded_at=utc_now(),
    )], ("run_id", "path"))
