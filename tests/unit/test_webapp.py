"""The review workspace through FastAPI's TestClient: access rules, CSRF, lockout, reviews, appeals, search."""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from pipeline.errors import CallQAError
from pipeline.store import open_store

from tests.webapp_factory import PASSWORD, build_workspace
from webapp import accounts, auth, check_can_serve, create_app, db
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
    accounts.set_active(store.engine, None, "reviewer", False)
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
    results = client.get("/search?q=请问").text
    # the page's random CSRF token may contain "c1", so look for the result row itself
    assert 'data-call="t1"' in results and 'data-call="c1"' not in results


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


# -- sign-in limits per client address --------------------------------------------------------------

def spray_policy() -> LockoutPolicy:
    return LockoutPolicy(max_failures=5, lockout_s=60, client_max_failures=6, client_window_s=60)


def test_spraying_many_user_names_from_one_address_is_refused(workspace):
    store, settings = workspace
    settings = dataclasses.replace(settings, lockout=spray_policy())
    attacker = TestClient(create_app(settings, store=store))
    for i in range(5):  # one wrong password per name: no user name gets locked
        assert login(attacker, f"guess{i}", "wrong-password").status_code == 401
    sixth = login(attacker, "guess5", "wrong-password")
    assert sixth.status_code == 429 and "network address" in sixth.text
    refused = login(attacker, "admin")  # even the right password, from that address
    assert refused.status_code == 429 and "network address" in refused.text
    assert auth.locked_until(store.engine, "admin", settings.lockout) is None
    # the count is in the database: another worker on the same database refuses too
    assert login(TestClient(create_app(settings, store=store)), "reviewer").status_code == 429
    # other addresses are not slowed, and the block slides away with the window
    assert login(TestClient(create_app(settings, store=store), client=("192.0.2.10", 4000)), "admin").status_code == 303
    later = auth.now() + timedelta(seconds=61)
    assert auth.client_blocked_until(store.engine, "testclient", settings.lockout) is not None
    assert auth.client_blocked_until(store.engine, "testclient", settings.lockout, at=later) is None


def test_a_malformed_trusted_proxy_is_refused_with_the_fix(tmp_path):
    from typer.testing import CliRunner

    from callqa.cli import app

    with pytest.raises(CallQAError, match="not an address or network"):
        WebSettings(trusted_proxies=("10.0.0.0/8", "proxy.local"))
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                                      "--forwarded-allow-ips", "127.0.0.1,10.0.0.300"])
    assert result.exit_code == 2 and "10.0.0.300" in result.output and "--forwarded-allow-ips" in result.output


def test_users_command_manages_accounts_end_to_end(tmp_path):
    """What an admin without a browser does: add, change, lock-out recovery, disable, enable."""
    from typer.testing import CliRunner

    from callqa.cli import app

    url = f"sqlite:///{tmp_path / 'x.db'}"
    run = lambda *args: CliRunner().invoke(app, ["users", *args, "--db", url], env={"CALLQA_PASSWORD": PASSWORD})
    assert run("add", "boss", "--role", "admin").exit_code == 0
    assert run("add", "wang", "--role", "agent", "--agent-id", "A07", "--team", "north").exit_code == 0
    assert run("change", "wang", "--role", "team_lead").exit_code == 0
    refused = run("change", "boss", "--role", "qa_reviewer")
    assert refused.exit_code == 2 and "last active admin" in refused.output
    assert run("unlock", "wang").exit_code == 2  # not locked: said so, not silently done
    assert run("reset-password", "wang").exit_code == 0
    assert run("disable", "wang").exit_code == 0 and run("enable", "wang").exit_code == 0
    listing = run("list").output
    assert re.search(r"wang\s*│\s*team_lead\s*│\s*│\s*north\s*│\s*yes", listing), listing
    store = open_store(url)
    assert [a for _, a, _, _ in account_actions(store)] == ["user_added", "user_added", "user_changed",
                                                           "password_reset", "user_disabled", "user_enabled"]
    store.close()


