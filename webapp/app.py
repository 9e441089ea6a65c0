"""The review workspace: FastAPI with server-rendered Jinja2 pages over the results database.

Every page and every recording checks the signed-in user's role first (:func:`_visible_agents`):
admins and QA reviewers see every call, team leads their team's agents, agents their own
calls. Every POST carries the session's CSRF token (the login form a signed one), checked
before any handler runs. Personal data is masked unless the role is in
``settings.unmasked_roles``.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from pipeline import charts
from pipeline.errors import CallQAError
from pipeline.redact import redact_text, redact_transcript
from pipeline.report import TEMPLATES as REPORT_TEMPLATES
from pipeline.report import find_audio
from pipeline.scorecards import agent_trend, build_scorecards, coaching_list, rule_hit_rates
from pipeline.scoring import ScoringOptions
from pipeline.store import Store, open_store
from webapp import accounts, auth, decisions, search
from webapp.auth import User
from webapp.db import create_web_tables
from webapp.queue import pending_findings, sampled_calls
from webapp.settings import WebSettings, client_address, from_trusted_proxy

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "callqa_session"
PRELOGIN_COOKIE = "callqa_login"
_TEXT_COLUMNS = ("quote", "message", "resolution_evidence", "comment", "reason", "ruling_comment")
"""Free text that may quote the call (or a person typing about it): masked for roles without personal data."""
_ASSETS = {
    "style.css": REPORT_TEMPLATES / "style.css",  # the static report's look, shared
    "webapp.css": HERE / "static" / "webapp.css",
    "webapp.js": HERE / "static" / "webapp.js",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
                                "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_MEDIA_TYPES = {".flac": "audio/flac", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
                ".ogg": "audio/ogg", ".opus": "audio/ogg"}


class NotSignedIn(Exception):
    """Raised by :func:`current_user` when there is no valid session."""


# -- formatting -----------------------------------------------------------------------------------

def _known(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def _num(value: Any, digits: int = 1) -> str:
    return f"{float(value):.{digits}f}" if _known(value) else "–"


def _pct(value: Any) -> str:
    return f"{100 * float(value):.0f}%" if _known(value) else "–"


def _signed(value: Any) -> str:
    return f"{float(value):+.1f}" if _known(value) else "–"


def _mmss(seconds: Any) -> str:
    if not _known(seconds):
        return "–"
    s = int(float(seconds))
    return f"{s // 60}:{s % 60:02d}"


def _q(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


def _highlight(text: str, quotes: list[str]) -> Markup:
    out, cursor = [], 0
    spans = sorted((p, p + len(q)) for q in quotes if q and (p := text.find(q)) >= 0)
    for start, end in spans:
        if start < cursor:
            continue
        out += [escape(text[cursor:start]), Markup("<mark>{}</mark>").format(text[start:end])]
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, pct=_pct, signed=_signed, mmss=_mmss, q=_q)
    env.tests["known"] = _known
    return env


# -- data -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Snapshot:
    calls: pd.DataFrame
    findings: pd.DataFrame
    team_of: dict[str, str]
    taken_at: float
    derived: dict = field(default_factory=dict)
    """Tables computed from this snapshot (scorecards, hit rates), shared by the requests that use it."""

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]


class Workspace:
    """The store, the web tables and a short-lived snapshot of calls and findings."""

    def __init__(self, store: Store, settings: WebSettings) -> None:
        self.store = store
        self.engine = store.engine
        self.settings = settings
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._indexed_at = 0.0

    def snapshot(self) -> Snapshot:
        with self._lock:
            snap = self._snapshot
            if snap is None or time.monotonic() - snap.taken_at > self.settings.cache_s:
                calls = self.store.calls_frame()
                snap = Snapshot(calls, self.store.findings_frame(calls), auth.team_of(self.engine), time.monotonic())
                self._snapshot = snap
            return snap

    def changed(self) -> None:
        with self._lock:
            self._snapshot = None

    def sync_search(self) -> None:
        snap = self.snapshot()
        with self._lock:
            if self._indexed_at == snap.taken_at:
                return
            self._indexed_at = snap.taken_at
        search.sync_index(self.store, snap.calls)


def _visible_agents(user: User, team_of: dict[str, str]) -> set[str] | None:
    """Agent ids whose calls ``user`` may see; ``None`` = all."""
    if user.role in ("admin", "qa_reviewer"):
        return None
    if user.role == "team_lead":
        return {a for a, t in team_of.items() if t == user.team}
    return {user.agent_id} if user.agent_id else set()


def _scope(frame: pd.DataFrame, visible: set[str] | None) -> pd.DataFrame:
    if visible is None or frame.empty:
        return frame
    return frame[frame["agent_id"].isin(visible)]


def _mask(frame: pd.DataFrame, unmasked: bool) -> pd.DataFrame:
    if unmasked or frame.empty:
        return frame
    out = frame.copy()
    for col in _TEXT_COLUMNS:
        if col in out:
            out[col] = [redact_text(v) if isinstance(v, str) else v for v in out[col]]
    return out


def _mask_history(rows: list[dict], unmasked: bool) -> list[dict]:
    if unmasked:
        return rows
    return [{**r, "comment": redact_text(r["comment"]) if isinstance(r.get("comment"), str) else r.get("comment")}
            for r in rows]


def _period(calls: pd.DataFrame, since: str | None, until: str | None, days: int) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    lo = pd.Timestamp(since) if since else None
    hi = pd.Timestamp(until) if until else None
    if hi is None and not calls.empty:
        hi = calls["recorded_at"].max().normalize()
    if lo is None and hi is not None:
        lo = hi - pd.Timedelta(days=days - 1)
    return lo, hi


def _between(calls: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.DataFrame:
    keep = pd.Series(True, index=calls.index)
    if lo is not None:
        keep &= calls["recorded_at"] >= lo
    if hi is not None:
        keep &= calls["recorded_at"] < hi + pd.Timedelta(days=1)
    return calls[keep]


def _records(frame: pd.DataFrame) -> list[dict]:
    return [] if frame.empty else frame.to_dict("records")


# -- the app --------------------------------------------------------------------------------------

def create_app(settings: WebSettings = WebSettings(), *, store: Store | None = None) -> FastAPI:
    """The web app over ``settings.db_url`` (or an open ``store``); creates the web tables."""
    store = store or open_store(settings.db_url, scoring=ScoringOptions(pass_score=settings.pass_score))
    create_web_tables(store.engine)
    ws = Workspace(store, settings)
    env = _environment()
    login_csrf = auth.LoginCsrf(auth.signing_key(store.engine))

    def session(request: Request) -> tuple[User, str] | None:
        if not hasattr(request.state, "session"):
            request.state.session = auth.session_user(ws.engine, request.cookies.get(SESSION_COOKIE))
        return request.state.session

    async def csrf_guard(request: Request) -> None:
        """Every state-changing request must carry the right CSRF token, before anything else runs."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        form = await request.form()
        token = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if request.url.path == "/login":
            ok = login_csrf.valid(request.cookies.get(PRELOGIN_COOKIE), str(token or ""))
        else:
            current = session(request)
            ok = current is not None and auth.tokens_match(current[1], str(token or ""))
        if not ok:
            raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")

    app = FastAPI(title="callqa review workspace", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_guard)])
    app.state.workspace = ws

    def current_user(request: Request) -> User:
        current = session(request)
        if current is None:
            raise NotSignedIn()
        return current[0]

    def peer(request: Request) -> str:
        return request.client.host if request.client else ""

    def client_ip(request: Request) -> str:
        return client_address(peer(request), request.headers.get("x-forwarded-for"), settings.trusted_proxies)

    def secure(request: Request) -> bool:
        if settings.cookie_secure != "auto":
            return settings.cookie_secure == "always"
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        believed = settings.trust_forwarded_proto or from_trusted_proxy(peer(request), settings.trusted_proxies)
        return request.url.scheme == "https" or (believed and forwarded == "https")

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        current = session(request)
        user = current[0] if current else None
        html = env.get_template(name).render(
            user=user, csrf=current[1] if current else "", path=request.url.path,
            unmasked=user is not None and user.role in settings.unmasked_roles,
            pass_score=settings.pass_score, **context)
        return HTMLResponse(html, status_code=status_code)

    def unmasked(user: User) -> bool:
        return user.role in settings.unmasked_roles

    def require(user: User, *roles: str) -> None:
        if user.role not in roles:
            raise HTTPException(403, f"this page is for {', '.join(roles)}; you are signed in as {user.role}")

    def call_or_403(user: User, call_id: str) -> tuple[dict, Snapshot]:
        snap = ws.snapshot()
        rows = snap.calls[snap.calls["call_id"] == call_id]
        if rows.empty:
            raise HTTPException(404, f"no call {call_id!r} in the results database")
        call = rows.iloc[0].to_dict()
        visible = _visible_agents(user, snap.team_of)
        if visible is not None and call["agent_id"] not in visible:
            raise HTTPException(403, f"call {call_id} belongs to another agent's record; you may not open it")
        return call, snap

    def may_see_agent(user: User, agent_id: str, team_of: dict[str, str]) -> None:
        visible = _visible_agents(user, team_of)
        if visible is not None and agent_id not in visible:
            raise HTTPException(403, f"you may not see agent {agent_id}")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path != "/assets" and not request.url.path.startswith("/assets/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn):
        if request.method == "GET" and "/audio" not in request.url.path:
            return RedirectResponse(f"/login?next={_q(request.url.path + ('?' + request.url.query if request.url.query else ''))}", 303)
        return Response("sign in first", status_code=401)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if "/audio" in request.url.path:
            return Response(str(exc.detail), status_code=exc.status_code)
        return render(request, "error.html", status_code=exc.status_code, status=exc.status_code, message=exc.detail)

    @app.exception_handler(auth.AuthError)
    async def account_error(request: Request, exc: auth.AuthError):
        return render(request, "error.html", status_code=400, status=400, message=str(exc))

    @app.exception_handler(decisions.DecisionError)
    async def decision_error(request: Request, exc: decisions.DecisionError):
        return render(request, "error.html", status_code=409, status=409, message=str(exc))

    # -- assets, health, login ------------------------------------------------------------------

    @app.get("/assets/{name}")
    def asset(name: str):
        path = _ASSETS.get(name)
        if path is None:
            raise HTTPException(404, "no such asset")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.get("/login")
    def login_page(request: Request, next: str = "/", error: str = ""):
        nonce = request.cookies.get(PRELOGIN_COOKIE) or login_csrf.new_nonce()
        response = render(request, "login.html", login_token=login_csrf.token_for(nonce), next=next, error=error)
        response.set_cookie(PRELOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=secure(request),
                            max_age=login_csrf.max_age_s)
        return response

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = str(form.get("next") or "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        result = auth.authenticate(ws.engine, username, password, client=client_ip(request), policy=settings.lockout)
        nonce = request.cookies.get(PRELOGIN_COOKIE) or login_csrf.new_nonce()
        if result.user is None:
            if result.locked_until is not None:
                minutes = max(1, math.ceil((result.locked_until - auth.now()).total_seconds() / 60))
                if result.client_blocked:
                    error = (f"Too many failed sign-ins from your network address: sign-in from it is paused "
                             f"for {minutes} more minute(s).")
                else:
                    error = f"Too many wrong passwords: sign-in for this user is locked for {minutes} more minute(s)."
                status = 429
            else:
                error, status = "Wrong user name or password.", 401
            return render(request, "login.html", status_code=status, login_token=login_csrf.token_for(nonce),
                          next=target, error=error)
        token, _ = auth.create_session(ws.engine, result.user, lifetime_s=settings.session_lifetime_s)
        response = RedirectResponse(target, 303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite=settings.cookie_samesite,
                            secure=secure(request), max_age=int(settings.session_lifetime_s), path="/")
        response.delete_cookie(PRELOGIN_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request):
        auth.end_session(ws.engine, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- overview and scorecards --------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, since: str = "", until: str = "", user: User = Depends(current_user)):
        if user.role == "agent":
            return RedirectResponse(f"/agents/{_q(user.agent_id or '')}", 303)
        snap = ws.snapshot()
        visible = _visible_agents(user, snap.team_of)
        mine = _scope(snap.calls, visible)
        lo, hi = _period(mine, since, until, settings.period_days)
        calls = _between(mine, lo, hi)
        findings = _scope(snap.findings, visible)  # only counted here, never shown: no masking needed
        findings = findings[findings["call_id"].isin(set(calls["call_id"]))] if not findings.empty else findings
        previous = _between(mine, lo - (hi - lo) - pd.Timedelta(days=1), lo - pd.Timedelta(days=1)) if lo is not None else None
        key = (frozenset(visible) if visible is not None else None, lo, hi)
        agents = snap.memo(("overview-agents", *key), lambda: build_scorecards(
            calls, findings, min_calls=settings.min_calls_for_ranking, previous=previous))
        rules = snap.memo(("overview-rules", *key), lambda: rule_hit_rates(calls, findings))
        categories = sorted(c[4:] for c in calls.columns if c.startswith("cat_"))
        return render(
            request, "overview.html", since=lo.date() if lo is not None else "", until=hi.date() if hi is not None else "",
            n_calls=len(calls), mean_score=float(calls["score"].mean()) if len(calls) else math.nan,
            pass_rate=float(calls["passed"].mean()) if len(calls) else math.nan,
            fatal_calls=int(calls["fatal"].sum()) if len(calls) else 0,
            pending=int((findings["status"] == "pending_review").sum()) if not findings.empty else 0,
            histogram=charts.histogram(list(calls["score"]), threshold=settings.pass_score),
            agents_chart=charts.hbar_chart(
                list(agents["agent_id"]), list(agents["mean_score"]), low=list(agents["ci_low"]),
                high=list(agents["ci_high"]), muted=list(agents["status"] != "ranked"),
                title="Mean score per agent with 95% confidence interval") if not agents.empty else "",
            category_chart=charts.hbar_chart(categories, [float(calls[f"cat_{c}"].mean()) for c in categories],
                                             title="Mean category sub-score") if categories and len(calls) else "",
            agents=_records(agents), rules=_records(rules), min_calls=settings.min_calls_for_ranking)

    @app.get("/agents/{agent_id}", response_class=HTMLResponse)
    def agent_page(request: Request, agent_id: str, since: str = "", until: str = "",
                   user: User = Depends(current_user)):
        snap = ws.snapshot()
        may_see_agent(user, agent_id, snap.team_of)
        lo, hi = _period(snap.calls[snap.calls["agent_id"] == agent_id], since, until, settings.period_days)
        calls = _between(snap.calls, lo, hi)
        findings = snap.findings[snap.findings["call_id"].isin(set(calls["call_id"]))] if not snap.findings.empty else snap.findings
        previous = _between(snap.calls, lo - (hi - lo) - pd.Timedelta(days=1), lo - pd.Timedelta(days=1)) if lo is not None else None
        cards = snap.memo(("scorecards", lo, hi), lambda: build_scorecards(
            calls, findings, min_calls=settings.min_calls_for_ranking, previous=previous))
        card = cards[cards["agent_id"] == agent_id]
        if card.empty:
            raise HTTPException(404, f"agent {agent_id} has no scored calls in {lo:%Y-%m-%d} – {hi:%Y-%m-%d}" if lo is not None
                                else f"agent {agent_id} has no scored calls")
        agent = card.iloc[0].to_dict()
        mine = calls[calls["agent_id"] == agent_id].sort_values("recorded_at", ascending=False)
        history = snap.calls[(snap.calls["agent_id"] == agent_id)
                             & (snap.calls["recorded_at"] > hi - pd.Timedelta(weeks=12))]
        trend = agent_trend(history)
        hit_rates = sorted(((k.split(":", 1)[1], v) for k, v in agent.items() if k.startswith("hit_rate:") and v > 0),
                           key=lambda kv: -kv[1])
        own = findings[findings["agent_id"] == agent_id] if not findings.empty else findings
        coaching = coaching_list(_mask(own, unmasked(user)), agent_id)
        return render(
            request, "agent.html", agent=agent, show_rank=user.role != "agent",
            since=lo.date() if lo is not None else "", until=hi.date() if hi is not None else "",
            calls=_records(mine), hit_rates=hit_rates, coaching=_records(coaching.head(20)) if not coaching.empty else [],
            trend_chart=charts.line_chart([f"{t:%m-%d}" for t in trend["period_start"]], list(trend["mean_score"]),
                                          threshold=settings.pass_score, title=f"Weekly mean score of {agent_id}"))

    @app.get("/agents/{agent_id}/coaching", response_class=HTMLResponse)
    def coaching_pack(request: Request, agent_id: str, since: str = "", until: str = "",
                      user: User = Depends(current_user)):
        snap = ws.snapshot()
        may_see_agent(user, agent_id, snap.team_of)
        lo, hi = _period(snap.calls[snap.calls["agent_id"] == agent_id], since, until, settings.period_days)
        calls = _between(snap.calls[snap.calls["agent_id"] == agent_id], lo, hi)
        findings = snap.findings[snap.findings["call_id"].isin(set(calls["call_id"]))] if not snap.findings.empty else snap.findings
        candidates = coaching_list(_mask(findings, unmasked(user)), agent_id)
        picks = set(request.query_params.getlist("pick"))
        rows = _records(candidates)
        for r in rows:
            r["pick_id"] = f"{r['call_id']}|{r['finding_key']}"
        chosen = [r for r in rows if r["pick_id"] in picks]
        return render(request, "coaching.html", agent_id=agent_id, candidates=rows, chosen=chosen,
                      since=lo.date() if lo is not None else "", until=hi.date() if hi is not None else "")

    # -- calls and recordings -----------------------------------------------------------------

    @app.get("/calls/{call_id}", response_class=HTMLResponse)
    def call_page(request: Request, call_id: str, user: User = Depends(current_user)):
        call, snap = call_or_403(user, call_id)
        transcript = ws.store.load_transcript(call_id)
        show = unmasked(user)
        shown = transcript if show else redact_transcript(transcript)
        findings = snap.findings[snap.findings["call_id"] == call_id] if not snap.findings.empty else snap.findings
        findings = _mask(findings, show)
        if not findings.empty:
            findings = findings.sort_values("start_s", na_position="last")
        appeals = _mask(decisions.appeals_frame(ws.engine, call_id=call_id), show)
        by_key = {r["finding_key"]: r for r in _records(appeals)}
        marks: dict[int, list[str]] = {}
        rows = _records(findings)
        for f in rows:
            f["appeal"] = by_key.get(f["finding_key"])
            if f["status"] != "rejected" and _known(f["utterance_index"]):
                marks.setdefault(int(f["utterance_index"]), []).append(f["quote"] or "")
        lines = [{"index": i, "speaker": u.speaker, "start_s": u.start_s, "end_s": u.end_s,
                  "html": _highlight(u.text, marks.get(i, [])), "flagged": i in marks}
                 for i, u in enumerate(shown.utterances)]
        audio = find_audio(transcript, settings.audio_root)
        team = snap.team_of.get(call["agent_id"] or "")
        return render(
            request, "call.html", call=call, findings=rows, lines=lines, duration_s=transcript.duration_s,
            audio_url=f"/calls/{_q(call_id)}/audio" if audio is not None else None,
            categories=[(k[4:], v) for k, v in call.items() if k.startswith("cat_")],
            may_review=user.is_reviewer, may_appeal=user.role == "agent" and user.agent_id == call["agent_id"],
            may_rule=decisions.may_rule(user, team), history=_mask_history(decisions.history(ws.engine, call_id=call_id), show),
            appealable=decisions.APPEALABLE)

    @app.get("/calls/{call_id}/audio")
    def call_audio(call_id: str, user: User = Depends(current_user)):
        call_or_403(user, call_id)
        audio = find_audio(ws.store.load_transcript(call_id), settings.audio_root)
        if audio is None:
            raise HTTPException(404, f"the recording of call {call_id} is not where its source_path points")
        # FileResponse answers Range requests (206), which the player needs to seek.
        return FileResponse(audio, media_type=_MEDIA_TYPES.get(audio.suffix.lower(), "application/octet-stream"),
                            headers={"Cache-Control": "private, no-store"})

    @app.post("/calls/{call_id}/review")
    async def review(request: Request, call_id: str, user: User = Depends(current_user)):
        call_or_403(user, call_id)
        require(user, "admin", "qa_reviewer")
        form = await request.form()
        decisions.review_finding(ws.store, user, call_id, str(form.get("rulebook_version", "")),
                                 str(form.get("finding_key", "")), decision=str(form.get("decision", "")),
                                 comment=str(form.get("comment", "")).strip())
        ws.changed()
        return RedirectResponse(f"/calls/{_q(call_id)}#findings", 303)

    @app.post("/calls/{call_id}/checked")
    async def checked(request: Request, call_id: str, user: User = Depends(current_user)):
        call_or_403(user, call_id)
        require(user, "admin", "qa_reviewer")
        form = await request.form()
        decisions.mark_checked(ws.engine, user, call_id, str(form.get("comment", "")).strip())
        return RedirectResponse("/queue", 303)

    @app.post("/calls/{call_id}/appeal")
    async def appeal(request: Request, call_id: str, user: User = Depends(current_user)):
        call_or_403(user, call_id)
        form = await request.form()
        decisions.file_appeal(ws.store, user, call_id, str(form.get("rulebook_version", "")),
                              str(form.get("finding_key", "")), reason=str(form.get("reason", "")))
        return RedirectResponse(f"/calls/{_q(call_id)}#findings", 303)

    # -- appeals ----------------------------------------------------------------------------------

    @app.get("/appeals", response_class=HTMLResponse)
    def appeals_page(request: Request, user: User = Depends(current_user)):
        snap = ws.snapshot()
        frame = _scope(decisions.appeals_frame(ws.engine), _visible_agents(user, snap.team_of))
        frame = _mask(frame, unmasked(user))
        rows = _records(frame)
        for r in rows:
            r["may_rule"] = r["ruling"] is None and decisions.may_rule(user, snap.team_of.get(r["agent_id"] or ""))
        return render(request, "appeals.html", open=[r for r in rows if r["ruling"] is None],
                      ruled=[r for r in rows if r["ruling"] is not None])

    @app.post("/appeals/{appeal_id}/rule")
    async def rule(request: Request, appeal_id: int, user: User = Depends(current_user)):
        require(user, "admin", "team_lead")
        form = await request.form()
        snap = ws.snapshot()
        decisions.rule_appeal(ws.store, user, appeal_id, ruling=str(form.get("ruling", "")),
                              comment=str(form.get("comment", "")).strip(), team_of=snap.team_of)
        ws.changed()
        return RedirectResponse(str(form.get("back") or "/appeals") if str(form.get("back", "")).startswith("/calls/")
                                else "/appeals", 303)

    # -- accounts (admin) -----------------------------------------------------------------------

    @app.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request, user: User = Depends(current_user)):
        require(user, "admin")
        return render(request, "users.html", accounts=accounts.accounts(ws.engine, settings.lockout),
                      history=accounts.history(ws.engine), roles=auth.ROLES,
                      min_password=auth.MIN_PASSWORD_LENGTH)

    @app.post("/admin/users")
    async def users_add(request: Request, user: User = Depends(current_user)):
        require(user, "admin")
        form = await request.form()
        accounts.add(ws.engine, user, str(form.get("username", "")).strip(), str(form.get("password", "")),
                     role=str(form.get("role", "")), agent_id=str(form.get("agent_id", "")).strip() or None,
                     team=str(form.get("team", "")).strip() or None,
                     display_name=str(form.get("display_name", "")).strip())
        ws.changed()  # an agent's team may have changed
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/change")
    async def users_change(request: Request, username: str, user: User = Depends(current_user)):
        require(user, "admin")
        form = await request.form()
        accounts.change(ws.engine, user, username, role=str(form.get("role", "")) or None,
                        agent_id=str(form.get("agent_id", "")), team=str(form.get("team", "")))
        ws.changed()  # scope and teams may have changed
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/disable")
    def users_disable(username: str, user: User = Depends(current_user)):
        require(user, "admin")
        accounts.set_active(ws.engine, user, username, False)
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/enable")
    def users_enable(username: str, user: User = Depends(current_user)):
        require(user, "admin")
        accounts.set_active(ws.engine, user, username, True)
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/password")
    async def users_password(request: Request, username: str, user: User = Depends(current_user)):
        require(user, "admin")
        form = await request.form()
        accounts.reset_password(ws.engine, user, username, str(form.get("password", "")))
        return RedirectResponse("/admin/users", 303)

    @app.post("/admin/users/{username}/unlock")
    def users_unlock(username: str, user: User = Depends(current_user)):
        require(user, "admin")
        accounts.unlock(ws.engine, user, username, settings.lockout)
        return RedirectResponse("/admin/users", 303)

    # -- review queue -----------------------------------------------------------------------------

    @app.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, user: User = Depends(current_user)):
        require(user, "admin", "qa_reviewer")
        snap = ws.snapshot()
        pending = _mask(pending_findings(snap.findings), unmasked(user))
        sampled = sampled_calls(snap.calls, snap.findings, settings.sampling, decisions.checked_calls(ws.engine))
        return render(request, "queue.html", pending=_records(pending), sampled=_records(sampled),
                      share=settings.sampling.random_share)

    # -- search -------------------------------------------------------------------------------

    @app.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "", rule: str = "", agent: str = "", since: str = "",
                    until: str = "", min_score: str = "", max_score: str = "",
                    user: User = Depends(current_user)):
        ws.sync_search()
        snap = ws.snapshot()
        calls = _scope(snap.calls, _visible_agents(user, snap.team_of))
        searched = any((q, rule, agent, since, until, min_score, max_score))
        if agent:
            calls = calls[calls["agent_id"] == agent]
        calls = _between(calls, pd.Timestamp(since) if since else None, pd.Timestamp(until) if until else None)
        try:
            if min_score:
                calls = calls[calls["score"] >= float(min_score)]
            if max_score:
                calls = calls[calls["score"] <= float(max_score)]
        except ValueError as e:
            raise HTTPException(400, f"score bounds must be numbers: {e}") from e
        if rule and not snap.findings.empty:
            hit = snap.findings[(snap.findings["rule_id"] == rule) & (snap.findings["status"] != "rejected")]
            calls = calls[calls["call_id"].isin(set(hit["call_id"]))]
        hits: dict[str, list[dict]] = {}
        if q.strip():
            found = search.search_phrase(ws.engine, q)
            found = found[found["call_id"].isin(set(calls["call_id"]))]
            calls = calls[calls["call_id"].isin(set(found["call_id"]))]
            for cid, group in found.groupby("call_id"):
                transcript = ws.store.load_transcript(str(cid))
                shown = transcript if unmasked(user) else redact_transcript(transcript)
                hits[str(cid)] = [{"idx": int(i), "start_s": s, "speaker": sp, "text": shown.utterances[int(i)].text}
                                  for i, s, sp in zip(group["idx"], group["start_s"], group["speaker"], strict=True)
                                  if int(i) < len(shown.utterances)][:5]
        rules = sorted(snap.findings["rule_id"].unique()) if not snap.findings.empty else []
        agents = sorted(a for a in _scope(snap.calls, _visible_agents(user, snap.team_of))["agent_id"].dropna().unique())
        results = _records(calls.sort_values("recorded_at", ascending=False).head(200)) if searched else []
        return render(request, "search.html", q=q, rule=rule, agent=agent, since=since, until=until,
                      min_score=min_score, max_score=max_score, rules=rules, agents=agents,
                      results=results, hits=hits, searched=searched, n_results=len(calls) if searched else 0)

    # -- calibration --------------------------------------------------------------------------

    @app.get("/calibration", response_class=HTMLResponse)
    def calibration(request: Request, user: User = Depends(current_user)):
        require(user, "admin", "qa_reviewer", "team_lead")
        snap = ws.snapshot()
        precision = ws.store.rule_precision()
        findings = snap.findings
        reviewed = findings[findings["decision"].notna()] if not findings.empty else findings
        weekly: list[dict] = []
        chart = Markup("")
        by_reviewer: list[dict] = []
        if not reviewed.empty:
            stamped = reviewed.assign(week=pd.to_datetime(reviewed["decided_at"]).dt.to_period("W-SUN").dt.start_time)
            table = (stamped.assign(confirmed=stamped["decision"] == "confirm")
                     .groupby(["rule_id", "week"]).agg(reviewed=("decision", "size"), confirmed=("confirmed", "sum"))
                     .reset_index())
            table["precision"] = table["confirmed"] / table["reviewed"]
            weekly = _records(table.sort_values(["rule_id", "week"]))
            overall = stamped.groupby("week").agg(reviewed=("decision", "size"),
                                                  confirmed=("decision", lambda s: int((s == "confirm").sum())))
            chart = charts.line_chart([f"{w:%m-%d}" for w in overall.index],
                                      list(100 * overall["confirmed"] / overall["reviewed"]),
                                      title="Share of reviewed findings confirmed per week (%)")
            by_reviewer = _records(stamped.groupby("reviewer").agg(
                reviewed=("decision", "size"), confirmed=("decision", lambda s: int((s == "confirm").sum())))
                .reset_index())
        n_reviewed = len(reviewed)
        agreement = float((reviewed["decision"] == "confirm").mean()) if n_reviewed else math.nan
        appeals = decisions.appeals_frame(ws.engine)
        appeal_rows = []
        if not appeals.empty:
            ruled = appeals[appeals["ruling"].notna()]
            for rule_id, group in appeals.groupby("rule_id"):
                done = ruled[ruled["rule_id"] == rule_id]
                appeal_rows.append({"rule_id": rule_id, "filed": len(group), "ruled": len(done),
                                    "upheld": int((done["ruling"] == "uphold").sum())})
        return render(request, "calibration.html", precision=_records(precision), weekly=weekly, chart=chart,
                      by_reviewer=by_reviewer, agreement=agreement, n_reviewed=n_reviewed, appeals=appeal_rows)

    return app


def check_can_serve(engine, host: str) -> None:
    """Refuse a non-loopback address while no admin account exists (nobody could manage it)."""
    from webapp.settings import is_loopback

    if not is_loopback(host) and not auth.has_active_admin(engine):
        raise CallQAError(
            f"refusing to serve on {host}: the database has no active admin account; create one first with "
            "`callqa users add NAME --role admin`, or serve on 127.0.0.1")


def serve(settings: WebSettings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn (blocking). Forwarded headers are read by the app itself, from
    ``settings.trusted_proxies`` only."""
    import uvicorn

    store = open_store(settings.db_url, scoring=ScoringOptions(pass_score=settings.pass_score))
    create_web_tables(store.engine)
    check_can_serve(store.engine, host)
    app = create_app(settings, store=store)
    uvicorn.run(app, host=host, port=port, proxy_headers=False, log_level="warning", server_header=False)



