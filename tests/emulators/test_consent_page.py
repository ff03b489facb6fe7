"""The OAuth emulator's consent page (the sandbox's switch): a person chooses Allow or Deny; tests keep auto-consent."""

from __future__ import annotations

import urllib.parse

from emulators.meet_oauth import OAuthState

REQUEST = {"client_id": "meetbot", "redirect_uri": "http://127.0.0.1:9/google/oauth/callback", "response_type": "code",
           "scope": "https://www.googleapis.com/auth/meetings.space.created", "state": "s1", "access_type": "offline",
           "code_challenge": "x" * 43, "code_challenge_method": "S256", "login_hint": "bob@example.com"}


def test_without_the_switch_authorize_consents_at_once() -> None:
    reply = OAuthState().authorize(REQUEST)
    assert reply.status == 302 and reply.html is None and "code=" in (reply.location or "")


def test_the_consent_page_names_the_account_and_both_answers_redirect() -> None:
    oauth = OAuthState(consent_page=True)
    page = oauth.authorize(REQUEST)
    assert page.status == 200 and page.html is not None and page.location is None
    assert "bob@example.com" in page.html and 'value="allow"' in page.html and 'value="deny"' in page.html
    assert 'name="state" value="s1"' in page.html  # the form re-sends the whole request

    denied = oauth.authorize({**REQUEST, "consent": "deny"})
    assert denied.status == 302 and "error=access_denied" in (denied.location or "")

    allowed = oauth.authorize({**REQUEST, "consent": "allow", "account": "carol@example.com"})
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(allowed.location or "").query))
    assert allowed.status == 302 and query["state"] == "s1" and query["code"].startswith("4/0")
    assert allowed.user == "carol@example.com"  # the account the person chose on the page
