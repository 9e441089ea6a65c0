"""Account administration with an audit trail: add, change role or team, disable/enable, reset a
password, lift a lock.

Every change is one transaction that also appends a ``web_decisions`` row (who, when, before,
after), the same append-only history that keeps reviews and appeals; passwords and their hashes
never go into it. The users page of the web app and ``callqa users`` both come through here
(the command line's actor is recorded as ``cli``).

Two guards keep the workspace manageable: nobody disables or changes the role of their own
account, and the last active admin can be neither disabled nor given another role (``callqa
serve`` on a public address needs one).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from webapp import auth, db, decisions
from webapp.auth import AuthError, LockoutPolicy, User, now

logger = logging.getLogger(__name__)

ACCOUNT_ACTIONS = ("user_added", "user_changed", "user_disabled", "user_enabled", "password_reset", "user_unlocked")


@dataclass(frozen=True, slots=True)
class Account:
    """One row of the users page."""

    user: User
    created_at: datetime
    locked_until: datetime | None


def _actor(actor: User | None) -> tuple[str, str]:
    return (actor.username, actor.role) if actor is not None else ("cli", "cli")


def _log(conn: Connection, actor: User | None, action: str, before: dict[str, Any], after: dict[str, Any],
         comment: str = "") -> None:
    name, role = _actor(actor)
    conn.execute(insert(db.decisions).values(
        at=now(), actor=name, actor_role=role, action=action,
        before_json=json.dumps(before, ensure_ascii=False, default=str),
        after_json=json.dumps(after, ensure_ascii=False, default=str), comment=comment))


def _row(conn: Connection, username: str):
    row = conn.execute(select(db.users).where(db.users.c.username == username)).first()
    if row is None:
        raise AuthError(f"no user {username!r}; the users page (or `callqa users list`) shows the accounts")
    return row


def _public(row) -> dict[str, Any]:
    return {"username": row.username, "role": row.role, "agent_id": row.agent_id, "team": row.team,
            "active": bool(row.active)}


def add(engine: Engine, actor: User | None, username: str, password: str, *, role: str,
        agent_id: str | None = None, team: str | None = None, display_name: str = "") -> User:
    """Create an account (argon2-hashed) and record who created it."""
    with engine.begin() as conn:
        user = auth.insert_user(conn, username, password, role=role, agent_id=agent_id or None, team=team or None,
                                display_name=display_name)
        _log(conn, actor, "user_added", {}, _public(_row(conn, username)))
    return user


def _keep_an_admin(conn: Connection, actor: User | None, row, what: str) -> None:
    """Refuse to take admin rights away from oneself or from the last active admin."""
    if actor is not None and actor.username == row.username:
        raise AuthError(f"you cannot {what} your own account; ask another admin")
    if row.role == "admin" and row.active:
        admins = conn.execute(select(func.count()).select_from(db.users).where(
            db.users.c.role == "admin", db.users.c.active.is_(True))).scalar_one()
        if admins <= 1:
            raise AuthError(f"{row.username!r} is the last active admin; add or enable another admin first")


def change(engine: Engine, actor: User | None, username: str, *, role: str | None = None,
           agent_id: str | None = None, team: str | None = None, display_name: str | None = None) -> None:
    """Give an account another role, agent id, team or display name (``None`` keeps the current one;
    ``""`` clears an agent id or team). The new rights apply on the account's next request."""
    with engine.begin() as conn:
        row = _row(conn, username)
        new = {"role": row.role if role is None else role,
               "agent_id": row.agent_id if agent_id is None else (agent_id.strip() or None),
               "team": row.team if team is None else (team.strip() or None),
               "display_name": row.display_name if display_name is None else (display_name.strip() or username)}
        auth.check_role_fields(username, new["role"], new["agent_id"], new["team"])
        if new["role"] != "agent":
            new["agent_id"] = None  # only agents are scoped to an agent id
        before = {**_public(row), "display_name": row.display_name}
        if new == {k: before[k] for k in new}:
            raise AuthError(f"nothing to change for {username!r}; give a new role, agent id, team or name")
        if new["role"] != row.role and row.role == "admin":
            _keep_an_admin(conn, actor, row, "change the role of")
        conn.execute(update(db.users).where(db.users.c.user_id == row.user_id).values(**new))
        if new["role"] == "agent" and new["team"]:
            conn.execute(delete(db.team_members).where(db.team_members.c.agent_id == new["agent_id"]))
            conn.execute(insert(db.team_members).values(agent_id=new["agent_id"], team=new["team"]))
        _log(conn, actor, "user_changed", before, {**before, **new})


def set_active(engine: Engine, actor: User | None, username: str, active: bool) -> None:
    """Disable (ending its sessions) or enable an account; the row stays for the audit trail."""
    with engine.begin() as conn:
        row = _row(conn, username)
        if bool(row.active) == active:
            raise AuthError(f"user {username!r} is already {'enabled' if active else 'disabled'}")
        if not active:
            _keep_an_admin(conn, actor, row, "disable")
        conn.execute(update(db.users).where(db.users.c.user_id == row.user_id).values(active=active))
        ended = 0
        if not active:
            ended = conn.execute(delete(db.sessions).where(db.sessions.c.user_id == row.user_id)).rowcount
        after = {**_public(row), "active": active}
        if not active:
            after["sessions_ended"] = ended
        _log(conn, actor, "user_enabled" if active else "user_disabled", _public(row), after)


def reset_password(engine: Engine, actor: User | None, username: str, password: str) -> None:
    """Set a new password and end the account's sessions (a stolen session dies with the old password)."""
    auth.check_password(username, password)
    with engine.begin() as conn:
        row = _row(conn, username)
        conn.execute(update(db.users).where(db.users.c.user_id == row.user_id)
                     .values(password_hash=auth.hash_password(password)))
        ended = conn.execute(delete(db.sessions).where(db.sessions.c.user_id == row.user_id)).rowcount
        _log(conn, actor, "password_reset", {"username": username, "password": "(old)"},
             {"username": username, "password": "(new)", "sessions_ended": ended})


def unlock(engine: Engine, actor: User | None, username: str, policy: LockoutPolicy) -> None:
    """Lift the wrong-password lock on a user name now (the failed attempts stay recorded)."""
    until = auth.locked_until(engine, username, policy)
    with engine.begin() as conn:
        _row(conn, username)
        if until is None:
            raise AuthError(f"user {username!r} is not locked")
        name, _ = _actor(actor)
        conn.execute(insert(db.login_unlocks).values(username=username, actor=name, at=now()))
        _log(conn, actor, "user_unlocked", {"username": username, "locked_until": until.isoformat(timespec="seconds")},
             {"username": username, "locked_until": None})


def accounts(engine: Engine, policy: LockoutPolicy) -> list[Account]:
    """Every account with whether its user name is locked now."""
    with engine.connect() as conn:
        rows = conn.execute(select(db.users).order_by(db.users.c.username)).all()
    return [Account(auth.user_from_row(r), r.created_at, auth.locked_until(engine, r.username, policy)) for r in rows]


def history(engine: Engine, *, limit: int = 200) -> list[dict[str, Any]]:
    """Account changes, newest first, before/after decoded."""
    return decisions.history(engine, actions=ACCOUNT_ACTIONS, limit=limit)
