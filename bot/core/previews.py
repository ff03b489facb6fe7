"""Status previews for pasted meeting links (unfurls and the "Meeting status" shortcut).

Links are looked up concurrently, as the person who shared them, within one time bound: a slow or failing link
gets its own explanation and never holds back the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.errors import NotLinked, ReauthRequired, UserFacingError
from bot.core.meetings import Actor, Meetings, MeetingStatus
from bot.meet.links import MeetingRef, find_references

__all__ = ["LinkPreview", "meeting_links", "preview_links"]

MAX_LINKS = 20
MAX_CONCURRENT = 10


@dataclass(frozen=True, slots=True)
class LinkPreview:
    url: str  # exactly as Slack sent it: chat.unfurl is keyed by it
    ref: MeetingRef
    status: MeetingStatus | None = None
    problem: str | None = None  # why there is no status, in plain words
    needs_connect: bool = False


def meeting_links(urls: Sequence[str]) -> list[tuple[str, MeetingRef]]:
    """(url, ref) for each distinct URL that is a meeting; `/new`, `/landing`, nicknames and other sites drop out."""
    found: dict[str, MeetingRef] = {}
    for url in urls:
        refs = find_references(url)
        if refs and url not in found:
            found[url] = refs[0]
    return list(found.items())[:MAX_LINKS]


async def preview_links(meetings: Meetings, actor: Actor, links: Sequence[tuple[str, MeetingRef]],
                        within: float = 2.5) -> list[LinkPreview]:
    slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(url: str, ref: MeetingRef) -> LinkPreview:
        async with slots:
            try:
                return LinkPreview(url, ref, await meetings.status(actor, ref.resource_name))
            except (NotLinked, ReauthRequired) as missing:
                return LinkPreview(url, ref, problem=missing.reason, needs_connect=True)
            except UserFacingError as refusal:
                return LinkPreview(url, ref, problem=refusal.reason)

    tasks = [asyncio.ensure_future(one(url, ref)) for url, ref in links]
    if not tasks:
        return []
    await asyncio.wait(tasks, timeout=within)
    previews = []
    for task, (url, ref) in zip(tasks, links, strict=True):
        if not task.done():
            task.cancel()
            previews.append(LinkPreview(url, ref, problem="Google didn't answer in time."))
        elif task.exception() is not None:
            previews.append(LinkPreview(url, ref, problem="meetbot couldn't look this meeting up right now."))
        else:
            previews.append(task.result())
    return previews
