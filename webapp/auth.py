"""Accounts, roles, sessions, login lockout and CSRF tokens.

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults); a login for an unknown user
  still runs one verification so response times do not reveal which names exist.
- A session is a random 256-bit token in an HttpOnly cookie; the database keeps only its
  SHA-256, so a leaked database does not hand out sessions. Disabling a user ends them.
- Each session has its own CSRF token, put in every form; the login form (no session yet)
  uses a signed double-submit token (``itsdangerous``) tied to a pre-login cookie.
- ``max_failures`` wrong passwords within ``lockout_s`` lock that user name for ``lockout_s``
  after the last failure, even for the right password; an admin can lift the lock early.
- ``client_max_failures`` failed sign-ins from one client address within ``client_window_s``
  (whatever the user names) refuse every sign-in from that address until the window has slid
  past them, so spraying many names from one address is slowed too. Both counts are read from
  ``web_login_attempts``, so every worker on the same database enforces the same limits.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as pysecrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.errors import CallQAError
from webapp import db

logger = logging.getLogger(__name__)

Role = Literal["admin", "qa_reviewer", "team_lead", "agent"]
ROLES: tuple[str, ...] = ("admin", "qa_reviewer", "team_lead", "agent")
REVIEWER_ROLES = ("admin", "qa_reviewer")
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("callqa-dummy-password")


class AuthError(CallQAError):
    """An account cannot be created or changed as asked."""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person and what their role lets them see."""

    user_id: int
    username: str
    role: str
    agent_id: str | None = None
    team: str | None = None
    display_name: str = ""
    active: bool = True

    @property
    def is_reviewer(self) -> bool:
        return self.role in REVIEWER_ROLES


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User | None
    locked_until: datetime | None = None
    client_blocked: bool = False
    """``locked_until`` is the client address's block (not the user name's lock)."""


def user_from_row(row) -> User:
    return User(user_id=row.user_id, username=row.username, role=row.role, agent_id=row.agent_id, team=row.team,
                display_name=row.display_name or row.username, active=bool(row.active))


# -- accounts -------------------------------------------------------------------------------------

def add_user(engine: Engine, username: str, password: str, *, role: str, agent_id: str | None = None,
             team: str | None = None, display_name: str = "") -> User:
    """Create an account; an agent's ``team`` also records the agent id's team membership."""
    with engine.begin() as conn:
        return insert_user(conn, username, password, role=role, agent_id=agent_id, team=team,
                           display_name=display_name)


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password for {username!r} is too short; use at least {MIN_PASSWORD_LENGTH} characters")


def check_role_fields(username: str, role: str, agent_id: str | None, team: str | None) -> None:
    """What each role needs: a known role, an agent id for agents, a team for team leads."""
    if role not in ROLES:
        raise AuthError(f"role {role!r} is unknown; choose one of {', '.join(ROLES)}")
    if role == "agent" and not agent_id:
        raise AuthError(f"agent account {username!r} needs --agent-id (the agent_id its calls carry)")
    if role == "team_lead" and not team:
        raise AuthError(f"team lead {username!r} needs --team (the team whose agents they lead)")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def insert_user(conn: Connection, username: str, password: str, *, role: str, agent_id: str | None = None,
                team: str | None = None, display_name: str = "") -> User:
    """:func:`add_user` inside the caller's transaction (so an audit row can share it)."""
    if not username or username != username.strip():
        raise AuthError(f"user name {username!r} must be non-empty without surrounding spaces")
    if any(ch in "/\\?#%" or not ch.isprintable() for ch in username):  # it is a path segment of the users page
        raise AuthError(f"user name {username!r} may not contain / \\ ? # % or control characters; "
                        "letters (Chinese too), digits, '.', '-' and '_' are fine")
    check_password(username, password)
    check_role_fields(username, role, agent_id, team)
    taken = AuthError(f"user {username!r} already exists; pick another name or disable the old account")
    if conn.execute(select(db.users.c.user_id).where(db.users.c.username == username)).first() is not None:
        raise taken
    try:  # a concurrent insert of the same name fails here and rolls the caller's transaction back
        user_id = conn.execute(insert(db.users).values(
            username=username, password_hash=_hasher.hash(password), role=role, agent_id=agent_id,
            team=team, display_name=display_name or username, active=True, created_at=now(),
        )).inserted_primary_key[0]
    except IntegrityError as e:
        raise taken from e
    if role == "agent" and team:
        conn.execute(delete(db.team_members).where(db.team_members.c.agent_id == agent_id))
        conn.execute(insert(db.team_members).values(agent_id=agent_id, team=team))
    return User(user_id, username, role, agent_id, team, display_name or username)


