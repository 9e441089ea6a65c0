"""The web app's own tables, created on the results database's engine beside the store's.

The store (:mod:`pipeline.store`) owns calls, scores, findings and reviews; the web app only
adds what a multi-user workspace needs, all prefixed ``web_`` so they never collide:

=========================  ===============================================================
table                      what
=========================  ===============================================================
``web_users``              accounts: argon2 hash, role, agent id (agents), team (leads)
``web_team_members``       which team an agent id belongs to (team leads see their team)
``web_sessions``           server-side sessions: sha256 of the cookie token, CSRF token
``web_login_attempts``     every login attempt, for the lockout after repeated failures
                           (per user name and per client address)
``web_login_unlocks``      an admin lifted a user name's lock (the failures stay recorded)
``web_secrets``            the signing key, shared by every worker on the same database
``web_decisions``          append-only history: who, when, what, before and after
``web_appeals``            an agent's appeal of one finding (申诉), with the reason
``web_appeal_rulings``     the team lead's ruling; one per appeal (unique), so it is final
``web_search_utterances``  normalised (Simplified) text and jieba tokens per utterance
``web_search_state``       which version of each call the search index holds
=========================  ===============================================================

``web_decisions`` and the appeal tables are only ever inserted into; on SQLite and
PostgreSQL triggers refuse UPDATE and DELETE, so history cannot be rewritten by accident.
"""
from __future__ import annotations

import logging

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

logger = logging.getLogger(__name__)

metadata = MetaData()

users = Table(
    "web_users", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("agent_id", String(64)),
    Column("team", String(128)),
    Column("display_name", String(256)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

team_members = Table(
    "web_team_members", metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("team", String(128), nullable=False, index=True),
)

sessions = Table(
    "web_sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("web_users.user_id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

login_attempts = Table(
    "web_login_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, index=True),
    Column("client", String(64)),
    Column("ok", Boolean, nullable=False),
    Column("at", DateTime, nullable=False, index=True),
)

login_unlocks = Table(
    "web_login_unlocks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime, nullable=False),
)

secrets = Table(
    "web_secrets", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

decisions = Table(
    "web_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("call_id", String(128), index=True),
    Column("rulebook_version", String(64)),
    Column("finding_key", String(512)),
    Column("rule_id", String(128)),
    Column("before_json", Text),
    Column("after_json", Text),
    Column("comment", Text),
)

appeals = Table(
    "web_appeals", metadata,
    Column("appeal_id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(128), nullable=False, index=True),
    Column("rulebook_version", String(64), nullable=False),
    Column("finding_key", String(512), nullable=False),
    Column("rule_id", String(128)),
    Column("agent_id", String(64), index=True),
    Column("filed_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("filed_at", DateTime, nullable=False),
)

appeal_rulings = Table(
    "web_appeal_rulings", metadata,
    Column("appeal_id", Integer, ForeignKey("web_appeals.appeal_id"), primary_key=True),
    Column("ruling", String(16), nullable=False),
    Column("ruled_by", String(128), nullable=False),
    Column("comment", Text),
    Column("ruled_at", DateTime, nullable=False),
    Column("score_before", Float),
    Column("score_after", Float),
)

search_utterances = Table(
    "web_search_utterances", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("speaker", String(16)),
    Column("start_s", Float),
    Column("compact", Text, nullable=False),
    Column("tokens", Text, nullable=False),
)

search_state = Table(
    "web_search_state", metadata,
    Column("call_id", String(128), primary_key=True),
    Column("updated_at", DateTime, nullable=False),
)

APPEND_ONLY = ("web_decisions", "web_appeals", "web_appeal_rulings")
FTS_TABLE = "web_search_fts"


def create_web_tables(engine: Engine) -> None:
    """Create the web tables (and the search index, append-only triggers) if missing."""
    metadata.create_all(engine)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        # not in the Table: create_all adds indexes only with a new table, and databases made
        # before the per-address limit need this one too
        conn.execute(text("CREATE INDEX IF NOT EXISTS web_login_attempts_client_at "
                          "ON web_login_attempts (client, at)"))
        if dialect == "sqlite":
            for table in APPEND_ONLY:
                for op in ("UPDATE", "DELETE"):
                    conn.execute(text(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    ))
            # FTS5 over the jieba tokens; unicode61 splits on the spaces put between tokens and
            # keeps each CJK word whole.
            conn.execute(text(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                "tokens, call_id UNINDEXED, idx UNINDEXED, tokenize='unicode61')"
            ))
        elif dialect == "postgresql":
            conn.execute(text(
                "CREATE OR REPLACE FUNCTION web_append_only() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
            ))
            for table in APPEND_ONLY:
                conn.execute(text(
                    f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION web_append_only()"
                ))
            conn.execute(text(
                "CREATE INDEX IF NOT EXISTS web_search_tokens_tsv ON web_search_utterances "
                "USING gin (to_tsvector('simple', tokens))"
            ))
