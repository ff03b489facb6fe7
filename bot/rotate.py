"""`python -m bot rotate-keys`: re-encrypt every stored Google link and Slack user token (presence) with the first
TOKEN_ENCRYPTION_KEYS key.

Rotation: put a new key first in TOKEN_ENCRYPTION_KEYS, keep the old ones after it, run this, then drop the old
keys. Pending sign-ins (10 minutes) and cached delegated tokens (under an hour) simply expire.
"""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.errors import StorageUnavailable
from bot.store.connection import connect_to
from bot.store.crypto import TokenCipher
from bot.store.google_links import GoogleLinkStore, RotationReport
from bot.store.keys import Keys
from bot.store.layout import UnknownLayout, ensure_layout
from bot.store.slack_users import SlackUserTokens

__all__ = ["cmd_rotate_keys"]


async def _rotate(settings: Settings) -> RotationReport:
    redis = connect_to(settings)
    keys = settings.token_encryption_keys
    try:
        await ensure_layout(redis, Keys())  # never rewrite records of a layout this release doesn't know
        links = await GoogleLinkStore(redis, Keys(), TokenCipher(keys)).rotate_report()
        slack = await SlackUserTokens(redis, Keys(), TokenCipher(keys)).rotate()
        if slack.rotated or slack.unreadable:
            print(f"re-encrypted {slack.rotated} Slack user token(s) with the first key")
        return RotationReport(links.rotated, links.unreadable + slack.unreadable)
    finally:
        await redis.aclose()


def cmd_rotate_keys() -> int:
    """0 when every link is now under the first key; 1 when some couldn't be read (or Redis failed); 2: config;
    3: the data was written by a newer release."""
    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in error.problems:
            print(f"FAIL  config   {problem}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_rotate(settings))
    except StorageUnavailable as error:
        print(f"rotate-keys: Redis failed ({error.cause}); nothing was lost, run it again", file=sys.stderr)
        return 1
    except UnknownLayout as refused:
        print(refused.line(), file=sys.stderr)
        return 3
    print(f"re-encrypted {report.rotated} Google link(s) with the first key")
    if report.unreadable:
        print(
            f"{report.unreadable} link(s) could not be read with any configured key and were left as they are "
            "(was a key removed too early?)",
            file=sys.stderr,
        )
        return 1
    return 0
