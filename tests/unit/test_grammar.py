from __future__ import annotations

import json

import pytest

from bot.slack import commands
from bot.slack import grammar as g


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", g.New()),
        ("   ", g.New()),
        ("new", g.New()),
        ("new Weekly sync", g.New("Weekly sync")),
        ("new Weekly sync --open", g.New("Weekly sync", g.Access.OPEN)),
        ("NEW --Trusted standup", g.New("standup", g.Access.TRUSTED)),
        ("--restricted", g.New(None, g.Access.RESTRICTED)),
        ("help", g.Help()),
        ("HELP settings", g.Help("settings")),
        ("https://meet.google.com/abc-mnop-xyz", g.Status("https://meet.google.com/abc-mnop-xyz")),
        ("<https://meet.google.com/abc-mnop-xyz|meet>", g.Status("https://meet.google.com/abc-mnop-xyz")),
        ("abc-mnop-xyz", g.Status("abc-mnop-xyz")),
        ("spaces/jQCFfuBOdN5z", g.Status("spaces/jQCFfuBOdN5z")),
        ("status abc-mnop-xyz", g.Status("abc-mnop-xyz")),
        ("end abc-mnop-xyz", g.End("abc-mnop-xyz")),
        ("settings abc-mnop-xyz", g.OpenSettings("abc-mnop-xyz")),
        ("history abc-mnop-xyz", g.ShowHistory("abc-mnop-xyz")),
        ("set abc-mnop-xyz access=Trusted chat=hosts",
         g.Set("abc-mnop-xyz", (("access", "trusted"), ("chat", "hosts")))),
        ("room", g.RoomAction("show")),
        ("room new", g.RoomAction("new")),
        ("room set abc-mnop-xyz", g.RoomAction("set", "abc-mnop-xyz")),
        ("room clear", g.RoomAction("clear")),
        ("new Planning <@U0BOB|bob> <@U0CAROL> --open", g.New("Planning", g.Access.OPEN, ("U0BOB", "U0CAROL"))),
        ("<@U0BOB> <@U0BOB|again>", g.New(people=("U0BOB",))),
        ("new <@U0BOB> &lt;b&gt; review", g.New("<b> review", None, ("U0BOB",))),
        ("cohost abc-mnop-xyz <@U0BOB> <@U0CAROL|carol>", g.Cohost("abc-mnop-xyz", ("U0BOB", "U0CAROL"))),
        ("uncohost <https://meet.google.com/abc-mnop-xyz> <@U0BOB>",
         g.Uncohost("https://meet.google.com/abc-mnop-xyz", ("U0BOB",))),
        ("members spaces/jQCFfuBOdN5z", g.ShowMembers("spaces/jQCFfuBOdN5z")),
        ("room members on", g.RoomMembership(True)),
        ("room Members OFF", g.RoomMembership(False)),
        ("connect", g.Connect()),
        ("disconnect", g.Disconnect()),
        ("me", g.Me()),
        ("mine on", g.Mine("on")),
        ("mine Both", g.Mine("both")),
        ("mine off", g.Mine(None)),
        ("presence on", g.PresenceSwitch(True)),
        ("presence DND on", g.PresenceDnd(True)),
        ("presence dnd off", g.PresenceDnd(False)),
    ],
)
def test_valid_commands(text: str, expected: g.Command) -> None:
    assert commands.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("stauts abc-mnop-xyz", "/meet status abc-mnop-xyz"),
        ("histroy abc-mnop-xyz", "/meet history abc-mnop-xyz"),
        ("conect", "/meet connect"),
        ("end", "/meet end <meeting>"),
        ("set", commands.SUBCOMMANDS["set"]),
        ("set abc-mnop-xyz access", commands.SUBCOMMANDS["set"]),
        ("set access=open", commands.SUBCOMMANDS["set"]),
        ("room delete", None),
        ("room nwe", "/meet room new"),
        ("room set", "/meet room set <meeting>"),
        ("me please", "/meet me"),
        ("new --public", commands.SUBCOMMANDS["new"]),
        ("new --open --restricted", commands.SUBCOMMANDS["new"]),
        ("Weekly planning", None),  # suggestions come from the command word only: a title is not a typo
        ("hello world", None),
        ("???", None),
        ("cohost", commands.SUBCOMMANDS["cohost"]),
        ("cohost abc-mnop-xyz", commands.SUBCOMMANDS["cohost"]),
        ("uncohost abc-mnop-xyz bob", commands.SUBCOMMANDS["uncohost"]),
        ("members", "/meet members <meeting>"),
        ("room members", "/meet room members on"),
        ("room members maybe", "/meet room members on"),
        ("mine", "/meet mine on"),
        ("mine maybe", "/meet mine on"),
        ("presence dnd", "/meet presence dnd on"),
        ("presence dnd maybe", "/meet presence dnd on"),
        ("presence on dnd", "/meet presence on"),
    ],
)
def test_bad_input_explains_and_suggests(text: str, suggestion: str | None) -> None:
    parsed = commands.parse(text)
    assert isinstance(parsed, g.Unknown)
    assert parsed.problem
    assert parsed.suggestion == suggestion


