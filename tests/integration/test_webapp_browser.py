"""The review workspace in real headless Chromium (one server and one browser per database).

Runs on SQLite, and on PostgreSQL when ``CALLQA_TEST_POSTGRES_URL`` is set. Needs Debian's
``chromium`` and ``chromium-driver`` and the ``selenium`` package; skips cleanly without them.
Screenshots go to ``$CALLQA_SCREENSHOT_DIR`` (default: a temporary folder).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.integration.test_report_browser import CHROMEDRIVER, CHROMIUM, FLAGS, wait_for
from tests.webapp_factory import PASSWORD, build_workspace

pytestmark = pytest.mark.browser

POSTGRES_URL = os.environ.get("CALLQA_TEST_POSTGRES_URL")
HARSH = "harsh_negation@2:不归我们管"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """The app under uvicorn in a thread, over a fresh workspace database."""
    import uvicorn

    from webapp import WebSettings, create_app

    root = tmp_path_factory.mktemp(f"web-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'callqa.db'}"
    elif POSTGRES_URL:
        from tests.unit.test_webapp import reset_postgres

        url = POSTGRES_URL
        reset_postgres(url)
    else:
        pytest.skip("set CALLQA_TEST_POSTGRES_URL to run the browser tests on PostgreSQL")
    store = build_workspace(url, root / "audio")
    app = create_app(WebSettings(db_url=url, audio_root=root / "audio", cache_s=0), store=store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(timeout=10)
    store.close()


def shots(tmp_path_factory) -> Path:
    target = Path(os.environ.get("CALLQA_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    target.mkdir(parents=True, exist_ok=True)
    return target


def sign_in(driver, base: str, username: str, password: str = PASSWORD) -> None:
    driver.get_log("browser")  # drop what earlier tests logged (some saw 401/403 on purpose)
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element("id", "username").send_keys(username)
    driver.find_element("id", "password").send_keys(password)
    driver.find_element("id", "sign-in").click()
    wait_for(driver, "return document.readyState === 'complete' && !location.pathname.startsWith('/login') "
                     "|| !!document.getElementById('login-error')")


def text_of(driver, css: str) -> str:
    return driver.find_element("css selector", css).text.strip()


def no_console_errors(driver) -> None:
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def finding_item(driver, key: str):
    return driver.find_element("css selector", f'li.finding[data-key="{key}"]')


def test_reviewer_rejects_finding_and_score_and_scorecard_change(browser, server, tmp_path_factory):
    sign_in(browser, server, "reviewer")
    browser.get(f"{server}/agents/A01")
    mean_before = float(text_of(browser, "#mean-score"))
    browser.get(f"{server}/calls/c1")
    assert text_of(browser, "#call-score") == "85"
    wait_for(browser, "return document.getElementById('player').readyState >= 1")
    item = finding_item(browser, HARSH)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", item)
    item.find_element("css selector", "b").click()  # clicking the finding seeks the recording
    wait_for(browser, "return document.getElementById('player').currentTime >= 12.45")
    browser.execute_script("document.getElementById('player').pause(); window.scrollTo(0, 0)")
    browser.save_screenshot(str(shots(tmp_path_factory) / "webapp-call.png"))
    item = finding_item(browser, HARSH)
    item.find_element("css selector", "form.review input.comment").send_keys("polite refusal, not harsh")
    item.find_element("css selector", "form.review button.reject").click()
    wait_for(browser, "var s = document.getElementById('call-score'); return s && s.textContent.trim() === '100'")
    assert finding_item(browser, HARSH).get_attribute("data-status") == "rejected"
    assert "review_reject" in text_of(browser, "#history")
    browser.get(f"{server}/agents/A01")
    assert float(text_of(browser, "#mean-score")) == pytest.approx(mean_before + 5.0)
    browser.get(f"{server}/queue")
    browser.save_screenshot(str(shots(tmp_path_factory) / "webapp-queue.png"))
    no_console_errors(browser)


def test_agent_appeals_and_team_lead_upholds(browser, server):
    sign_in(browser, server, "agent.a01")
    browser.get(f"{server}/calls/c3")
    item = finding_item(browser, HARSH)
    item.find_element("css selector", "input.reason").send_keys("客户要求转接，我是在解释流程")
    item.find_element("css selector", "button.appeal-btn").click()
    wait_for(browser, "return !!document.querySelector('li.finding .appeal .ruling')")
    assert "open" in text_of(browser, f'li.finding[data-key="{HARSH}"] .appeal .ruling')
    assert text_of(browser, "#call-score") == "85"

    sign_in(browser, server, "lead.north")
    browser.get(f"{server}/appeals")
    row = browser.find_element("css selector", "#open-appeals tbody tr")
    assert "客户要求转接" in row.text
    row.find_element("css selector", "input.comment").send_keys("agreed after listening")
    row.find_element("css selector", "button.uphold").click()
    wait_for(browser, "return !!document.getElementById('ruled-appeals')")
    assert "upheld by lead.north" in text_of(browser, "#ruled-appeals")
    assert "85 → 100" in text_of(browser, "#ruled-appeals")
    browser.get(f"{server}/calls/c3")
    assert text_of(browser, "#call-score") == "100"
    assert "(final)" in text_of(browser, f'li.finding[data-key="{HARSH}"] .appeal')
    no_console_errors(browser)


def fetch_status(driver, url: str, headers: dict | None = None) -> int:
    return driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {headers: arguments[1], credentials: 'same-origin'})"
        ".then(function (r) { done(r.status); }).catch(function () { done(-1); });", url, headers or {})


def test_agent_opening_another_agents_call_or_audio_gets_403(browser, server):
    sign_in(browser, server, "agent.b01")
    browser.get(f"{server}/calls/c1")
    assert text_of(browser, "h1.error-status") == "403"
    assert fetch_status(browser, f"{server}/calls/c1/audio") == 403
    assert fetch_status(browser, f"{server}/calls/t1/audio", {"Range": "bytes=0-1023"}) == 206
    browser.get(f"{server}/calls/t1")
    wait_for(browser, "return document.getElementById('player').readyState >= 1")


def test_form_posted_without_csrf_token_gets_403(browser, server):
    sign_in(browser, server, "reviewer")
    browser.get(f"{server}/calls/t1")
    form = browser.find_element("css selector", "li.finding form.review")
    browser.execute_script("arguments[0].querySelector('input[name=csrf_token]').remove()", form)
    form.find_element("css selector", "button.reject").click()
    wait_for(browser, "return !!document.querySelector('h1.error-status')")
    assert text_of(browser, "h1.error-status") == "403"
    browser.get(f"{server}/calls/t1")
    assert text_of(browser, "#call-score") == "85"  # nothing changed


def test_five_wrong_passwords_lock_the_login(browser, server):
    for attempt in range(5):
        sign_in(browser, server, "lead.south", "not-the-password")
        message = text_of(browser, "#login-error")
        assert ("locked" in message) == (attempt == 4), message
    sign_in(browser, server, "lead.south")  # right password, still locked
    assert "locked" in text_of(browser, "#login-error")


def test_search_finds_phrase_in_traditional_transcript(browser, server):
    sign_in(browser, server, "reviewer")
    browser.get(f"{server}/search")
    browser.find_element("id", "q").send_keys("宽频一直断线")  # Simplified query
    browser.find_element("id", "search-btn").click()
    wait_for(browser, "return !!document.getElementById('results')")
    rows = browser.find_elements("css selector", "#results tbody tr")
    assert [r.get_attribute("data-call") for r in rows] == ["t1"]
    assert "寬頻一直斷線" in rows[0].text  # shown as the transcript has it
    no_console_errors(browser)



def test_admin_adds_a_user_on_the_users_page_who_then_signs_in(browser, server):
    sign_in(browser, server, "admin")
    browser.get(f"{server}/admin/users")
    browser.find_element("id", "new-username").send_keys("reviewer.two")
    browser.find_element("css selector", "#new-role option[value=qa_reviewer]").click()
    browser.find_element("id", "new-password").send_keys("second-reviewer-1")
    browser.find_element("id", "add-user-btn").click()
    wait_for(browser, "return !!document.querySelector('tr[data-user=\"reviewer.two\"]')")
    assert "user_added" in text_of(browser, "#account-history")
    sign_in(browser, server, "reviewer.two", "second-reviewer-1")
    browser.get(f"{server}/queue")
    assert browser.find_element("css selector", "h1").text.strip() == "Review queue"
    no_console_errors(browser)
