"""The sandbox in a real browser: Debian's headless Chromium driven by Selenium through Debian's chromedriver
(nothing downloaded at run time). One sandbox and one browser for the module; each test makes sure of what it
needs (a linked account, a card), so the order of the tests does not matter."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.processes import free_port
from sandbox.run import Sandbox

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason=f"no browser: apt-get install chromium chromium-driver ({CHROMIUM}, {CHROMEDRIVER})"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the `test` extra)")
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

WAIT = 15


class Running:
    """The sandbox on its own thread and event loop, as `python -m bot sandbox` runs it."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.sandbox = Sandbox("127.0.0.1", self.port, data_dir)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Running:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sandbox.__aenter__(), self._loop).result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sandbox.stop(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with Running(tmp_path_factory.mktemp("sandbox")) as r:
        yield r


@pytest.fixture(scope="module")
def browser(running: Running) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.get(f"http://127.0.0.1:{running.port}/")
    yield driver
    driver.quit()


def until(driver: Any, find: Callable[[Any], Any], what: str) -> Any:
    def attempt(d: Any) -> Any:
        try:
            return find(d)
        except (NoSuchElementException, StaleElementReferenceException):
            return None
    return WebDriverWait(driver, WAIT, 0.05).until(attempt, f"waited {WAIT} s for {what}")


def home_page(driver: Any, me: str = "Alice") -> None:
    """#general as `me`, nothing open over it."""
    driver.switch_to.window(driver.window_handles[0])
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "body[data-ready=yes]"), "the page's first state")
    def closed(d: Any) -> bool:
        for close in d.find_elements(By.CSS_SELECTOR, '[data-role="modal-close"]'):
            close.click()
        return not d.find_elements(By.CSS_SELECTOR, ".modal-shade")
    until(driver, closed, "no modal open")
    Select(driver.find_element(By.ID, "me")).select_by_visible_text(me)
    driver.find_element(By.ID, "nav-channel").click()


def type_in(driver: Any, text: str) -> None:
    box = driver.find_element(By.ID, "box")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def buttons(driver: Any, action_id: str, scope: str = "#messages") -> list[WebElement]:
    return list(driver.find_elements(By.CSS_SELECTOR, f'{scope} button[data-action-id="{action_id}"]'))


def last_card(driver: Any) -> WebElement:
    """The newest channel message that has a Join button."""
    cards = [m for m in driver.find_elements(By.CSS_SELECTOR, "#messages .msg:not(.ephemeral)")
             if m.find_elements(By.CSS_SELECTOR, 'button[data-action-id="meet_join"]')]
    if not cards:
        raise NoSuchElementException("no meeting card")
    return cards[-1]


def press(driver: Any, css: str, what: str, within: Callable[[Any], WebElement] | None = None) -> None:
    """Click an element, finding it again if the page re-rendered it meanwhile (every update re-draws messages)."""
    def attempt(d: Any) -> bool:
        (within(d) if within else d).find_element(By.CSS_SELECTOR, css).click()
        return True
    until(driver, attempt, what)


def manage(driver: Any, what: str) -> None:
    """The card's owner action `what` ("End meeting" or "Settings"): a button, or an item of its overflow menu."""
    action = {"End meeting": "meet_end", "Settings": "meet_settings"}[what]
    def attempt(d: Any) -> bool:
        shown = last_card(d)
        direct = shown.find_elements(By.CSS_SELECTOR, f'button[data-action-id="{action}"]')
        if direct:
            direct[0].click()
            return True
        shown.find_element(By.CSS_SELECTOR, ".overflow-button").click()
        item = next(i for i in shown.find_elements(By.CSS_SELECTOR, ".overflow-item") if i.text.startswith(what))
        item.click()
        return True
    until(driver, attempt, what)


