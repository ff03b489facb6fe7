"""The README's pictures, taken from the sandbox in headless Chromium: `.venv/bin/python scripts/screenshots.py`.

Re-run it when the cards change. It needs Debian's chromium and chromium-driver (and, for emoji that look like
Slack's, fonts-noto-color-emoji). Saves docs/screenshots/: `@bob` offered and sent as a mention, the card
waiting, live, empty, ended (with its recap) and no longer followed, the settings modal, the help, the Home tab
and a channel's one live room card ("cards"); a `/meet mine` DM recap of a meeting started as if from Calendar
("mine"); and a Slack status that follows its person into a call ("presence"). `screenshots.py mine` takes only
that set.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from sandbox.processes import free_port  # noqa: E402
from sandbox.run import Sandbox  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def until(driver: Any, find: Callable[[Any], Any]) -> Any:
    def attempt(d: Any) -> Any:
        try:
            return find(d)
        except (NoSuchElementException, StaleElementReferenceException):
            return None
    return WebDriverWait(driver, 20, 0.05).until(attempt)


def press(driver: Any, css: str) -> None:
    def attempt(d: Any) -> bool:
        found = d.find_elements(By.CSS_SELECTOR, css)
        if found:
            found[-1].click()
        return bool(found)
    until(driver, attempt)


def show(driver: Any, text: str) -> None:
    """Scroll the newest channel message containing `text` to the top of the message list."""
    driver.execute_script(
        "const found = [...document.querySelectorAll('#messages .msg')].filter((m) => m.innerText.includes("
        "arguments[0])); if (found.length) found[found.length - 1].scrollIntoView({block: 'start'});", text)
    time.sleep(0.3)


def type_in(driver: Any, text: str) -> None:
    driver.find_element(By.ID, "box").send_keys(text + "\n")


def browser(port: int) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,860",
                "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"), options=options)
    driver.get(f"http://127.0.0.1:{port}/")
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "body[data-ready=yes]"))
    return driver


def connect(driver: Any, sandbox: Sandbox) -> None:
    """Alice links her Google account through the consent page."""
    type_in(driver, "/meet connect")
    press(driver, 'button[data-action-id="meet_connect"]')
    until(driver, lambda d: len(d.window_handles) > 1)
    driver.switch_to.window(driver.window_handles[1])
    until(driver, lambda d: d.find_element(By.ID, "allow")).click()
    until(driver, lambda d: sandbox.world.slack.state.messages("D0ALICE"))
    driver.close()
    driver.switch_to.window(driver.window_handles[0])
    OUT.mkdir(parents=True, exist_ok=True)


def drive_mine(port: int, sandbox: Sandbox) -> None:
    """`/meet mine`: a meeting started as if from Alice's Calendar event, and her DM recap with its files."""
    driver = browser(port)
    meet = sandbox.world.meet.state
    try:
        connect(driver, sandbox)
        type_in(driver, "/meet mine on")
        until(driver, lambda d: any(c["user"] == "alice@example.com" for c in meet.calls_to("conferenceRecords.list")))
        press(driver, '[data-meet="calendar"]')
        space = until(driver, lambda d: next((s["name"] for s in meet.spaces() if s["organiser"]), None))
        for who in ("Bob", "Carol"):
            press(driver, f'.space[data-space="{space}"] [data-meet="join-{who}"]')
        until(driver, lambda d: any(c["user"] == "alice@example.com" and space.removeprefix("spaces/") in c["path"]
                                    for c in meet.calls_to("spaces.get")))  # meetbot saw it running
        meet.advance_time(25 * 60)
        press(driver, f'.space[data-space="{space}"] [data-meet="end"]')
        for kind in ("recording", "transcript"):
            meet.produce_artifact(kind, space)
        driver.find_element(By.ID, "nav-dm").click()
        until(driver, lambda d: "Transcript" in d.find_element(By.ID, "messages").text)
        time.sleep(0.5)
        driver.save_screenshot(str(OUT / "mine-dm-recap.png"))
    finally:
        driver.quit()


