"""`Reader`: Google called as one person, a refused token replaced once. Seen under load in
tests/e2e/test_processes.py::test_one_refresh_per_token_across_processes: six status checks over three processes,
the access token expired at Google. One check's token read began before another check rejected that token, and the
retry of the other check joined it (one read per person is shared while it runs): it got the dead token back, was
refused again, and told its person to reconnect although the grant was fine."""

from __future__ import annotations

from bot.core.following import Reader
from bot.domain import Tenant
from bot.googleapi.errors import Unauthenticated

TENANT = Tenant("T1")


class LaggingTokens:
    """A person's tokens where the read that answers the retry began before the rejection: it still says "T0"."""

    def __init__(self) -> None:
        self.answers = ["T0", "T0", "T1"]
        self.rejected: list[str] = []

    async def get_access_token(self, tenant: Tenant, user_id: str) -> str:
        return self.answers.pop(0)

    async def reject_access_token(self, tenant: Tenant, user_id: str, token: str) -> None:
        self.rejected.append(token)


async def google(token: str) -> str:
    if token == "T0":
        raise Unauthenticated(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.",
                              reason="ACCESS_TOKEN_EXPIRED", operation="spaces.get")
    return f"read with {token}"


async def test_a_retry_handed_the_token_it_just_rejected_asks_again() -> None:
    tokens = LaggingTokens()
    assert await Reader(tokens, TENANT, "U1").call(google) == "read with T1"
    assert tokens.rejected == ["T0"], "rejected once; the stale answer is not rejected again"


async def test_a_fresh_token_refused_too_is_the_persons_to_fix() -> None:
    """Google refuses the new token as well (the grant was revoked): one retry, then the error, never a loop."""
    tokens = LaggingTokens()
    tokens.answers = ["T0", "T0", "T0", "T0"]
    try:
        await Reader(tokens, TENANT, "U1").call(google)
    except Unauthenticated:
        pass
    else:
        raise AssertionError("a token Google keeps refusing must reach the person")
    assert len(tokens.answers) == 1, "three reads (the first, the retry's, one past the stale answer): never a loop"