def test_every_subcommand_has_usage() -> None:
    for name in ("new", "status", "end", "settings", "set", "room", "history", "connect", "disconnect", "me",
                 "cohost", "uncohost", "members"):
        assert commands.SUBCOMMANDS[name].startswith(f"/meet {name}")


def test_room_recaps_for_one_room_or_by_default() -> None:
    assert commands.parse("room recap off") == g.RoomRecaps(False)
    assert commands.parse("room recap ON") == g.RoomRecaps(True)
    assert commands.parse("room recap default off") == g.RoomRecaps(False, default=True)
    unsure = commands.parse("room recap maybe")
    assert isinstance(unsure, g.Unknown) and unsure.suggestion == "/meet room recap on"


@pytest.mark.parametrize("spec", commands.COMMANDS, ids=lambda spec: spec.word)
def test_each_row_parses_its_own_example_into_a_command_it_runs(spec: commands.CommandSpec) -> None:
    parsed = commands.parse(spec.example.removeprefix("/meet ").replace("@Bob", "<@U0BOB>"))  # as Slack sends it
    assert isinstance(parsed, spec.types) and commands.spec_of(parsed) is spec
    assert spec.usage.startswith(f"/meet {spec.word}")


def test_every_command_type_has_exactly_one_row() -> None:
    kinds = [kind for spec in commands.COMMANDS for kind in spec.types]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(g.Command.__args__) - {g.Unknown}  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["new Planning <@U0BOB> --trusted", "set abc-mnop-xyz access=open chat=hosts",
                                  "room recap default off", "room set abc-mnop-xyz", "cohost abc-mnop-xyz <@U0BOB>",
                                  "status abc-mnop-xyz", "me"])
def test_a_parsed_command_survives_the_job_payload_unchanged(text: str) -> None:
    parsed = commands.parse(text)
    assert g.decode(json.loads(json.dumps(g.encode(parsed)))) == parsed


@pytest.mark.parametrize("data", [None, "status abc", {}, {"type": "Unknown", "text": "x"}, {"type": "Status"},
                                  {"type": "New", "title": None, "access": "public", "people": []},
                                  {"type": "Status", "reference": {"nested": 1}}])
def test_a_job_payload_that_is_not_a_parsed_command_is_refused(data: object) -> None:
    with pytest.raises(ValueError):
        g.decode(data)


def test_presence_dnd_survives_the_job_and_runs_in_the_presence_row() -> None:
    parsed = commands.parse("presence dnd on")
    assert g.decode(json.loads(json.dumps(g.encode(parsed)))) == parsed
    spec = commands.spec_of(parsed)
    assert spec is not None and spec.word == "presence" and spec.work is not None
