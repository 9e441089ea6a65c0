"""The review workspace through FastAPI's TestClient: access rules, CSRF, lockout, reviews, appeals, search."""
from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pipeline.store import open_store

from tests.webapp_factory import PASSWORD, build_workspace
from webapp import auth, check_can_serve, create_app
from webapp.auth import LockoutPolicy
from webapp.settings import WebSettings

POSTGRES_URL = os.environ.get("CALLQA_TEST_POSTGRES_URL")


def reset_postgres(url: str) -> None:
    """A shared server database starts each test empty (store and web tables alike)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One SQLite workspace built once (argon2 hashing is deliberately slow); each test gets a copy."""
    root = tmp_path_factory.mktemp("webapp")
    build_workspace(f"sqlite:///{root / 'callqa.db'}", root / "audio").close()
    return root


def _sqlite_copy(template, tmp_path):
    shutil.copyfile(template / "callqa.db", tmp_path / "callqa.db")
    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    return open_store(url), url


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace(request, tmp_path, template):
    if request.param == "sqlite":
        store, url = _sqlite_copy(template, tmp_path)
    elif POSTGRES_URL:
        url = POSTGRES_URL
        reset_postgres(url)
        store = build_workspace(url, tmp_path / "audio")
    else:
        pytest.skip("set CALLQA_TEST_POSTGRES_URL to run the web app tests on PostgreSQL")
    settings = WebSettings(db_url=url, audio_root=template / "audio", cache_s=0,
                           lockout=LockoutPolicy(max_failures=5, lockout_s=60))
    yield store, settings
    store.close()


@pytest.fixture
def sqlite_workspace(tmp_path, template):
    store, url = _sqlite_copy(template, tmp_path)
    yield store, WebSettings(db_url=url, audio_root=template / "audio", cache_s=0)
    store.close()


def client_for(workspace, **kwargs) -> TestClient:
    store, settings = workspace
    return TestClient(create_app(settings, store=store), **kwargs)


