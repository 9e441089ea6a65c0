"""The results tables (SQLAlchemy Core); the key of each is in the package docstring."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text, UniqueConstraint

# The store creates these on open. Packages with tables of their own (the web app) keep them in a
# MetaData of their own and create them on ``Store.engine``.
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

# In creation order; ``Store.row_counts`` reports them in this order.
TABLES = ("runs", "rulebook_versions", "calls", "utterances", "scores", "findings", "reviews", "failures")