def test_forwarded_for_is_believed_only_from_trusted_proxies(sqlite_workspace):
    from webapp.settings import client_address

    assert client_address("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"
    assert client_address("10.0.0.1", "1.1.1.1, 203.0.113.7", ("10.0.0.0/8",)) == "203.0.113.7"
    assert client_address("10.0.0.1", "203.0.113.7, 10.0.0.2", ("10.0.0.0/8",)) == "203.0.113.7"
    assert client_address("192.0.2.5", "1.1.1.1", ("10.0.0.0/8",)) == "192.0.2.5"
    store, settings = sqlite_workspace
    # no trusted proxy (the default): a made-up X-Forwarded-For per attempt does not dodge the limit
    direct = TestClient(create_app(dataclasses.replace(settings, lockout=spray_policy()), store=store))
    for i in range(6):
        direct.headers["X-Forwarded-For"] = f"198.51.100.{i}"
        login(direct, f"guess{i}", "wrong-password")
    direct.headers["X-Forwarded-For"] = "198.51.100.99"
    assert login(direct, "admin").status_code == 429
    # behind a trusted proxy the forwarded client is the one counted
    behind = dataclasses.replace(settings, lockout=spray_policy(), trusted_proxies=("10.0.0.1",))
    proxy = TestClient(create_app(behind, store=store), client=("10.0.0.1", 5000))
    proxy.headers["X-Forwarded-For"] = "203.0.113.7"
    for i in range(6):
        login(proxy, f"other{i}", "wrong-password")
    assert login(proxy, "admin").status_code == 429
    proxy.headers["X-Forwarded-For"] = "203.0.113.8"
    assert login(proxy, "admin").status_code == 303
    with store.engine.connect() as conn:
        clients = set(conn.execute(text("SELECT client FROM web_login_attempts")).scalars())
    assert {"testclient", "203.0.113.7", "203.0.113.8"} <= clients and "198.51.100.0" not in clients


# -- users admin page -----------------------------------------------------------------------------

def post_form(client: TestClient, page: str, url: str, **data):
    return client.post(url, data={"csrf_token": token(client.get(page).text), **data}, follow_redirects=False)


def account_actions(store) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT actor, action, before_json, after_json FROM web_decisions "
            "WHERE action IN ('user_added', 'user_changed', 'user_disabled', 'user_enabled', 'password_reset', "
            "'user_unlocked') "
            "ORDER BY id"))]


def test_admin_lists_and_adds_users_and_every_change_is_in_the_history(workspace):
    store, _ = workspace
    admin = signed_in(workspace, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    row = re.search(r'<tr data-user="lead.north">(.*?)</tr>', page.text, re.S).group(1)
    assert "team_lead" in row and "north" in row and "active" in row
    added = post_form(admin, "/admin/users", "/admin/users", username="agent.c07", password="new-agent-pass",
                      role="agent", agent_id="C07", team="north", display_name="Chen")
    assert added.status_code == 303
    assert login(client_for(workspace), "agent.c07", "new-agent-pass").status_code == 303
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM web_users WHERE username = 'agent.c07'")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert post_form(admin, "/admin/users", "/admin/users", username="agent.c07", password="another-pass",
                     role="agent", agent_id="C07").status_code == 400  # taken
    assert post_form(admin, "/admin/users", "/admin/users", username="x", password="short",
                     role="agent", agent_id="X").status_code == 400
    assert post_form(admin, "/admin/users", "/admin/users", username="north/wang", password="long-enough-pass",
                     role="qa_reviewer").status_code == 400  # would break the users page's links
    assert post_form(admin, "/admin/users", "/admin/users", username="王伟", password="long-enough-pass",
                     role="qa_reviewer").status_code == 303
    assert post_form(admin, "/admin/users", "/admin/users/王伟/disable").status_code == 303
    actor, action, before, after = account_actions(store)[-3]
    assert (actor, action, before) == ("admin", "user_added", "{}")
    assert '"agent_id": "C07"' in after and "new-agent-pass" not in after and "argon2" not in after
    assert "agent.c07" in admin.get("/admin/users").text.split('id="account-history"')[1]