def set_team(engine: Engine, agent_id: str, team: str) -> None:
    """Put an agent id in a team (whether or not the agent has an account)."""
    with engine.begin() as conn:
        conn.execute(delete(db.team_members).where(db.team_members.c.agent_id == agent_id))
        conn.execute(insert(db.team_members).values(agent_id=agent_id, team=team))


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [user_from_row(r) for r in conn.execute(select(db.users).order_by(db.users.c.username))]


def get_user(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(db.users).where(db.users.c.username == username)).first()
    return user_from_row(row) if row is not None else None


def has_active_admin(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(db.users).where(
            db.users.c.role == "admin", db.users.c.active.is_(True))).scalar_one() > 0


def team_of(engine: Engine) -> dict[str, str]:
    """agent id -> team."""
    with engine.connect() as conn:
        return {r.agent_id: r.team for r in conn.execute(select(db.team_members))}


# -- login and lockout ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int = 5
    """Wrong passwords in a row (within ``lockout_s``) that lock a user name."""
    lockout_s: float = 15 * 60
    """How long the lock lasts after the last failure."""
    client_max_failures: int = 20
    """Failed sign-ins from one client address (any user names) within ``client_window_s`` that block
    that address; high enough for an office behind one NAT address, low enough to stop spraying."""
    client_window_s: float = 10 * 60
    """The sliding window of the per-address count; the block lifts as old failures leave it."""


def locked_until(engine: Engine, username: str, policy: LockoutPolicy, at: datetime | None = None) -> datetime | None:
    """When the lock on ``username`` ends, or ``None`` if it is not locked."""
    at = at or now()
    window = at - timedelta(seconds=policy.lockout_s)
    with engine.connect() as conn:
        last_ok = conn.execute(select(func.max(db.login_attempts.c.at)).where(
            db.login_attempts.c.username == username, db.login_attempts.c.ok.is_(True))).scalar_one()
        last_unlock = conn.execute(select(func.max(db.login_unlocks.c.at)).where(
            db.login_unlocks.c.username == username)).scalar_one()
        since = max(t for t in (window, last_ok, last_unlock) if t is not None)
        failures = conn.execute(select(db.login_attempts.c.at).where(
            db.login_attempts.c.username == username, db.login_attempts.c.ok.is_(False),
            db.login_attempts.c.at > since).order_by(db.login_attempts.c.at.desc())).scalars().all()
    if len(failures) < policy.max_failures:
        return None
    return failures[0] + timedelta(seconds=policy.lockout_s)


def client_blocked_until(engine: Engine, client: str, policy: LockoutPolicy,
                         at: datetime | None = None) -> datetime | None:
    """When sign-ins from ``client`` are allowed again, or ``None`` if they are now."""
    if not client:
        return None
    at = at or now()
    with engine.connect() as conn:
        failures = conn.execute(select(db.login_attempts.c.at).where(
            db.login_attempts.c.client == client[:64], db.login_attempts.c.ok.is_(False),
            db.login_attempts.c.at > at - timedelta(seconds=policy.client_window_s))
            .order_by(db.login_attempts.c.at.desc()).limit(policy.client_max_failures)).scalars().all()
    if len(failures) < policy.client_max_failures:
        return None
    return failures[-1] + timedelta(seconds=policy.client_window_s)


