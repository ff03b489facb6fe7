from __future__ import annotations

import pytest

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
    ],
)
def test_valid_commands(text: str, expected: g.Command) -> None:
    assert g.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("stauts abc-mnop-xyz", "/meet status abc-mnop-xyz"),
        ("histroy abc-mnop-xyz", "/meet history abc-mnop-xyz"),
        ("conect", "/meet connect"),
        ("end", "/meet end <meeting>"),
        ("set", g.SUBCOMMANDS["set"]),
        ("set abc-mnop-xyz access", g.SUBCOMMANDS["set"]),
        ("set access=open", g.SUBCOMMANDS["set"]),
        ("room delete", None),
        ("room nwe", "/meet room new"),
        ("room set", "/meet room set <meeting>"),
        ("me please", "/meet me"),
        ("new --public", g.SUBCOMMANDS["new"]),
        ("new --open --restricted", g.SUBCOMMANDS["new"]),
        ("Weekly planning", None),  # suggestions come from the command word only: a title is not a typo
        ("hello world", None),
        ("???", None),
        ("cohost", g.SUBCOMMANDS["cohost"]),
        ("cohost abc-mnop-xyz", g.SUBCOMMANDS["cohost"]),
        ("uncohost abc-mnop-xyz bob", g.SUBCOMMANDS["uncohost"]),
        ("members", "/meet members <meeting>"),
        ("room members", "/meet room members on"),
        ("room members maybe", "/meet room members on"),
    ],
)
def test_bad_input_explains_and_suggests(text: str, suggestion: str | None) -> None:
    parsed = g.parse(text)
    assert isinstance(parsed, g.Unknown)
    assert parsed.problem
    assert parsed.suggestion == suggestion


def test_every_subcommand_has_usage() -> None:
    for name in ("new", "status", "end", "settings", "set", "room", "history", "connect", "disconnect", "me",
                 "cohost", "uncohost", "members"):
        assert g.SUBCOMMANDS[name].startswith(f"/meet {name}")


def test_room_recaps_for_one_room_or_by_default() -> None:
    assert g.parse("room recap off") == g.RoomRecaps(False)
    assert g.parse("room recap ON") == g.RoomRecaps(True)
    assert g.parse("room recap default off") == g.RoomRecaps(False, default=True)
    unsure = g.parse("room recap maybe")
    assert isinstance(unsure, g.Unknown) and unsure.suggestion == "/meet room recap on"
