"""Status previews for pasted meeting links (unfurls and the "Meeting status" shortcut).

Links are looked up concurrently, as the person who shared them, within one time bound: a slow or failing link
gets its own explanation and never holds back the others.

An unfurl is seen by the whole channel, so it reads only what Google shows everyone (`spaces.get`: the space
exists, its code and link) plus the title meetbot knows, where it may be shown; live state and participants, which
Google shows only to the owner and the people in the call, are read only for private views (the shortcut, "Status
for me").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.errors import NotLinked, ReauthRequired, UnknownMeeting, UserFacingError
from bot.core.meetings import Meetings, MeetingStatus
from bot.domain import Actor, LiveState, Phase, SpaceInfo
from bot.meet.links import MeetingRef, find_references
from bot.meet.models import ActiveConference, Participant, ParticipantKind, Space

_KINDS = {"person": ParticipantKind.SIGNED_IN, "guest": ParticipantKind.ANONYMOUS, "phone": ParticipantKind.PHONE}

__all__ = ["LinkPreview", "followed_status", "meeting_links", "preview_links"]

MAX_LINKS = 20
MAX_CONCURRENT = 10


@dataclass(frozen=True, slots=True)
class LinkPreview:
    url: str  # exactly as Slack sent it: chat.unfurl is keyed by it
    ref: MeetingRef
    status: MeetingStatus | None = None  # private previews: what Google shows the caller
    space: Space | None = None  # public previews: what Google shows everyone
    info: SpaceInfo | None = None  # public previews: what meetbot knows (the title)
    problem: str | None = None  # why there is no status, in plain words
    needs_connect: bool = False
    unknown: bool = False  # Google said the meeting doesn't exist (or its code expired)


def meeting_links(urls: Sequence[str]) -> list[tuple[str, MeetingRef]]:
    """(url, ref) for each distinct URL that is a meeting; `/new`, `/landing`, nicknames and other sites drop out."""
    found: dict[str, MeetingRef] = {}
    for url in urls:
        refs = find_references(url)
        if refs and url not in found:
            found[url] = refs[0]
    return list(found.items())[:MAX_LINKS]


def followed_status(info: SpaceInfo, state: LiveState) -> MeetingStatus:
    """The owner's status of a meeting meetbot follows with their own token: what Google showed them moments ago."""
    live = state.phase is Phase.LIVE
    space = Space(info.space_name, info.meeting_uri, info.meeting_code,
                  active_conference=ActiveConference(state.conference) if live else None)
    people = tuple(Participant(a.name, _KINDS.get(a.kind, ParticipantKind.SIGNED_IN), a.display_name)
                   for a in state.present) if live else ()
    started = datetime.fromtimestamp(state.started_at, UTC) if live and state.started_at else None
    return MeetingStatus(space, "owner", info.meeting_code or info.space_name, info, started, people)


async def preview_links(meetings: Meetings, actor: Actor, links: Sequence[tuple[str, MeetingRef]], *,
                        private: bool, channel_id: str | None, within: float = 2.5,
                        known: Mapping[str, MeetingStatus] | None = None) -> list[LinkPreview]:
    """`private`: the caller's own view (status, participants); otherwise only what everyone may see. `channel_id`:
    where they are shown (None: nowhere but to the caller). `known`: private statuses already at hand (by URL),
    which cost no Google read."""
    slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(url: str, ref: MeetingRef) -> LinkPreview:
        async with slots:
            try:
                if private and known and url in known:
                    return LinkPreview(url, ref, known[url])
                if private:
                    return LinkPreview(url, ref, await meetings.status(actor, ref.resource_name, channel_id))
                space, info = await meetings.public(actor, ref.resource_name)
                info = await meetings.shown_info(actor, info, channel_id, private=False)
                return LinkPreview(url, ref, space=space, info=info)
            except (NotLinked, ReauthRequired) as missing:
                return LinkPreview(url, ref, problem=missing.reason, needs_connect=True)
            except UnknownMeeting as unknown:
                return LinkPreview(url, ref, problem=unknown.reason, unknown=True)
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