def connect(driver: Any, running: Running, person: str = "Alice") -> None:
    """`/meet connect`, then Connect, Google's consent page, Allow: the account is linked."""
    home_page(driver, person)
    before = len(buttons(driver, "meet_connect") or [])
    type_in(driver, "/meet connect")
    until(driver, lambda d: len(buttons(d, "meet_connect")) > before or None, "the Connect button")
    handles = set(driver.window_handles)
    press(driver, 'button[data-action-id="meet_connect"]', "Connect",
          lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .msg")[-1])
    until(driver, lambda d: set(d.window_handles) - handles or None, "the consent window")
    (consent,) = set(driver.window_handles) - handles
    driver.switch_to.window(consent)
    until(driver, lambda d: d.find_element(By.ID, "allow"), "Google's consent page")
    assert "meetbot wants to access your Google Account" in driver.page_source
    driver.find_element(By.ID, "allow").click()
    until(driver, lambda d: "/google/oauth/callback" in d.current_url or None, "the bot's callback page")
    until(driver, lambda d: linked(running, person) or None, "the link announced")
    driver.close()
    home_page(driver, person)


def linked(running: Running, person: str) -> bool:
    """Whether the bot announced a link to this person (every new Google link is DMed)."""
    dm = f"D0{person.upper()}"
    return bool(running.sandbox.world.slack.state.messages(dm))


def card(driver: Any, running: Running) -> None:
    if not linked(running, "Alice"):
        connect(driver, running)
    home_page(driver)
    count = len(running.sandbox.world.meet.state.spaces())
    type_in(driver, "/meet")
    until(driver, lambda d: len(running.sandbox.world.meet.state.spaces()) > count or None, "a new meeting")
    until(driver, lambda d: len(last_card(d).find_elements(By.CSS_SELECTOR, ".bk-actions > *")) > 1 or None,
          "the meeting card with the owner's actions")


def test_connect_runs_through_googles_consent_page(browser: Any, running: Running) -> None:
    connect(browser, running, "Carol")
    browser.find_element(By.ID, "nav-dm").click()
    until(browser, lambda d: "carol@example.com" in d.find_element(By.ID, "messages").text or None, "the link DM")
    assert linked(running, "Carol")


def test_typing_meet_posts_a_card_with_join(browser: Any, running: Running) -> None:
    card(browser, running)
    shown = until(browser, lambda d: last_card(d).text, "the card's text")
    assert "Join" in shown and "Started by @Alice" in shown


def test_end_asks_for_confirmation_then_ends(browser: Any, running: Running) -> None:
    card(browser, running)
    space = running.sandbox.world.meet.state.spaces()[-1]["name"]
    running.sandbox.world.meet.state.join(space, user="bob@example.com")
    until(browser, lambda d: "1 in the call" in last_card(d).text or None, "the card to go live")
    manage(browser, "End meeting")
    # A confirm dialog on the button, or a confirming modal: either way the owner confirms before the call ends.
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".confirm, .modal") or None, "the confirmation")
    assert "End this meeting?" in browser.find_element(By.CSS_SELECTOR, ".confirm, .modal").text
    press(browser, '[data-role="confirm-ok"], [data-role="modal-submit"]', "the confirming button")
    until(browser, lambda d: running.sandbox.world.meet.state.space(space)["activeConference"] is None or None,
          "the call to end")


def test_settings_modal_opens_and_saves(browser: Any, running: Running) -> None:
    card(browser, running)
    space = running.sandbox.world.meet.state.spaces()[-1]["name"]
    manage(browser, "Settings")
    modal = until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".modal .bk-input-block"), "the settings modal")
    assert "Meeting settings" in browser.find_element(By.CSS_SELECTOR, ".modal-title").text
    access = browser.find_element(By.CSS_SELECTOR, '.modal .bk-input-block[data-block-id="access"] select')
    Select(access).select_by_value("open")
    assert modal.is_displayed()
    browser.find_element(By.CSS_SELECTOR, '[data-role="modal-submit"]').click()
    until(browser, lambda d: running.sandbox.world.meet.state.space(space)["config"]["accessType"] == "OPEN" or None,
          "the new access type at Google")


def test_joining_as_bob_from_the_meet_panel(browser: Any, running: Running) -> None:
    card(browser, running)
    space = running.sandbox.world.meet.state.spaces()[-1]
    press(browser, f'.space[data-space="{space["name"]}"] [data-meet="join-Bob"]', "Join as Bob in the Meet panel")
    until(browser, lambda d: "live · 1 in the call" in d.find_element(
        By.CSS_SELECTOR, f'.space[data-space="{space["name"]}"]').text or None, "Bob in the call")
    until(browser, lambda d: "1 in the call" in last_card(d).text or None, "the card to go live")


