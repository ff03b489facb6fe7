"""Token encryption at rest: Fernet (AES-128-CBC + HMAC-SHA256) over `TOKEN_ENCRYPTION_KEYS`, with rotation.

The first key encrypts; every key decrypts. Rotating keys: put the new key first, keep the old ones after it, run
`python -m bot rotate-keys`, then drop the old keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["TokenCipher", "UnreadableRecord"]


class UnreadableRecord(Exception):
    """Stored ciphertext that no configured key opens: corrupt data, or its key was removed from the list.

    The message never carries the ciphertext or any key.
    """


class TokenCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, data: bytes | str) -> bytes:
        return self._fernet.encrypt(data.encode() if isinstance(data, str) else data)

    def decrypt(self, token: bytes, *, ttl: int | None = None, now: float | None = None) -> bytes:
        """`ttl`: refuse a token encrypted more than that many seconds before `now` (default: the clock)."""
        try:
            if ttl is not None and now is not None:
                return self._fernet.decrypt_at_time(token, ttl, int(now))
            return self._fernet.decrypt(token, ttl)
        except (InvalidToken, TypeError, ValueError):
            raise UnreadableRecord("no configured key opens this record (corrupt, or its key was removed)") from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt with the first key (a no-op in meaning; a fresh ciphertext either way)."""
        try:
            return self._fernet.rotate(token)
        except (InvalidToken, TypeError, ValueError):
            raise UnreadableRecord("no configured key opens this record (corrupt, or its key was removed)") from None
