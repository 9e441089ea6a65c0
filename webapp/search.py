"""Full-text search over transcripts: SQLite FTS5 or PostgreSQL full text on jieba tokens.

Each utterance is indexed in its matching form (OpenCC Traditional→Simplified, half-width,
no punctuation, as :func:`pipeline.normalize.compact_text` builds it) and as space-separated
jieba tokens. A query goes through the same normalisation, so 請問 finds 请问 and 宽频 finds a
transcript written 寬頻: either script finds the other. The token index answers phrases that follow word
boundaries; a phrase cutting across words (归我们 inside 不归我们管) falls back to a substring
scan of the normalised text, so no phrase that is in a transcript goes unfound.

The index follows the store: :func:`sync_index` re-indexes a call whenever the store's
``updated_at`` for it changed (a night re-transcribed it), reading transcripts through
:meth:`pipeline.store.Store.load_transcript`.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

import pandas as pd
from sqlalchemy import Engine, bindparam, delete, insert, select, text

from pipeline.normalize import compact_text
from pipeline.store import Store
from webapp import db

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w", re.UNICODE)


@lru_cache(maxsize=1)
def _tokenizer():
    # The rules' own tokenizer and call-centre dictionary, loaded on first search (jieba is slow to import).
    from pipeline.rules import DEFAULT_RULEBOOK
    from pipeline.rules.text import load_tokenizer

    user_dict = DEFAULT_RULEBOOK.parent / "callcentre_dict.txt"
    return load_tokenizer(user_dict if user_dict.is_file() else None)


def tokens(compact: str) -> list[str]:
    """jieba tokens (dictionary only, deterministic) of already-compacted text."""
    return [t for t in _tokenizer().cut(compact, HMM=False) if _WORD.search(t)]


def normalize_query(phrase: str) -> str:
    return compact_text(phrase)


def sync_index(store: Store, calls: pd.DataFrame | None = None) -> int:
    """Bring the index up to date with the store; returns how many calls were (re)indexed."""
    engine = store.engine
    calls = store.calls_frame() if calls is None else calls
    with engine.connect() as conn:
        indexed = {r.call_id: r.updated_at for r in conn.execute(select(db.search_state))}
    current = {cid: pd.Timestamp(u).to_pydatetime() for cid, u in zip(calls["call_id"], calls["updated_at"], strict=True)}
    stale = [cid for cid, u in current.items() if indexed.get(cid) != u]
    gone = [cid for cid in indexed if cid not in current]
    if not stale and not gone:
        return 0
    sqlite = engine.dialect.name == "sqlite"
    for cid in stale:
        transcript = store.load_transcript(cid)
        rows = []
        for i, u in enumerate(transcript.utterances):
            compact = compact_text(u.text or u.raw_text)
            rows.append({"call_id": cid, "idx": i, "speaker": u.speaker, "start_s": u.start_s,
                         "compact": compact, "tokens": " ".join(tokens(compact))})
        with engine.begin() as conn:
            _drop(conn, cid, sqlite)
            if rows:
                conn.execute(insert(db.search_utterances), rows)
                if sqlite:
                    conn.execute(text(f"INSERT INTO {db.FTS_TABLE} (tokens, call_id, idx) VALUES (:tokens, :call_id, :idx)"),
                                 rows)
            conn.execute(insert(db.search_state).values(call_id=cid, updated_at=current[cid]))
    with engine.begin() as conn:
        for cid in gone:
            _drop(conn, cid, sqlite)
    logger.info("search index: %d calls indexed, %d removed", len(stale), len(gone))
    return len(stale)


def _drop(conn, call_id: str, sqlite: bool) -> None:
    conn.execute(delete(db.search_utterances).where(db.search_utterances.c.call_id == call_id))
    conn.execute(delete(db.search_state).where(db.search_state.c.call_id == call_id))
    if sqlite:
        conn.execute(text(f"DELETE FROM {db.FTS_TABLE} WHERE call_id = :cid"), {"cid": call_id})


def search_phrase(engine: Engine, phrase: str, *, limit: int = 2000) -> pd.DataFrame:
    """Utterances containing ``phrase`` (either script): columns call_id, idx, speaker, start_s."""
    compact = normalize_query(phrase)
    columns = ["call_id", "idx", "speaker", "start_s"]
    if not compact:
        return pd.DataFrame(columns=columns)
    words = tokens(compact)
    with engine.connect() as conn:
        rows = []
        if words:
            if engine.dialect.name == "sqlite":
                fts = '"' + " ".join(w.replace('"', '""') for w in words) + '"'
                rows = conn.execute(text(
                    f"SELECT u.call_id, u.idx, u.speaker, u.start_s FROM {db.FTS_TABLE} f "
                    "JOIN web_search_utterances u ON u.call_id = f.call_id AND u.idx = f.idx "
                    f"WHERE {db.FTS_TABLE} MATCH :q LIMIT :n"), {"q": fts, "n": limit}).all()
            elif engine.dialect.name == "postgresql":
                rows = conn.execute(text(
                    "SELECT call_id, idx, speaker, start_s FROM web_search_utterances "
                    "WHERE to_tsvector('simple', tokens) @@ phraseto_tsquery('simple', :q) LIMIT :n"),
                    {"q": " ".join(words), "n": limit}).all()
        if not rows:
            like = compact.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = conn.execute(
                select(db.search_utterances.c.call_id, db.search_utterances.c.idx, db.search_utterances.c.speaker,
                       db.search_utterances.c.start_s)
                .where(db.search_utterances.c.compact.like(bindparam("pat"), escape="\\")).limit(limit),
                {"pat": f"%{like}%"}).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