def test_the_card_shows_slacks_call_with_its_people_then_its_duration(browser: Any, running: Running,
                                                                      tmp_path: Path) -> None:
    card(browser, running)
    meet = running.sandbox.world.meet.state
    space = meet.spaces()[-1]["name"]
    meet.join(space, user="bob@example.com")
    meet.join(space, anonymous="Visitor")
    until(browser, lambda d: last_card(d).find_element(By.CSS_SELECTOR, ".bk-call"), "Slack's call card")
    until(browser, lambda d: len(last_card(d).find_elements(By.CSS_SELECTOR, ".bk-call-person")) == 2 or None,
          "two people in the call")
    call = last_card(browser).find_element(By.CSS_SELECTOR, ".bk-call")
    names = [p.get_attribute("data-name") for p in call.find_elements(By.CSS_SELECTOR, ".bk-call-person")]
    assert names == ["Bob", "Guest"] and "Visitor" not in call.text
    assert meet.space(space)["meetingCode"] in call.text and call.find_elements(By.CSS_SELECTOR, ".bk-call-join")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", call)
    browser.save_screenshot(str(tmp_path / "call-live.png"))
    meet.advance_time(23 * 60)
    meet.end_conference(space)
    until(browser, lambda d: "Ended · lasted 23 min" in last_card(d).find_element(By.CSS_SELECTOR, ".bk-call").text
          or None, "the call's duration")
    assert not last_card(browser).find_elements(By.CSS_SELECTOR, ".bk-call-join"), "an ended call offers no Join"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                           last_card(browser).find_element(By.CSS_SELECTOR, ".bk-call"))
    browser.save_screenshot(str(tmp_path / "call-ended.png"))


# --- issue 23, finding 7: the sandbox behaves like Slack ---------------------------------------------------------

def test_at_name_is_offered_and_sent_as_a_mention(browser: Any, running: Running) -> None:
    card(browser, running)
    box = browser.find_element(By.ID, "box")
    box.send_keys("/meet new Weekly sync @b")
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#people .person[data-person="bob"]'), "Bob offered")
    box.send_keys(Keys.TAB)
    assert box.get_attribute("value") == "/meet new Weekly sync @bob "
    count = len(running.sandbox.world.meet.state.spaces())
    browser.find_element(By.ID, "send").click()
    until(browser, lambda d: len(running.sandbox.world.meet.state.spaces()) > count or None, "the new meeting")
    shown = until(browser, lambda d: "Co-hosts" in last_card(d).text and last_card(d).text, "the co-hosts line")
    assert "Weekly sync" in shown and "Weekly sync @bob" not in shown and "@Bob" in shown, shown
    assert running.sandbox.world.meet.state.members(running.sandbox.world.meet.state.spaces()[-1]["name"])


def test_typed_text_reaches_the_bot_as_slack_sends_it() -> None:
    from sandbox.desk import as_slack_sends
    assert as_slack_sends("sync @Bob & <x> me@bob.com @zed") == "sync <@U0BOB|bob> &amp; &lt;x&gt; me@bob.com @zed"


def test_the_guest_name_box_survives_live_updates(browser: Any, running: Running) -> None:
    card(browser, running)
    space = running.sandbox.world.meet.state.spaces()[-1]["name"]
    box = until(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f'.space[data-space="{space}"] [data-meet="guest-name"]'), "the guest-name box")
    box.send_keys("Visitor")
    running.sandbox.world.meet.state.join(space, user="carol@example.com")
    until(browser, lambda d: "live · 1 in the call" in d.find_element(
        By.CSS_SELECTOR, f'.space[data-space="{space}"]').text or None, "the panel to update")
    kept = browser.find_element(By.CSS_SELECTOR, f'.space[data-space="{space}"] [data-meet="guest-name"]')
    assert kept.get_attribute("value") == "Visitor"


def test_the_message_box_stays_in_the_window(browser: Any, running: Running) -> None:
    home_page(browser)
    for n in range(40):
        running.sandbox.world.slack.state.add_message("C0GENERAL", f"filler message {n}", "U0BOB")
    until(browser, lambda d: "filler message 39" in d.find_element(By.ID, "messages").text or None, "the messages")
    fits = browser.execute_script(
        "return [document.getElementById('box').getBoundingClientRect().bottom <= window.innerHeight,"
        " document.documentElement.scrollHeight <= window.innerHeight]")
    assert fits == [True, True], "the page grew past the window: the message box scrolled away"


def test_a_modal_keeps_its_choices_after_an_error(browser: Any, running: Running) -> None:
    card(browser, running)
    manage(browser, "Settings")
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".modal .bk-input-block"), "the settings modal")

    def choose(block: str, value: str) -> None:
        Select(browser.find_element(By.CSS_SELECTOR, f'.modal .bk-input-block[data-block-id="{block}"] select')
               ).select_by_value(value)

    choose("moderation", "off")
    choose("chat", "hosts")
    browser.find_element(By.CSS_SELECTOR, '[data-role="modal-submit"]').click()
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".modal .bk-error"), "the error on the field")
    chat = browser.find_element(By.CSS_SELECTOR, '.modal .bk-input-block[data-block-id="chat"] select')
    moderation = browser.find_element(By.CSS_SELECTOR, '.modal .bk-input-block[data-block-id="moderation"] select')
    assert (Select(chat).first_selected_option.get_attribute("value"),
            Select(moderation).first_selected_option.get_attribute("value")) == ("hosts", "off")