def test_admin_disables_enables_resets_password_and_unlocks(workspace):
    store, settings = workspace
    admin = signed_in(workspace, "admin")
    reviewer = signed_in(workspace, "reviewer")
    assert post_form(admin, "/admin/users", "/admin/users/reviewer/disable").status_code == 303
    assert reviewer.get("/queue", follow_redirects=False).status_code == 303  # session ended
    assert login(client_for(workspace), "reviewer").status_code == 401
    assert "disabled" in re.search(r'<tr data-user="reviewer">(.*?)</tr>', admin.get("/admin/users").text, re.S).group(1)
    assert post_form(admin, "/admin/users", "/admin/users/reviewer/enable").status_code == 303
    reviewer = signed_in(workspace, "reviewer")
    assert post_form(admin, "/admin/users", "/admin/users/reviewer/password", password="brand-new-pass").status_code == 303
    assert reviewer.get("/queue", follow_redirects=False).status_code == 303  # old session ended with the old password
    assert login(client_for(workspace), "reviewer").status_code == 401
    assert login(client_for(workspace), "reviewer", "brand-new-pass").status_code == 303
    # a locked user name shows as locked and the admin lifts the lock
    for _ in range(5):
        login(client_for(workspace), "lead.south", "wrong-password")
    assert "locked until" in re.search(r'<tr data-user="lead.south">(.*?)</tr>', admin.get("/admin/users").text, re.S).group(1)
    assert login(client_for(workspace), "lead.south").status_code == 429
    assert post_form(admin, "/admin/users", "/admin/users/lead.south/unlock").status_code == 303
    assert login(client_for(workspace), "lead.south").status_code == 303
    assert post_form(admin, "/admin/users", "/admin/users/lead.south/unlock").status_code == 400  # not locked now
    with store.engine.connect() as conn:  # the failures stay recorded
        assert conn.execute(text("SELECT count(*) FROM web_login_attempts WHERE username = 'lead.south' "
                                 "AND NOT ok")).scalar_one() == 5
    actions = [(a, act) for a, act, _, _ in account_actions(store)]
    assert actions == [("admin", "user_disabled"), ("admin", "user_enabled"), ("admin", "password_reset"),
                       ("admin", "user_unlocked")]
    _, _, before, after = account_actions(store)[0]
    assert '"active": true' in before and '"active": false' in after
    assert all("brand-new-pass" not in b + a for _, _, b, a in account_actions(store))


def test_admin_changes_a_role_and_it_applies_to_the_open_session(workspace):
    store, _ = workspace
    admin = signed_in(workspace, "admin")
    agent = signed_in(workspace, "agent.a01")
    assert agent.get("/queue").status_code == 403
    assert post_form(admin, "/admin/users", "/admin/users/agent.a01/change", role="qa_reviewer",
                     agent_id="", team="").status_code == 303
    assert agent.get("/queue").status_code == 200  # same session, new rights
    row = re.search(r'<tr data-user="agent.a01">(.*?)</tr>', admin.get("/admin/users").text, re.S).group(1)
    assert "<td>qa_reviewer</td>" in row
    # a team lead needs a team, a role must exist, and nothing-to-change is refused
    assert post_form(admin, "/admin/users", "/admin/users/agent.a01/change", role="team_lead",
                     team="").status_code == 400
    assert post_form(admin, "/admin/users", "/admin/users/agent.a01/change", role="owner").status_code == 400
    assert post_form(admin, "/admin/users", "/admin/users/agent.a01/change", role="qa_reviewer").status_code == 400
    # the admin can neither demote themself nor the last admin
    assert post_form(admin, "/admin/users", "/admin/users/admin/change", role="qa_reviewer").status_code == 400
    with pytest.raises(auth.AuthError, match="last active admin"):
        accounts.change(store.engine, None, "admin", role="qa_reviewer")
    actor, action, before, after = account_actions(store)[-1]
    assert (actor, action) == ("admin", "user_changed")
    assert '"role": "agent"' in before and '"role": "qa_reviewer"' in after and '"agent_id": null' in after


