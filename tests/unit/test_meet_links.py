"""bot.meet.links: table-driven accept/reject cases plus hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.googleapi.errors import GoogleApiError
from bot.meet.links import (
    MAX_CODE_LENGTH,
    InvalidMeetingReference,
    MeetingRef,
    find_references,
    parse_reference,
)

CODE = MeetingRef("code", "abc-mnop-xyz")

ACCEPTED = [
    ("https://meet.google.com/abc-mnop-xyz", CODE),
    ("http://meet.google.com/abc-mnop-xyz", CODE),
    ("meet.google.com/abc-mnop-xyz", CODE),
    ("HTTPS://MEET.GOOGLE.COM/ABC-MNOP-XYZ", CODE),
    ("https://Meet.Google.com/Abc-Mnop-Xyz", CODE),
    ("https://meet.google.com/abc-mnop-xyz/", CODE),
    ("https://meet.google.com/abc-mnop-xyz?authuser=0", CODE),
    ("https://meet.google.com/abc-mnop-xyz?hs=122&authuser=1", CODE),
    ("https://meet.google.com/abc-mnop-xyz?pli=1#frag", CODE),
    ("https://meet.google.com/abc-mnop-xyz#anchor", CODE),
    ("https://meet.google.com/abc-mnop-xyz?authuser=0&amp;hs=122", CODE),
    ("<https://meet.google.com/abc-mnop-xyz>", CODE),
    ("<https://meet.google.com/abc-mnop-xyz|Standup>", CODE),
    ("<https://meet.google.com/abc-mnop-xyz?a=1&amp;b=2|Réunion d'équipe>", CODE),
    ("<https://meet.google.com/abc-mnop-xyz|https://meet.google.com/abc-mnop-xyz>", CODE),
    ("https://g.co/meet/abc-mnop-xyz", CODE),
    ("g.co/meet/ABC-MNOP-XYZ", CODE),
    ("abc-mnop-xyz", CODE),
    ("ABC-MNOP-XYZ", CODE),
    ("  abc-mnop-xyz  ", CODE),
    ("abc-mnop-xyz.", CODE),
    ("(https://meet.google.com/abc-mnop-xyz)", CODE),
    ("a-b-c", MeetingRef("code", "a-b-c")),  # any [a-z]+-[a-z]+-[a-z]+ is the documented shape
    ("spaces/jQCFfuBOdN5z", MeetingRef("space", "jQCFfuBOdN5z")),
    ("spaces/jqcffubodn5z", MeetingRef("space", "jqcffubodn5z")),  # ids are case-sensitive: kept
    ("spaces/ABC-MNOP-XYZ", CODE),  # a code alias written as a name
    ("spaces/a_b-9", MeetingRef("space", "a_b-9")),
    ("-".join(["a" * 42, "b" * 42, "c" * 42]), MeetingRef("code", "-".join(["a" * 42, "b" * 42, "c" * 42]))),
]

REJECTED = [
    ("", "no meeting"),
    ("   ", "no meeting"),
    ("<>", "no meeting"),
    ("https://meet.google.com/new", "new meeting"),
    ("https://meet.google.com/new?hs=180", "new meeting"),
    ("https://meet.google.com/landing", "home page"),
    ("https://meet.google.com/", "home page"),
    ("meet.google.com", "home page"),
    ("https://meet.google.com/lookup/teamsync", "Nickname"),
    ("https://meet.google.com/lookup/abc-mnop-xyz", "Nickname"),
    ("https://g.co/meet/teamsync", "Nickname"),
    ("https://meet.google.com.evil.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("https://evilmeet.google.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("https://meet.google.com@evil.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("https://user@meet.google.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("https://meet.google.com:8443/abc-mnop-xyz", "isn't a Google Meet link"),
    ("https://www.google.com/url?q=https://meet.google.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("ftp://meet.google.com/abc-mnop-xyz", "isn't a Google Meet link"),
    ("javascript:alert(1)", "isn't a Google Meet link"),
    ("https://meet.google.com/abc-mnop-xyz/extra", "isn't a meeting code"),
    ("https://meet.google.com/abcmnopxyz", "isn't a meeting code"),  # dashless: not accepted (documented)
    ("abcmnopxyz", "isn't a meeting code"),
    ("abc-mnop", "isn't a meeting code"),
    ("abc_mnop_xyz", "isn't a meeting code"),
    ("abc-mn0p-xyz", "isn't a meeting code"),
    ("-".join(["a" * 43, "b" * 43, "c" * 43]), "too long"),
    ("https://meet.google.com/" + "-".join(["a" * 43, "b" * 43, "c" * 43]), "too long"),
    ("spaces/" + "a" * 129, "too long"),
    ("https://meet.google.com/\u0430bc-mnop-xyz", "look-alikes"),  # Cyrillic a
    ("https://me\u0435t.google.com/abc-mnop-xyz", "look-alikes"),  # Cyrillic e in the host
    ("".join(chr(ord(c) + 0xFEE0) if c != "-" else c for c in "abc-mnop-xyz"), "look-alikes"),  # full-width
    ("abc-mnop-xyz please", "one meeting"),
    ("spaces/", "space name"),
    ("spaces/abc/members/x", "space name"),
    ("spaces/a.b", "space name"),
    ("<@U123ABC>", "isn't a meeting code"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepts(text: str, expected: MeetingRef) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert ref.original == text


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_rejects_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidMeetingReference) as info:
        parse_reference(text)
    assert fragment in info.value.reason
    assert info.value.text == text
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, GoogleApiError)


def test_code_length_boundary() -> None:
    exactly = "-".join(["a" * 42, "b" * 42, "c" * 42])
    assert len(exactly) == MAX_CODE_LENGTH
    assert parse_reference(exactly).value == exactly
    with pytest.raises(InvalidMeetingReference, match="too long"):
        parse_reference(exactly + "d")


def test_ref_properties() -> None:
    code = parse_reference("<https://meet.google.com/ABC-mnop-xyz?authuser=0|Standup>")
    assert code.kind == "code"
    assert code.value == "abc-mnop-xyz"
    assert code.resource_name == "spaces/abc-mnop-xyz"
    assert code.url == "https://meet.google.com/abc-mnop-xyz"
    space = parse_reference("spaces/jQCFfuBOdN5z")
    assert space.resource_name == "spaces/jQCFfuBOdN5z"
    assert space.url is None
    # equality and hashing ignore where the reference came from
    assert parse_reference("ABC-MNOP-XYZ") == parse_reference("meet.google.com/abc-mnop-xyz")
    assert len({parse_reference("ABC-MNOP-XYZ"), parse_reference("meet.google.com/abc-mnop-xyz")}) == 1


def test_find_references_in_free_text() -> None:
    text = (
        "Standup at <https://meet.google.com/abc-mnop-xyz?authuser=0&amp;hs=1|the usual room>, "
        "backup: meet.google.com/ABC-MNOP-XYZ. Or try qrs-tuvw-xyz (or spaces/jQCFfuBOdN5z). "
        "Not these: https://meet.google.com/new https://meet.google.com.evil.com/abc-mnop-xyz "
        "<https://example.com|example> state-of-the-art <@U123> https://g.co/meet/def-ghij-klm!"
    )
    refs = find_references(text)
    assert refs == [
        MeetingRef("code", "abc-mnop-xyz"),
        MeetingRef("code", "qrs-tuvw-xyz"),
        MeetingRef("space", "jQCFfuBOdN5z"),
        MeetingRef("code", "def-ghij-klm"),
    ]
    # `original` is the link exactly as Slack sent it (the chat.unfurl key), entities included
    assert refs[0].original == "https://meet.google.com/abc-mnop-xyz?authuser=0&amp;hs=1"
    assert refs[1].original == "qrs-tuvw-xyz"
    assert refs[3].original == "https://g.co/meet/def-ghij-klm"


def test_find_references_bare_codes_need_issued_shape() -> None:
    assert find_references("a state-of-the-art up-to-date well-known-fact") == []
    assert find_references("join a-b-c") == []
    assert find_references("join https://meet.google.com/a-b-c") == [MeetingRef("code", "a-b-c")]


def test_find_references_empty() -> None:
    assert find_references("") == []
    assert find_references("nothing to see here") == []


# --- properties ---------------------------------------------------------------------------------------------

_letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)
codes = st.builds(lambda a, b, c: f"{a}-{b}-{c}", _letters, _letters, _letters)
space_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,40}\Z")
link_parts = st.sampled_from(
    [
        "https://meet.google.com/",
        "http://meet.google.com/",
        "meet.google.com/",
        "HTTPS://MEET.GOOGLE.COM/",
        "https://g.co/meet/",
        "spaces/",
        "",
        "<https://meet.google.com/",
        "https://meet.google.com.evil.com/",
        "https://meet.google.com/lookup/",
    ]
)
noise = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
meetish = st.builds(lambda p, c, tail: p + c + tail, link_parts, st.one_of(codes, space_ids, noise), noise)


@settings(max_examples=300, deadline=None)
@given(st.one_of(noise, meetish, st.text(max_size=200)))
def test_only_own_error(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidMeetingReference as exc:
        assert exc.reason
    else:
        assert ref.kind in ("code", "space")
        assert ref.value.isascii()
    for found in find_references(text):
        assert found.resource_name.startswith("spaces/")


@settings(max_examples=200, deadline=None)
@given(st.one_of(codes.map(str.lower), space_ids), st.sampled_from(["", "https://meet.google.com/", "spaces/"]))
def test_normalised_reference_round_trips(value: str, prefix: str) -> None:
    try:
        ref = parse_reference(prefix + value)
    except InvalidMeetingReference:
        return  # e.g. a space-id-shaped word given as a bare code
    again = parse_reference(ref.url or ref.resource_name)
    assert again == ref
    assert parse_reference(ref.resource_name) == ref
    assert find_references(f"see {ref.url or ref.resource_name} now") == [ref]


@settings(max_examples=200, deadline=None)
@given(codes)
def test_any_case_code_normalises_to_lowercase(code: str) -> None:
    for text in (code, f"https://meet.google.com/{code}", f"<https://meet.google.com/{code}|x>", f"spaces/{code}"):
        ref = parse_reference(text)
        assert ref == MeetingRef("code", code.lower())