def test_the_shortcuts_named_in_help_can_be_tried(browser: Any, running: Running) -> None:
    card(browser, running)
    press(browser, "#shortcut-start", "the Start a Meet shortcut")
    until(browser, lambda d: "Start a Meet" in d.find_element(By.CSS_SELECTOR, ".modal-title").text or None,
          "the Start a Meet modal")
    press(browser, '[data-role="modal-close"]', "Cancel")
    code = running.sandbox.world.meet.state.spaces()[-1]["meetingCode"]
    type_in(browser, f"see https://meet.google.com/{code}")
    before = len(browser.find_elements(By.CSS_SELECTOR, "#messages .msg.ephemeral"))
    press(browser, '[data-shortcut="meet_status"]', "Meeting status on the message",
          lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, "#messages .msg") if code in m.text
                     and m.find_elements(By.CSS_SELECTOR, '[data-shortcut="meet_status"]')][-1])
    until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages .msg.ephemeral")) > before or None,
          "the private status")


def test_general_has_members_for_room_members(browser: Any, running: Running) -> None:
    card(browser, running)
    type_in(browser, "/meet room new")
    until(browser, lambda d: any("This channel's Meet room" in m.text for m in d.find_elements(
        By.CSS_SELECTOR, "#messages .msg")) or None, "the room card")
    type_in(browser, "/meet room members on")
    said = until(browser, lambda d: next((m.text for m in d.find_elements(By.CSS_SELECTOR, "#messages .msg")
                                          if "people now join" in m.text), None), "the members reply")
    assert "0 added" not in said and "2 added" in said, said


def test_google_can_be_switched_down_and_rate_limiting(browser: Any, running: Running) -> None:
    card(browser, running)
    code = running.sandbox.world.meet.state.spaces()[-1]["meetingCode"]
    for mode, words in (("503", "Google"), ("429", "Google")):
        press(browser, f'[data-google="{mode}"]', f"Google {mode}")
        until(browser, lambda d, m=mode: fault(running) == m or None, "the switch")
        before = len(private(browser))
        type_in(browser, f"/meet {code}")
        reply = until(browser, lambda d, n=before: private(d)[-1].text if len(private(d)) > n else None, "the reply")
        assert words in reply and "is idle" not in reply and "Traceback" not in reply, reply
    press(browser, '[data-google="up"]', "Google up")
    until(browser, lambda d: fault(running) == "" or None, "Google back up")


def fault(running: Running) -> str | None:
    return running.sandbox.desk.google_fault if running.sandbox.desk is not None else None


def private(driver: Any) -> list[WebElement]:
    return list(driver.find_elements(By.CSS_SELECTOR, "#messages .msg.ephemeral"))


def test_stopping_with_a_page_open_does_not_wait_for_it(browser: Any, tmp_path: Path) -> None:
    """Ctrl-C with a browser on the page: the page's event stream ends, so stopping isn't held up by it (it took
    two minutes: the server waited for a stream that never ended)."""
    second = Running(tmp_path)
    second.__enter__()
    browser.switch_to.new_window("tab")
    try:
        browser.get(f"http://127.0.0.1:{second.port}/")
        until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "body[data-ready=yes]"), "the page's stream")
        stopped = asyncio.run_coroutine_threadsafe(second.sandbox.stop(), second._loop)
        stopped.result(timeout=20)  # a bound on a hang, not a speed test: before the fix this waited ~120 s
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])
        second._loop.call_soon_threadsafe(second._loop.stop)
        second._thread.join(timeout=10)


def read_as_alice(meet: Any, route: str, path_part: str = "") -> bool:
    return any(c["user"] == "alice@example.com" and path_part.removeprefix("spaces/") in c["path"]
               for c in meet.calls_to(route))


def space_card(driver: Any, space: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'.space[data-space="{space}"]')


