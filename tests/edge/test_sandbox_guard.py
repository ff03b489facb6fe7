"""The sandbox page acts as anyone (issue 22 #6): it listens on loopback unless a flag says otherwise, and refuses
requests from other origins and requests for other host names (DNS rebinding), at the aiohttp level."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.desk import Desk
from sandbox.feed import Feed
from sandbox.run import listen_options
from sandbox.web import build_app
from sandbox.world import World


@pytest.fixture
async def page() -> AsyncIterator[TestClient]:
    desk = Desk(World(), "http://127.0.0.1:9")
    async with TestClient(TestServer(build_app(desk, Feed(desk)), host="127.0.0.1")) as client:
        yield client


def origin(client: TestClient) -> str:
    return f"http://127.0.0.1:{client.port}"


async def test_the_page_is_served_to_its_own_loopback_names(page: TestClient) -> None:
    for name in ("127.0.0.1", "localhost"):
        response = await page.get("/", headers={"Host": f"{name}:{page.port}"})
        assert response.status == 200, name


async def test_a_foreign_host_name_is_refused_dns_rebinding(page: TestClient) -> None:
    for path in ("/", "/api/state"):
        response = await page.get(path, headers={"Host": f"attacker.example:{page.port}"})
        assert response.status == 403 and "only answers" in await response.text(), path


async def test_a_post_from_another_origin_is_refused(page: TestClient) -> None:
    for sent in ("http://attacker.example", "null", None):
        headers = {"Origin": sent} if sent else {}
        response = await page.post("/api/command", json={"user": "alice", "text": "end abc-mnop-xyz"},
                                   headers=headers)
        assert response.status == 403 and "from its own page" in await response.text(), sent
    # the page's own origin gets through to the action (which refuses the malformed body itself)
    response = await page.post("/api/command", json=[], headers={"Origin": origin(page)})
    assert response.status == 400 and "JSON object" in await response.text()


def test_loopback_unless_a_flag_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert listen_options([]).host == "127.0.0.1", "HOST in the environment never opens the page to the network"
    chosen = listen_options(["--host", "0.0.0.0", "--allow-host", "devbox.lan"])
    assert chosen.host == "0.0.0.0" and "devbox.lan" in chosen.names