def authenticate(engine: Engine, username: str, password: str, *, client: str = "",
                 policy: LockoutPolicy = LockoutPolicy()) -> LoginResult:
    """Check a password; every attempt is recorded, and a locked name or a blocked address is
    refused outright (without looking at the password, and without recording the refusal)."""
    username = username.strip()
    blocked = client_blocked_until(engine, client, policy)
    if blocked is not None:
        return LoginResult(None, locked_until=blocked, client_blocked=True)
    until = locked_until(engine, username, policy)
    if until is not None:
        return LoginResult(None, locked_until=until)
    with engine.connect() as conn:
        row = conn.execute(select(db.users).where(db.users.c.username == username)).first()
    ok = False
    try:
        ok = _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and row is not None and bool(row.active)
    with engine.begin() as conn:
        conn.execute(insert(db.login_attempts).values(username=username, client=client[:64], ok=ok, at=now()))
    if not ok:
        blocked = client_blocked_until(engine, client, policy)
        if blocked is not None:
            return LoginResult(None, locked_until=blocked, client_blocked=True)
        return LoginResult(None, locked_until=locked_until(engine, username, policy))
    if _hasher.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(update(db.users).where(db.users.c.user_id == row.user_id)
                         .values(password_hash=_hasher.hash(password)))
    return LoginResult(user_from_row(row))


# -- sessions ---------------------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(engine: Engine, user: User, *, lifetime_s: float) -> tuple[str, str]:
    """A new session for ``user``: (cookie token, CSRF token)."""
    token, csrf = pysecrets.token_urlsafe(32), pysecrets.token_urlsafe(32)
    created = now()
    with engine.begin() as conn:
        conn.execute(delete(db.sessions).where(db.sessions.c.expires_at < created))
        conn.execute(insert(db.sessions).values(
            token_sha256=_digest(token), user_id=user.user_id, csrf_token=csrf, created_at=created,
            expires_at=created + timedelta(seconds=lifetime_s)))
    return token, csrf


def session_user(engine: Engine, token: str | None) -> tuple[User, str] | None:
    """The active user and CSRF token of a session cookie, or ``None``."""
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(db.users, db.sessions.c.csrf_token, db.sessions.c.expires_at)
            .join(db.sessions, db.sessions.c.user_id == db.users.c.user_id)
            .where(db.sessions.c.token_sha256 == _digest(token))
        ).first()
    if row is None or row.expires_at < now() or not row.active:
        return None
    return user_from_row(row), row.csrf_token


def end_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(delete(db.sessions).where(db.sessions.c.token_sha256 == _digest(token)))


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


# -- signing key and the login form's CSRF token -------------------------------------------------

def signing_key(engine: Engine) -> str:
    """The app's secret, created once and kept in the database so every worker shares it."""
    with engine.begin() as conn:
        value = conn.execute(select(db.secrets.c.value).where(db.secrets.c.name == "signing_key")).scalar()
        if value is None:
            value = pysecrets.token_urlsafe(48)
            try:
                with conn.begin_nested():
                    conn.execute(insert(db.secrets).values(name="signing_key", value=value))
            except IntegrityError:  # another worker created it first
                value = conn.execute(select(db.secrets.c.value).where(db.secrets.c.name == "signing_key")).scalar_one()
    return value


class LoginCsrf:
    """Signed double-submit token for the login form: the cookie holds a nonce, the form its signature."""

    def __init__(self, key: str, max_age_s: int = 3600) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="callqa-login")
        self.max_age_s = max_age_s

    @staticmethod
    def new_nonce() -> str:
        return pysecrets.token_urlsafe(24)

    def token_for(self, nonce: str) -> str:
        return self._serializer.dumps(nonce)

    def valid(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        try:
            signed = self._serializer.loads(token, max_age=self.max_age_s)
        except BadSignature:
            return False
        return tokens_match(signed, nonce)