def drive(port: int, sandbox: Sandbox) -> None:
    driver = browser(port)
    try:
        connect(driver, sandbox)
        driver.find_element(By.ID, "box").send_keys("/meet new Weekly sync @b")
        until(driver, lambda d: d.find_element(By.CSS_SELECTOR, '#people .person[data-person="bob"]'))
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "mention-autocomplete.png"))
        driver.find_element(By.ID, "box").send_keys(Keys.TAB, "\n")
        until(driver, lambda d: "Co-hosts" in d.find_element(By.ID, "messages").text)
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "meeting-card-waiting.png"))
        space = sandbox.world.meet.state.spaces()[-1]["name"]
        sandbox.world.meet.state.join(space, user="bob@example.com")
        sandbox.world.meet.state.join(space, user="carol@example.com")
        time.sleep(4)  # live cards follow the call
        driver.save_screenshot(str(OUT / "meeting-card.png"))
        sandbox.world.meet.state.leave(space, user="bob@example.com")
        sandbox.world.meet.state.leave(space, user="carol@example.com")
        until(driver, lambda d: "empty since" in d.find_element(By.ID, "messages").text)
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "meeting-card-empty.png"))
        if driver.find_elements(By.CSS_SELECTOR, 'button[data-action-id="meet_settings"]'):
            press(driver, 'button[data-action-id="meet_settings"]')
        else:  # the owner's actions in the card's overflow menu
            press(driver, "#messages .overflow-button")
            items = ".overflow-menu.open .overflow-item"
            until(driver, lambda d: next(i for i in d.find_elements(By.CSS_SELECTOR, items)
                                         if i.text.startswith("Settings"))).click()
        until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".modal .bk-input-block"))
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "settings-modal.png"))
        press(driver, '[data-role="modal-close"]')
        type_in(driver, "/meet help")
        until(driver, lambda d: "/meet history" in d.find_element(By.ID, "messages").text)
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "help.png"))
        driver.find_element(By.ID, "nav-home").click()
        until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".home .bk"))
        time.sleep(0.5)
        driver.save_screenshot(str(OUT / "home.png"))
        # The call ends and Google's files arrive: the card says how it went, the recap goes in its thread.
        sandbox.world.meet.state.advance_time(23 * 60)
        sandbox.world.meet.state.end_conference(space)
        for kind in ("recording", "transcript"):
            sandbox.world.meet.state.produce_artifact(kind, space)
        driver.find_element(By.ID, "nav-channel").click()
        until(driver, lambda d: "Ended" in d.find_element(By.ID, "messages").text)
        press(driver, "#messages .replies")  # the recap, in the card's thread
        until(driver, lambda d: "Transcript" in d.find_element(By.ID, "thread").text)
        time.sleep(0.5)
        driver.save_screenshot(str(OUT / "meeting-card-ended.png"))
        # The last file arrives: meetbot stops following, and the card says so rather than going stale.
        sandbox.world.meet.state.produce_artifact("smartNote", space)
        # Not every file gets an event: a status check has meetbot read the meeting now instead of at its next poll.
        type_in(driver, f"/meet {sandbox.world.meet.state.space(space)['meetingCode']}")
        until(driver, lambda d: "not followed since" in d.find_element(By.ID, "messages").text)
        press(driver, "#close-thread")
        show(driver, "not followed since")
        driver.save_screenshot(str(OUT / "meeting-card-unfollowed.png"))
        # A channel has one live room card: posting it again turns the older one into a pointer.
        type_in(driver, "/meet room new")
        until(driver, lambda d: "This channel's Meet room" in d.find_element(By.ID, "messages").text)
        type_in(driver, "/meet room")
        until(driver, lambda d: "replaced by a newer one" in d.find_element(By.ID, "messages").text)
        show(driver, "replaced by a newer one")
        driver.save_screenshot(str(OUT / "room-card.png"))
    finally:
        driver.quit()


def drive_presence(port: int, sandbox: Sandbox) -> None:
    driver = browser(port)
    try:
        connect(driver, sandbox)
        presence(driver, sandbox)
    finally:
        driver.quit()


def presence(driver: Any, sandbox: Sandbox) -> None:
    """`/meet mine` and `/meet presence` on, "Sign in with Slack", then Alice in a meeting she started without
    /meet (as if from her Calendar): the sidebar shows her Slack status saying so."""
    type_in(driver, "/meet mine on")
    until(driver, lambda d: "DM recap" in d.find_element(By.ID, "messages").text)
    type_in(driver, "/meet presence on")
    press(driver, 'button[data-action-id="meet_slack_sign_in"]')
    until(driver, lambda d: "Presence is on" in d.find_element(By.ID, "messages").text)
    space = sandbox.world.meet.state.create_space("alice@example.com", client_id="calendar")["name"]
    sandbox.world.meet.state.join(space, user="bob@example.com")
    press(driver, f'.space[data-space="{space}"] [data-meet="join-Alice"]')
    until(driver, lambda d: "In a meeting" in d.find_element(By.CSS_SELECTOR, '[data-status="U0ALICE"]').text)
    show(driver, "Presence is on")
    driver.save_screenshot(str(OUT / "presence-status.png"))


# each in a fresh sandbox; `screenshots.py mine` takes only that set
SETS = {"cards": drive, "mine": drive_mine, "presence": drive_presence}


async def main(names: list[str]) -> None:
    for name in names or list(SETS):
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="meetbot-screenshots-") as data:
            async with Sandbox("127.0.0.1", port, Path(data)) as sandbox:
                await asyncio.to_thread(SETS[name], port, sandbox)  # the sandbox keeps serving on this loop
    print(f"saved {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    unknown = [n for n in sys.argv[1:] if n not in SETS]
    if unknown:
        sys.exit(f"no screenshot set {unknown[0]!r}: choose from {', '.join(SETS)}")
    asyncio.run(main(sys.argv[1:]))
