"""Every HTTP exchange with Google is reported here, once: counted by API method and status (metrics, and the
user action it belongs to), and a WARNING line when Google answered with an error or didn't answer. So is every
wait for a slot in Google's quotas (meetbot's own pacing, or a 429's Retry-After).

`method` is a fixed route template ("spaces.get", "oauth.token"): never a resource name or id.
"""

from __future__ import annotations

import logging

from bot import metrics

__all__ = ["NO_ANSWER", "answered", "quota_wait"]

log = logging.getLogger("bot.google")

NO_ANSWER = "error"  # the status label when nothing answered (timeout, connection refused)


def answered(method: str, status: int | str) -> None:
    metrics.google_call(method, status)
    if status == NO_ANSWER:
        log.warning("Google did not answer %s", method, extra={"google_method": method, "status": status})
    elif int(status) >= 400:
        log.warning("Google answered %s to %s", status, method, extra={"google_method": method, "status": status})


def quota_wait(quota: str, seconds: float) -> None:
    """`quota`: "create" (the project's spaces.create window) or "write" (a user's member writes)."""
    metrics.quota_wait(quota, seconds)
    log.warning("waiting %.1f s for Google's %s quota", seconds, quota, extra={"quota": quota, "wait_s": seconds})