def test_a_meeting_from_calendar_is_recapped_in_the_owners_dm_with_its_files(browser: Any, running: Running) -> None:
    """`/meet mine on` from the page, a meeting started in the Meet panel without /meet (as if from Alice's
    Calendar event), people join and leave, it ends: the recap arrives in her DMs and the recording is edited in."""
    meet = running.sandbox.world.meet.state
    if not linked(running, "Alice"):
        connect(browser, running)
    home_page(browser)
    type_in(browser, "/meet mine on")
    until(browser, lambda d: "DM recap" in d.find_element(By.ID, "messages").text or None, "the opt-in's reply")
    until(browser, lambda d: read_as_alice(meet, "conferenceRecords.list") or None,
          "her first read (her Workspace Events subscription is made just before it)")
    before = {s["name"] for s in meet.spaces()}
    press(browser, '[data-meet="calendar"]', "Start a meeting as if from Calendar")
    (space,) = until(browser, lambda d: [s for s in meet.spaces() if s["name"] not in before] or None,
                     "the Calendar meeting")
    name = space["name"]
    assert (space["owner"], space["organiser"], space["clientId"]) == (
        "alice@example.com", "alice@example.com", "calendar")
    assert "from Alice's Calendar event" in until(browser, lambda d: space_card(d, name).text, "its panel card")
    for who in ("Bob", "Carol"):
        press(browser, f'.space[data-space="{name}"] [data-meet="join-{who}"]', f"Join as {who}")
        until(browser, lambda d, w=who: d.find_element(
            By.CSS_SELECTOR, f'.space[data-space="{name}"] [data-meet="leave-{w}"]'), f"{who} in the call")
    press(browser, f'.space[data-space="{name}"] [data-meet="leave-Carol"]', "Leave as Carol")
    until(browser, lambda d: "live · 1 in the call" in space_card(d, name).text or None, "Carol gone")
    until(browser, lambda d: read_as_alice(meet, "spaces.get", name) or None, "meetbot to see her meeting running")
    press(browser, f'.space[data-space="{name}"] [data-meet="end"]', "End the call")
    browser.find_element(By.ID, "nav-dm").click()
    recap = f"Recap of {space['meetingCode']}"
    until(browser, lambda d: recap in d.find_element(By.ID, "messages").text or None, "Alice's DM recap")
    shown = browser.find_element(By.ID, "messages").text
    assert "Who came (2)" in shown and "Bob" in shown and "Carol" in shown
    recording = meet.produce_artifact("recording", space=name)
    link = recording["driveDestination"]["exportUri"]
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#messages a[href="{link}"]') or None,
          "the recording's link edited into the recap")
    assert browser.find_element(By.ID, "messages").text.count(recap) == 1, "one DM, edited in place"
    home_page(browser)
    type_in(browser, "/meet mine off")
    until(browser, lambda d: "deleted what it kept" in d.find_element(By.ID, "messages").text or None,
          "the opt-out's reply")


def status_of(driver: Any, slack_id: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'[data-status="{slack_id}"]').text)


def test_presence_signs_in_with_slack_and_the_status_follows_her_own_calendar_meeting(browser: Any,
                                                                                     running: Running) -> None:
    """`/meet mine on` and `/meet presence on` from the page, "Sign in with Slack" (Slack's page consents for the
    person who clicked), then a meeting started without /meet (as if from her Calendar): her status, shown in the
    sidebar as Slack has it, says she is in a meeting while she is in it, and is hers again when she leaves."""
    world = running.sandbox.world
    if not linked(running, "Alice"):
        connect(browser, running)
    home_page(browser)
    type_in(browser, "/meet mine on")
    until(browser, lambda d: "DM recap" in d.find_element(By.ID, "messages").text or None, "the mine reply")
    type_in(browser, "/meet presence on")
    press(browser, 'button[data-action-id="meet_slack_sign_in"]', "Sign in with Slack",
          lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .msg")[-1])
    until(browser, lambda d: "Presence is on" in d.find_element(By.ID, "messages").text or None,
          "signed in: presence is on")
    assert len(browser.window_handles) == 1, "the page made the sign-in as Alice, no window of its own"

    space = world.meet.state.create_space("alice@example.com", client_id="calendar")["name"]
    press(browser, f'.space[data-space="{space}"] [data-meet="join-Alice"]', "Join as Alice")
    until(browser, lambda d: "In a meeting" in status_of(d, "U0ALICE") or None, "her status in the call")
    assert "📅" in status_of(browser, "U0ALICE")
    press(browser, f'.space[data-space="{space}"] [data-meet="leave-Alice"]', "Leave as Alice")
    until(browser, lambda d: "In a meeting" not in status_of(d, "U0ALICE") or None, "her status given back")
    type_in(browser, "/meet presence off")
    until(browser, lambda d: "Presence is off" in d.find_element(By.ID, "messages").text or None, "presence off")
