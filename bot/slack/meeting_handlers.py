"""Slack side of the meeting use cases: ack fast, then do the Google work in the background and reply.

Each handler turns a Slack payload into an `Actor` (the user who typed or clicked) and calls `bot.core.meetings`;
every Google call is made with that user's own credentials.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.call_people import PeopleSwitch, google_assignments, people_choice
from bot.core.errors import InvalidSettings, UserFacingError
from bot.core.meetings import CLOCK_SKEW, EndedMeeting, Meetings, StartedMeeting
from bot.core.ports import Progress
from bot.core.settings_catalog import SETTINGS, dependency_errors, parse_assignments
from bot.domain import Actor, Card, SpaceInfo
from bot.errors import StorageUnavailable
from bot.meet.models import AccessType, ConferenceRecord, Space
from bot.slack import grammar
from bot.slack.interaction import SubmittedView
from bot.slack.members_handlers import MembersHandlers
from bot.slack.mrkdwn import code, plain
from bot.slack.replies import modal_text, refusal_text
from bot.slack.responder import Reply
from bot.slack.slack_errors import SLACK_FAILURES, slack_error_name
from bot.slack.views.blocks import Message, View, notice, whole_lines
from bot.slack.views.card import CardContent, card_content, ended_card, meeting_card
from bot.slack.views.live import duration_words
from bot.slack.views.meeting import history_message, settings_changed_message, status_message
from bot.slack.views.settings import COHOSTS_BLOCK, chosen_people, settings_modal, settings_notice_modal

__all__ = ["MeetingHandlers", "Reply"]

log = logging.getLogger(__name__)

_ACCESS = {grammar.Access.OPEN: AccessType.OPEN, grammar.Access.TRUSTED: AccessType.TRUSTED,
           grammar.Access.RESTRICTED: AccessType.RESTRICTED}


@dataclass(frozen=True, slots=True)
class MeetingHandlers:
    meetings: Meetings
    members: MembersHandlers | None = None  # co-hosts: of /meet new and in the settings modal
    people: PeopleSwitch | None = None  # whether a meeting's Slack call shows who is in it

    # --- commands ----------------------------------------------------------------------------------------------

    async def start(self, actor: Actor, title: str | None, access: grammar.Access | None, channel_id: str,
                    client: AsyncWebClient, respond: Reply | None, progress: Progress) -> bool:
        """Create the space as the caller and post its card, resuming from `progress` when this is a re-run:
        a space already created is not created again, a card already posted is not posted again.

        Returns whether the caller's Home tab should be re-rendered.
        """
        done = await progress.done()
        if "space" in done:
            space = Space.from_json(json.loads(done["space"]))
            started = StartedMeeting(space, title, _ACCESS[access] if access else None)
        else:
            started = await self.meetings.start(actor, title, _ACCESS[access] if access else None)
            space = started.space
            await _note(progress, "space", json.dumps({"name": space.name, "meetingUri": space.meeting_uri,
                                                       "meetingCode": space.meeting_code}))
        # Google has acted: from here on nothing may say "nothing changed", and every failure is worked around.
        home = await self._remember(actor, started)
        if "card" in done:
            return home
        if "posting" in done:
            # A run died while posting: Slack may or may not have the card, and a second one must never appear.
            await self._tell_it_exists(actor, space, client, respond, maybe_posted=True)
            await _note(progress, "card", "reported")
            return home
        card_message = meeting_card(CardContent(space.name, space.meeting_code, space.meeting_uri, title,
                                                actor.user_id, started_at=time.time()))
        await _note(progress, "posting", "1")
        posted, card = await self._post_card(channel_id, card_message, client, respond)
        await _note(progress, "card", card.field if card else "posted" if posted else "reported")
        if not posted:
            await self._tell_it_exists(actor, space, client, respond)
        if card is not None:
            await self._remember_card(actor, space.name, card)
        return home

    async def start_cohosts(self, actor: Actor, title: str | None, cohosts: Sequence[str], client: AsyncWebClient,
                            tell: Reply, progress: Progress) -> None:
        """After `start`: the mentioned people become co-hosts and the card says so (once, even on a re-run)."""
        if not cohosts or self.members is None:
            return  # no extra Redis read for the common case
        done = await progress.done()
        if "space" not in done or "cohosts" in done:
            return
        channel, _, ts = done.get("card", "").partition(":")
        card = Card(channel, ts) if ts else None
        space = Space.from_json(json.loads(done["space"]))
        await self.members.new_space_cohosts(actor, space, title, cohosts, card, client, tell)
        await _note(progress, "cohosts", "1")

    async def _remember(self, actor: Actor, started: StartedMeeting) -> bool:
        try:
            return bool(await self.meetings.remember_started(actor, started, None))
        except StorageUnavailable:
            log.warning("a new meeting's record was not stored: Redis unavailable")
            return False

    async def _remember_card(self, actor: Actor, space_name: str, card: Card) -> None:
        try:
            await self.meetings.add_card(actor, space_name, card)
        except StorageUnavailable:
            log.warning("a new meeting card was not recorded: Redis unavailable")

    async def _post_card(self, channel_id: str, message: Message, client: AsyncWebClient,
                         respond: Reply | None) -> tuple[bool, Card | None]:
        """Post the card in the channel; where the bot can't (or Slack fails), in the channel through the
        command's response_url. (posted at all, the Card when it can be updated later)."""
        try:
            posted = await client.chat_postMessage(channel=channel_id, **message)
            return True, Card(str(posted["channel"]), str(posted["ts"]))
        except SLACK_FAILURES as error:
            log.warning("meeting card not posted with chat.postMessage: %s", slack_error_name(error))
        if respond is not None:
            try:
                await respond(response_type="in_channel", **message)
                return True, None  # a response_url message has no ts to update later
            except SLACK_FAILURES as error:
                log.warning("meeting card not posted through response_url either: %s", slack_error_name(error))
        return False, None

    async def _tell_it_exists(self, actor: Actor, space: Space, client: AsyncWebClient,
                              respond: Reply | None, *, maybe_posted: bool = False) -> None:
        """The meeting exists but its card isn't (or may not be) in the channel: say so, with its link."""
        lead = ("Your meeting was created; meetbot was interrupted while posting its card, so it may be missing "
                "here." if maybe_posted else "Your meeting was created, but meetbot couldn't post its card here.")
        message = notice(f"{lead} Join it at {plain(space.meeting_uri or space.name)}", emoji=":warning:")
        if respond is not None:
            try:
                await respond(**message)
                return
            except SLACK_FAILURES:
                pass
        try:
            await client.chat_postMessage(channel=actor.user_id, text=message["text"], blocks=message["blocks"])
        except SLACK_FAILURES as error:
            log.error("a created meeting could not be reported anywhere: %s", slack_error_name(error))

    async def status(self, actor: Actor, reference: str, respond: Reply, client: AsyncWebClient,
                     channel_id: str | None = None) -> None:
        status = await self.meetings.status(actor, reference, channel_id)
        await respond(**status_message(status))
        try:
            await self.meetings.noticed(actor.tenant, status.space.name, live=status.space.is_live)
        except StorageUnavailable:
            log.warning("a followed meeting was not refreshed after a status check: Redis unavailable")
        if status.role == "owner" and not status.space.is_live:
            await self.follow_cards(actor, status.space, client)

    async def end(self, actor: Actor, reference: str, respond: Reply, client: AsyncWebClient,
                  card: Card | None = None, label: str | None = None, progress: Progress | None = None) -> None:
        ended = await self.meetings.end(actor, reference, label, progress)
        cards = await self.meetings.cards(actor.tenant, ended.space_name)
        if card is not None and card.field not in {c.field for c in cards}:
            cards.append(card)
        # The call was live and this person ended it: every meeting card of the space is now ended.
        updated = await self._show_ended(actor, ended, [c for c in cards if c.kind == "meeting"], client,
                                         actor.user_id)
        if card is not None and card.field in updated:
            return  # the clicked card now says it ended, and by whom: that is the answer
        length = ""
        if ended.record and ended.record.start_time and ended.record.end_time:
            minutes = int((ended.record.end_time - ended.record.start_time).total_seconds() // 60)
            length = f" after {duration_words(minutes)}" if minutes >= 1 else ", which lasted under a minute"
        await respond(**notice(f"Ended the call in {code(ended.label)}{length}.", emoji=":white_check_mark:"))

    async def change(self, actor: Actor, parsed: grammar.Set, respond: Reply) -> None:
        people = people_choice(parsed.assignments)
        changes = parse_assignments(google_assignments(parsed.assignments))
        if changes or people is None:
            space, report = await self.meetings.change_settings(actor, parsed.reference, changes)
            await respond(**settings_changed_message(space.meeting_code or parsed.reference, report))
        else:
            space = await self.meetings.settings(actor, parsed.reference)  # only its owner decides
        if people is not None and self.people is not None:
            await self.people.set_meeting(actor.tenant, space.name, people)
            await respond(**notice(people_words(space.meeting_code or parsed.reference, people),
                                   emoji=":white_check_mark:"))

    async def history(self, actor: Actor, reference: str, respond: Reply, client: AsyncWebClient) -> None:
        found = await self.meetings.history(actor, reference)
        await respond(**history_message(found.label, found.calls))
        latest = found.calls[0].record if found.calls else None
        if latest is not None:
            await self.follow_cards(actor, Space(found.space_name), client, latest, found.info)

    async def open_settings(self, actor: Actor, reference: str, trigger_id: str, channel_id: str | None,
                            client: AsyncWebClient) -> None:
        # A non-owner meetbot knows of is refused before any dialog opens (as End is).
        await self.meetings.check_known_owner(actor, reference)
        # trigger_id expires 3 s after the click: open a placeholder at once, fill it when Google answers.
        opened = await client.views_open(trigger_id=trigger_id,
                                         view=settings_notice_modal(":hourglass_flowing_sand: Asking Google…"))
        view_id = str(opened["view"]["id"])
        try:
            space = await self.meetings.settings(actor, reference)
        except UserFacingError as refusal:
            await client.views_update(view_id=view_id, view=refusal_modal(refusal))
            return
        label = space.meeting_code or space.name
        cohosts = await self._modal_cohosts(actor, space.name)
        people = await self.people.meeting_shows(actor.tenant, space.name) if self.people else None
        await client.views_update(view_id=view_id, view=settings_modal(space, label, channel_id, cohosts,
                                                                       people=people))

    async def _modal_cohosts(self, actor: Actor, space_name: str) -> list[str] | None:
        """The current co-hosts, as Google says; None (no co-hosts field) when Google won't say."""
        if self.members is None:
            return None
        try:
            return await self.members.current_cohosts(actor, space_name)
        except UserFacingError:
            return None

    async def save_settings(self, actor: Actor, view: SubmittedView, client: AsyncWebClient) -> None:
        space = view.note("space") or ""
        label = view.note("label") or space
        offered_cohosts = "cohosts" in view.metadata  # the form had the co-hosts field
        chosen = selected_settings(view)
        try:
            _, report = await self.meetings.change_settings(actor, space, parse_assignments(chosen))
        except UserFacingError as refusal:
            # The form comes back as the person left it, with Google's (or meetbot's) reason on top.
            cohosts = list(view.input(COHOSTS_BLOCK).users) if offered_cohosts else None
            form = settings_modal(Space(space), label, view.note("channel"), cohosts, chosen=dict(chosen),
                                  problem=modal_text(refusal), people=chosen_people(view))
            await client.views_update(view_id=view.id, view=form)
            return
        result = settings_changed_message(label, report)
        text = str(result["blocks"][0]["text"]["text"])
        if offered_cohosts:
            text += await self._save_cohosts(actor, space, list(view.input(COHOSTS_BLOCK).users))
        people = chosen_people(view)
        # The owner (change_settings just checked that) changed what the call shows.
        if people is not None and self.people is not None and \
                people != await self.people.meeting_shows(actor.tenant, space):
            await self.people.set_meeting(actor.tenant, space, people)
            text += "\n" + people_words(label, people)
        await client.views_update(view_id=view.id, view=settings_notice_modal(whole_lines(text)))

    async def _save_cohosts(self, actor: Actor, space: str, after: list[str]) -> str:
        """The co-hosts field, saved as the difference from the co-hosts Google has now; what happened, as
        mrkdwn."""
        if self.members is None:
            return ""
        try:
            before = await self.members.current_cohosts(actor, space)
            said = await self.members.save_cohosts(actor, space, before, after)
        except UserFacingError as refusal:
            return "\n" + refusal_text(refusal)
        return "".join("\n" + str(message["blocks"][0]["text"]["text"]) for message in said)

    # --- cards -------------------------------------------------------------------------------------------------

    async def follow_cards(self, actor: Actor, space: Space, client: AsyncWebClient,
                           latest: ConferenceRecord | None = None, info: SpaceInfo | None = None) -> None:
        """Cards change only on Google's evidence: a card turns "ended" when a call that started after it was
        posted has ended. Room cards stand for the room, not a call, and are left as they are."""
        cards = [c for c in await self.meetings.cards(actor.tenant, space.name) if c.kind == "meeting"]
        if not cards:
            return
        record = latest if latest is not None else await self.meetings.latest_call(actor, space.name)
        if record is None or record.end_time is None or record.start_time is None:
            return
        started = record.start_time.timestamp() + CLOCK_SKEW
        ended_cards = [c for c in cards if c.posted_at <= started]
        if ended_cards:
            info = info or await self.meetings.info(actor.tenant, space.name)
            label = space.meeting_code or (info.meeting_code if info else None) or space.name
            ended = EndedMeeting(space.name, label, info, record)
            await self._show_ended(actor, ended, ended_cards, client, None, space)

    async def _show_ended(self, actor: Actor, ended: EndedMeeting, cards: list[Card], client: AsyncWebClient,
                          ended_by: str | None, space: Space | None = None) -> set[str]:
        """Turn the cards into ended cards; the fields (channel:ts) of those Slack updated."""
        if not cards:
            return set()
        info = ended.info or await self.meetings.info(actor.tenant, ended.space_name)
        content = card_content(ended.space_name, info, space)
        message = ended_card(content, ended, ended_by)
        updated = set()
        for card in cards:
            try:
                await client.chat_update(channel=card.channel, ts=card.ts, **message)
                updated.add(card.field)
            except SLACK_FAILURES as error:
                log.warning("could not update a meeting card: %s", slack_error_name(error))
        if self.meetings.follows:  # the follower reads the ended call soon (again, if it had stopped): the recap
            await self.meetings.noticed(actor.tenant, ended.space_name, live=True)
        else:
            await self.meetings.forget_cards(actor.tenant, ended.space_name, cards)
        return updated


async def _note(progress: Progress, step: str, value: str) -> None:
    """Progress is best effort: without Redis the job can't be re-run anyway, and the work itself is done."""
    try:
        await progress.note(step, value)
    except StorageUnavailable:
        log.warning("job progress not recorded (%s): Redis unavailable", step)


def refusal_modal(refusal: UserFacingError) -> View:
    return settings_notice_modal(modal_text(refusal))


def selected_settings(view: SubmittedView) -> tuple[tuple[str, str], ...]:
    """The settings modal's choices as `(key, word)` pairs; unchosen selects are skipped."""
    return tuple((s.key, word) for s in SETTINGS if (word := view.input(s.key).option) is not None)


def people_words(label: str, on: bool) -> str:
    if on:
        return f"The Slack call on {code(label)}'s cards shows who is in the call."
    return f"The Slack call on {code(label)}'s cards no longer shows who is in the call; the card still counts them."


def settings_errors(view: SubmittedView) -> dict[str, str]:
    """The checks made at submit time, shown on the fields with the form kept: limits on chat, reactions… need
    Host management on. (The options come from the form itself, so a bad value means a forged submission.)"""
    chosen = dict(selected_settings(view))
    try:
        parse_assignments(tuple(chosen.items()))
    except InvalidSettings as invalid:
        return {SETTINGS[0].key: invalid.reason}
    by_key = {s.key: s for s in SETTINGS}
    return {key: f"This works only with Host management on. Turn it on, or choose "
                 f"“{by_key[key].choices[by_key[key].default or '']}”."
            for key in dependency_errors(chosen)}