def token(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    form = client.get("/login")
    return client.post("/login", data={"csrf_token": token(form.text), "username": username,
                                       "password": password, "next": "/"}, follow_redirects=False)


def signed_in(workspace, username: str, **kwargs) -> TestClient:
    client = client_for(workspace, **kwargs)
    assert login(client, username).status_code == 303
    return client


def score_of(client: TestClient, call_id: str) -> str:
    return re.search(r'id="call-score">([^<]+)<', client.get(f"/calls/{call_id}").text).group(1)


def review(client: TestClient, call_id: str, key: str, decision: str, **extra):
    page = client.get(f"/calls/{call_id}").text
    return client.post(f"/calls/{call_id}/review", data={
        "csrf_token": token(page), "rulebook_version": "1.0", "finding_key": key, "decision": decision,
        "comment": "checked the recording", **extra}, follow_redirects=False)


# -- sessions and login -----------------------------------------------------------------------------

def test_login_sets_httponly_samesite_cookie_and_secure_only_over_https(sqlite_workspace):
    response = login(client_for(sqlite_workspace), "reviewer")
    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303 and "callqa_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    https = login(client_for(sqlite_workspace, base_url="https://testserver"), "reviewer")
    assert "secure" in https.headers["set-cookie"].lower()


def test_pages_need_a_session(sqlite_workspace):
    client = client_for(sqlite_workspace)
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/calls/c1/audio").status_code == 401


def test_wrong_password_five_times_locks_the_login_for_a_while(workspace):
    client = client_for(workspace)
    for _ in range(4):
        assert login(client, "reviewer", "wrong-password").status_code == 401
    locked = login(client, "reviewer", "wrong-password")
    assert locked.status_code == 429 and "locked" in locked.text
    assert login(client, "reviewer").status_code == 429  # even the right password, while locked
    assert login(client, "admin").status_code == 303  # other users are not affected
    store, settings = workspace
    later = auth.now() + timedelta(seconds=settings.lockout.lockout_s + 1)
    assert auth.locked_until(store.engine, "reviewer", settings.lockout) is not None
    assert auth.locked_until(store.engine, "reviewer", settings.lockout, at=later) is None


def test_post_without_csrf_token_is_refused(sqlite_workspace):
    client = signed_in(sqlite_workspace, "reviewer")
    data = {"rulebook_version": "1.0", "finding_key": "harsh_negation@2:不归我们管", "decision": "reject"}
    assert client.post("/calls/c1/review", data=data).status_code == 403
    assert client.post("/calls/c1/review", data={**data, "csrf_token": "forged"}).status_code == 403
    assert score_of(client, "c1") == "85"  # nothing was recorded
    assert client.post("/logout", data={}).status_code == 403
    fresh = client_for(sqlite_workspace)
    assert fresh.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 403


def test_disabled_user_loses_session_and_cannot_log_in(sqlite_workspace):
    store, _ = sqlite_workspace
    client = signed_in(sqlite_workspace, "reviewer")
    auth.disable_user(store.engine, "reviewer")
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert login(client_for(sqlite_workspace), "reviewer").status_code == 401


def test_password_is_stored_as_argon2_hash(sqlite_workspace):
    store, _ = sqlite_workspace
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM web_users WHERE username = 'admin'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# -- who sees what ----------------------------------------------------------------------------

def test_agent_sees_own_calls_and_audio_only(workspace):
    client = signed_in(workspace, "agent.b01")
    assert client.get("/calls/t1").status_code == 200
    assert client.get("/calls/c1").status_code == 403
    assert client.get("/calls/c1/audio").status_code == 403
    assert client.get("/agents/A01").status_code == 403
    assert client.get("/queue").status_code == 403
    ranged = client.get("/calls/t1/audio", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.headers["content-range"].startswith("bytes 0-99/")
    assert len(ranged.content) == 100
    assert client.get("/", follow_redirects=False).headers["location"] == "/agents/B01"
    assert "c1" not in client.get("/search?q=请问").text


def test_team_lead_sees_their_team_only(sqlite_workspace):
    client = signed_in(sqlite_workspace, "lead.north")
    assert client.get("/calls/c1").status_code == 200 and client.get("/calls/c4").status_code == 200
    assert client.get("/calls/t1").status_code == 403 and client.get("/calls/t1/audio").status_code == 403
    overview = client.get("/").text
    assert 'data-agent="A01"' in overview and 'data-agent="B01"' not in overview


def test_personal_data_masked_unless_the_role_may_see_it(sqlite_workspace):
    reviewer = signed_in(sqlite_workspace, "reviewer").get("/calls/c1").text
    assert "13812345678" not in reviewer and "[手机号]" in reviewer and "建国路" not in reviewer
    admin = signed_in(sqlite_workspace, "admin").get("/calls/c1").text
    assert "13812345678" in admin


def test_server_refuses_non_loopback_host_without_admin(tmp_path):
    from pipeline.errors import CallQAError
    from pipeline.store import open_store
    from webapp.db import create_web_tables

    with open_store(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        create_web_tables(store.engine)
        check_can_serve(store.engine, "127.0.0.1")
        with pytest.raises(CallQAError, match="no active admin"):
            check_can_serve(store.engine, "0.0.0.0")
        auth.add_user(store.engine, "boss", PASSWORD, role="admin")
        check_can_serve(store.engine, "0.0.0.0")


# -- reviews, appeals, history ------------------------------------------------------------------

def test_reviewer_reject_rescores_call_and_scorecard(workspace):
    client = signed_in(workspace, "reviewer")
    before = re.search(r'id="mean-score">([^<]+)<', client.get("/agents/A01").text).group(1)
    assert score_of(client, "c1") == "85"
    assert review(client, "c1", "harsh_negation@2:不归我们管", "reject").status_code == 303
    assert score_of(client, "c1") == "100"
    after = re.search(r'id="mean-score">([^<]+)<', client.get("/agents/A01").text).group(1)
    assert float(after) == pytest.approx(float(before) + 5.0)  # +15 on one of three calls
    page = client.get("/calls/c1").text
    assert "review_reject" in page and "score 85.0" in page and "score 100.0" in page
    assert "rejected by reviewer" in page
    # confirming the needs_review finding deducts its points
    review(client, "c1", "no_apology@1:宽带", "confirm")
    assert score_of(client, "c1") == "95"


def test_agent_and_team_lead_may_not_review(sqlite_workspace):
    for username in ("agent.a01", "lead.north"):
        client = signed_in(sqlite_workspace, username)
        page = client.get("/calls/c1").text
        response = client.post("/calls/c1/review", data={"csrf_token": token(page), "rulebook_version": "1.0",
                                                         "finding_key": "harsh_negation@2:不归我们管", "decision": "reject"})
        assert response.status_code == 403


def appeal(client: TestClient, call_id: str, key: str, reason: str = "the customer asked me to transfer"):
    page = client.get(f"/calls/{call_id}").text
    return client.post(f"/calls/{call_id}/appeal", data={"csrf_token": token(page), "rulebook_version": "1.0",
                                                         "finding_key": key, "reason": reason}, follow_redirects=False)


def rule(client: TestClient, appeal_id: int, ruling: str):
    page = client.get("/appeals").text
    return client.post(f"/appeals/{appeal_id}/rule", data={"csrf_token": token(page), "ruling": ruling,
                                                           "comment": "listened to it"}, follow_redirects=False)


def test_appeal_upheld_by_team_lead_is_final(workspace):
    key = "harsh_negation@2:不归我们管"
    agent = signed_in(workspace, "agent.a01")
    assert appeal(agent, "c1", key).status_code == 303
    assert appeal(agent, "c1", key).status_code == 409  # one appeal per finding
    assert rule(signed_in(workspace, "lead.south"), 1, "uphold").status_code == 409  # not their team
    assert rule(agent, 1, "uphold").status_code == 403
    lead = signed_in(workspace, "lead.north")
    assert "the customer asked me to transfer" in lead.get("/appeals").text
    assert rule(lead, 1, "uphold").status_code == 303
    assert score_of(agent, "c1") == "100"
    assert rule(lead, 1, "deny").status_code == 409  # final
    reviewer = signed_in(workspace, "reviewer")
    assert review(reviewer, "c1", key, "confirm").status_code == 409  # the ruling stands
    assert score_of(reviewer, "c1") == "100"
    actions = [h for h in re.findall(r"<td>(appeal_\w+|review_\w+)</td>", reviewer.get("/calls/c1").text)]
    assert actions == ["appeal_upheld", "appeal_filed"]


def test_denied_appeal_leaves_the_finding(sqlite_workspace):
    agent = signed_in(sqlite_workspace, "agent.a01")
    appeal(agent, "c3", "harsh_negation@2:不归我们管")
    assert rule(signed_in(sqlite_workspace, "lead.north"), 1, "deny").status_code == 303
    assert score_of(agent, "c3") == "85"
    assert "denied" in agent.get("/appeals").text


def test_agent_cannot_appeal_another_agents_call(sqlite_workspace):
    agent = signed_in(sqlite_workspace, "agent.b01")
    page = agent.get("/calls/t1").text
    response = agent.post("/calls/c1/appeal", data={"csrf_token": token(page), "rulebook_version": "1.0",
                                                    "finding_key": "harsh_negation@2:不归我们管", "reason": "x"})
    assert response.status_code == 403


def test_history_tables_are_append_only(sqlite_workspace):
    store, _ = sqlite_workspace
    review(signed_in(sqlite_workspace, "reviewer"), "c1", "harsh_negation@2:不归我们管", "reject")
    with pytest.raises(Exception, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE web_decisions SET actor = 'someone else'"))
    with pytest.raises(Exception, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM web_decisions"))


# -- queue, search, other pages ---------------------------------------------------------------

def test_queue_lists_needs_review_findings_then_sampled_calls(sqlite_workspace):
    client = signed_in(sqlite_workspace, "reviewer")
    page = client.get("/queue").text
    assert page.index('id="pending"') < page.index('id="sampled"')
    assert "no_apology" in page.split('id="sampled"')[0]
    sampled = page.split('id="sampled"')[1]
    assert "random sample" in sampled
    # marking a sampled call checked takes it off the list
    first = re.search(r'<a href="/calls/(\w+)">', sampled).group(1)
    call_page = client.get(f"/calls/{first}").text
    client.post(f"/calls/{first}/checked", data={"csrf_token": token(call_page)})
    assert f'<a href="/calls/{first}">' not in client.get("/queue").text.split('id="sampled"')[1]


def test_search_finds_traditional_transcript_with_simplified_query_and_back(workspace):
    client = signed_in(workspace, "reviewer")
    for query in ("宽频一直断线", "寬頻一直斷線", "请问", "归我们"):
        page = client.get("/search", params={"q": query}).text
        assert 'data-call="t1"' in page, query
    assert 'data-call="t1"' not in client.get("/search", params={"q": "宽带一直断"}).text
    by_rule = client.get("/search", params={"rule": "no_apology"}).text
    assert 'data-call="c1"' in by_rule and 'data-call="c3"' not in by_rule
    by_score = client.get("/search", params={"min_score": "90"}).text
    assert 'data-call="c2"' in by_score and 'data-call="c1"' not in by_score
    by_agent = client.get("/search", params={"agent": "A02", "since": "2026-11-04", "until": "2026-11-04"}).text
    assert 'data-call="c4"' in by_agent and 'data-call="c3"' not in by_agent


def test_every_page_renders_for_each_role(sqlite_workspace):
    pages = {"admin": ["/", "/queue", "/calls/c1", "/agents/A01", "/agents/A01/coaching", "/search?q=请问",
                       "/calibration", "/appeals"],
             "lead.north": ["/", "/calls/c1", "/agents/A02", "/agents/A01/coaching", "/calibration", "/appeals"],
             "agent.a01": ["/agents/A01", "/calls/c1", "/agents/A01/coaching", "/search?q=请问", "/appeals"]}
    for username, urls in pages.items():
        client = signed_in(sqlite_workspace, username)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url, response.text[:500])
            assert "default-src 'self'" in response.headers["content-security-policy"]


def test_coaching_pack_shows_chosen_findings_with_clips(sqlite_workspace):
    client = signed_in(sqlite_workspace, "lead.north")
    choose = client.get("/agents/A01/coaching").text
    picks = re.findall(r'name="pick" value="([^"]+)"', choose)
    assert len(picks) == 3  # two harsh negations and a finding still waiting for review
    pack = client.get("/agents/A01/coaching", params={"pick": picks[0]}).text
    assert pack.count("<audio class=\"clip") == 1 and "/calls/" in pack and "#t=" in pack