def test_admin_cannot_lock_out_the_last_admin_and_others_may_not_manage_users(sqlite_workspace):
    store, _ = sqlite_workspace
    admin = signed_in(sqlite_workspace, "admin")
    assert post_form(admin, "/admin/users", "/admin/users/admin/disable").status_code == 400  # self
    auth.add_user(store.engine, "boss2", PASSWORD, role="admin")
    boss2 = signed_in(sqlite_workspace, "boss2")
    assert post_form(boss2, "/admin/users", "/admin/users/admin/disable").status_code == 303
    assert post_form(boss2, "/admin/users", "/admin/users/boss2/disable").status_code == 400
    from webapp import accounts
    with pytest.raises(auth.AuthError, match="last active admin"):
        accounts.set_active(store.engine, None, "boss2", False)
    for username in ("reviewer", "lead.north", "agent.a01"):
        client = signed_in(sqlite_workspace, username)
        assert client.get("/admin/users").status_code == 403
        assert post_form(client, "/appeals", "/admin/users/agent.b01/disable").status_code == 403
        assert "/admin/users" not in client.get("/appeals").text  # no menu entry either


# -- every route guards itself ------------------------------------------------------------------------

PUBLIC_ROUTES = {("GET", "/assets/{name}"), ("GET", "/healthz"), ("GET", "/login"), ("POST", "/login")}
ANY_SIGNED_IN = {("GET", "/"), ("POST", "/logout"), ("GET", "/agents/{agent_id}"), ("GET", "/agents/{agent_id}/coaching"),
                 ("GET", "/calls/{call_id}"), ("GET", "/calls/{call_id}/audio"), ("POST", "/calls/{call_id}/appeal"),
                 ("GET", "/appeals"), ("GET", "/search")}
"""Routes every role may open (each still limits what it shows to the user's own scope)."""
ROLE_ONLY = {("GET", "/queue"), ("POST", "/calls/{call_id}/review"), ("POST", "/calls/{call_id}/checked"),
             ("GET", "/calibration"), ("POST", "/appeals/{appeal_id}/rule"),
             ("GET", "/admin/users"), ("POST", "/admin/users"), ("POST", "/admin/users/{username}/disable"),
             ("POST", "/admin/users/{username}/enable"), ("POST", "/admin/users/{username}/change"), ("POST", "/admin/users/{username}/password"),
             ("POST", "/admin/users/{username}/unlock")}
"""Routes for admins, reviewers or team leads only: an agent gets 403."""
PATH_VALUES = {"name": "style.css", "agent_id": "A01", "call_id": "c1", "appeal_id": "1", "username": "agent.b01"}


def app_routes(app) -> set[tuple[str, str]]:
    from fastapi.routing import APIRoute

    routes = set()
    for route in app.routes:
        assert isinstance(route, APIRoute), f"{route}: not an APIRoute; classify and test it here"
        routes |= {(method, route.path) for method in route.methods if method != "HEAD"}
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_route_is_classified_and_guarded(sqlite_workspace):
    """A new route must be listed above, and then it is held to its class's rules."""
    app = create_app(sqlite_workspace[1], store=sqlite_workspace[0])
    routes = app_routes(app)
    assert routes == PUBLIC_ROUTES | ANY_SIGNED_IN | ROLE_ONLY, "a route was added or removed: classify it above"
    anonymous = TestClient(app)
    for method, path in sorted(routes - PUBLIC_ROUTES):
        response = anonymous.request(method, concrete(path), follow_redirects=False)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), (method, path)
        else:
            assert response.status_code in (401, 403), (method, path, response.status_code)
    reviewer = signed_in(sqlite_workspace, "reviewer")
    for method, path in sorted(r for r in routes if r[0] == "POST"):
        assert reviewer.post(concrete(path), data={}).status_code == 403, (method, path)
        assert reviewer.post(concrete(path), data={"csrf_token": "forged"}).status_code == 403, (method, path)
    agent = signed_in(sqlite_workspace, "agent.a01")
    csrf = token(agent.get("/appeals").text)
    for method, path in sorted(ROLE_ONLY):
        response = agent.request(method, concrete(path), data={"csrf_token": csrf} if method == "POST" else None,
                                 follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)
    assert agent.get("/calls/c1").status_code == 200  # the agent's session still works


