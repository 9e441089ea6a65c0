"""Options of the web app, with a documented default each."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.errors import CallQAError
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
    it is always honoured from ``trusted_proxies``)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``127.0.0.1``, ``10.0.0.0/8``) of reverse proxies whose ``X-Forwarded-For``
    and ``X-Forwarded-Proto`` are believed. None by default: the peer address is the client, so a
    client cannot dodge the per-address sign-in limit by sending its own ``X-Forwarded-For``."""
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

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as e:
                raise CallQAError(f"trusted proxy {proxy!r} is not an address or network ({e}); give addresses "
                                  "or CIDR networks, e.g. --forwarded-allow-ips 127.0.0.1,10.0.0.0/8") from e


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    ip = _address(host)
    return ip is not None and ip.is_loopback


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def from_trusted_proxy(address: str, proxies: tuple[str, ...]) -> bool:
    """Whether ``address`` is one of ``proxies`` (addresses or networks)."""
    ip = _address(address)
    if ip is None:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[str, ...]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries further left were
    written by the client and prove nothing)."""
    if not forwarded_for or not from_trusted_proxy(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not from_trusted_proxy(hop, proxies):
            return hop
    return hops[0] if hops else peer
