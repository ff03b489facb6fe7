"""How a call to Slack can fail, in one place: an API error answer, or no answer at all (network, timeout)."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

__all__ = ["SLACK_FAILURES", "slack_error_name"]

# Everything a Web API or response_url call raises when Slack refused it or couldn't be reached. A bug in our
# own code is none of these, so it still surfaces as one.
SLACK_FAILURES = (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError)


def slack_error_name(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    return type(error).__name__
