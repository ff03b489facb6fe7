"""A job's payload sealed to that job: its id and kind are encrypted with it, and checked when it is opened.

The queue's records can be written by anyone with access to Redis. Encryption keeps them unreadable, and binding
each payload to its own job id and kind keeps a sealed record from being copied over another job's (Alice's
queued `/meet end` over Bob's `/meet status`): Fernet authenticates the whole plaintext, so the id and kind inside
can't be changed without the key. A sealed payload also expires, so an old record can't be replayed later.
"""

from __future__ import annotations

import json
from typing import Any

from bot.store.crypto import TokenCipher, UnreadableRecord

__all__ = ["SEAL_TTL", "Unopenable", "open_sealed", "seal"]

# Far beyond a job's whole life (5 tries of at most 60 s, Google's Retry-After waits between them, a backlog
# drained after a restart) and beyond a Slack response_url's 30 minutes, after which no reply could reach anyone.
SEAL_TTL = 60 * 60


class Unopenable(Exception):
    """A sealed payload that must not run; the message says why in words for the log, never its contents."""


def seal(cipher: TokenCipher | None, job_id: str, kind: str, payload: Any) -> str:
    text = json.dumps({"id": job_id, "kind": kind, "payload": payload}, separators=(",", ":"))
    return cipher.encrypt(text).decode() if cipher else text


def open_sealed(cipher: TokenCipher | None, sealed: object, job_id: str, kind: str, *, now: float | None = None
                ) -> Any:
    """The payload sealed for job `job_id` of `kind`; raises Unopenable when it isn't that, or is too old."""
    if not isinstance(sealed, str):
        raise Unopenable("not a sealed payload")
    try:
        text = cipher.decrypt(sealed.encode(), ttl=SEAL_TTL, now=now) if cipher else sealed
        envelope = json.loads(text)
    except UnreadableRecord:
        raise Unopenable("no configured key opens it, or it is older than its time to live") from None
    except ValueError:
        raise Unopenable("not a sealed payload") from None
    if not isinstance(envelope, dict) or envelope.get("id") != job_id or envelope.get("kind") != kind:
        raise Unopenable("sealed for another job")
    return envelope.get("payload")
