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

Modules, by what they do: ``schema`` (the tables), ``database`` (opening a URL, transactions,
upserts), ``times``, ``run_log`` (runs, rulebook versions, failures), ``transcripts`` (calls and
utterances), ``results`` (scores and findings), ``decisions`` (reviews), ``frames`` (what reports
read) and ``facade`` (:class:`Store`, which composes them).
"""
from __future__ import annotations

from pipeline.store.database import DEFAULT_URL, Database, upsert_statement
from pipeline.store.facade import SavedCall, Store, open_store
from pipeline.store.frames import empty_calls_frame, empty_findings_frame
from pipeline.store.schema import (
    TABLES,
    calls,
    failures,
    findings,
    metadata,
    reviews,
    rulebook_versions,
    runs,
    scores,
    utterances,
)
from pipeline.store.times import parse_time

__all__ = [
    "DEFAULT_URL", "Database", "SavedCall", "Store", "TABLES", "calls", "empty_calls_frame",
    "empty_findings_frame", "failures", "findings", "metadata", "open_store", "parse_time",
    "reviews", "rulebook_versions", "runs", "scores", "upsert_statement", "utterances",
]
