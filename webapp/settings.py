"""Options of the web app, with a documented default each."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from webapp.auth import LockoutPolicy
from webapp.queue import SamplingPlan


@dataclass(frozen=True, slots=True)
class WebSettings:
    db_url: str = "sqlite:///reports/callqa.db"
    """Results database (the store's URL): SQLite file or PostgreSQL."""
    audio_root: Path | None = None
    """Where recordings are when a call's ``source_path`` is relative (or only its name is known)."""
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    """``auto``: Secure cookies when the request came over HTTPS (directly or via a trusted proxy)."""
    trust_forwarded_proto: bool = False
    """Honour ``X-Forwarded-Proto`` from any peer (only when the app is reachable solely through the proxy;
    uvicorn already honours it from ``forwarded_allow_ips``)."""
    cookie_samesite: Literal["lax", "strict"] = "lax"
    """``lax`` lets links in e-mails open a call page while signed in; ``strict`` does not."""
    session_lifetime_s: float = 12 * 3600
    """A session ends this long after login."""
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    unmasked_roles: tuple[str, ...] = ("admin",)
    """Roles that see personal data (phone, ID, card numbers, addresses) unmasked."""
    sampling: SamplingPlan = field(default_factory=SamplingPlan)
    pass_score: float = 80.0
    min_calls_for_ranking: int = 3
    period_days: int = 28
    """Default period of the overview and scorecards: this many days up to the latest call."""
    cache_s: float = 2.0
    """Calls and findings are read at most this often (writes through the app refresh at once)."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