# -- personal data on every text page ---------------------------------------------------------------

PHONE = "13812345678"


def test_personal_data_is_masked_on_every_text_page_for_roles_that_may_not_see_it(workspace):
    from tests.report_factory import finding, qa, transcript

    store, _ = workspace
    leak = finding("no_apology", weight=5.0, category="courtesy", needs_review=True, utterance_index=1,
                   start_s=4.5, quote=f"我的手机号是{PHONE}", pattern="手机号")
    store.save_call(transcript("p1", "A01", "2026-11-04T15:00"), qa("p1", "A01", "2026-11-04T15:00", findings=(leak,)))
    reviewer = signed_in(workspace, "reviewer")
    assert review(reviewer, "c1", "no_apology@1:宽带", "confirm", comment=f"客户手机{PHONE}").status_code == 303
    assert appeal(signed_in(workspace, "agent.a01"), "c1", "harsh_negation@2:不归我们管",
                  reason=f"客户让我回电{PHONE}").status_code == 303
    pick = "p1|no_apology@1:手机号"
    pages = {
        "reviewer": ["/calls/c1", "/calls/p1", "/search?q=手机号", f"/agents/A01/coaching?pick={pick}",
                     "/agents/A01", "/queue", "/appeals"],
        "lead.north": ["/calls/c1", "/calls/p1", "/search?q=手机号", f"/agents/A01/coaching?pick={pick}",
                       "/agents/A01", "/appeals"],
        "agent.a01": ["/calls/c1", "/calls/p1", "/search?q=手机号", f"/agents/A01/coaching?pick={pick}",
                      "/agents/A01", "/appeals"],
    }
    for username, urls in pages.items():
        client = signed_in(workspace, username)
        for url in urls:
            page = client.get(url)
            assert page.status_code == 200, (username, url)
            assert PHONE not in page.text, (username, url)
        assert "[手机号]" in client.get("/calls/c1").text and "[手机号]" in client.get("/appeals").text
    admin = signed_in(workspace, "admin")  # the check above would see a leak: admins get the real text
    for url in ["/calls/c1", "/calls/p1", "/search?q=手机号", f"/agents/A01/coaching?pick={pick}", "/queue", "/appeals"]:
        assert PHONE in admin.get(url).text, url


def test_serve_refuses_a_public_address_before_listening_without_an_admin(tmp_path, monkeypatch):
    import uvicorn

    from webapp import serve

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn started"))
    settings = WebSettings(db_url=f"sqlite:///{tmp_path / 'empty.db'}")
    for host in ("0.0.0.0", "::", "192.0.2.1", "qa.example.com"):
        with pytest.raises(CallQAError, match="no active admin"):
            serve(settings, host=host)
    with open_store(settings.db_url) as store:
        auth.add_user(store.engine, "boss", PASSWORD, role="admin")
        with store.engine.begin() as conn:  # the page refuses to disable the last admin; an old database may hold one
            conn.execute(update(db.users).where(db.users.c.username == "boss").values(active=False))
    with pytest.raises(CallQAError, match="no active admin"):  # a disabled admin does not count
        serve(settings, host="0.0.0.0")
    for host in ("127.0.0.1", "localhost", "::1"):
        check_can_serve(open_store(settings.db_url).engine, host)
