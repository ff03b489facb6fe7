"""PKCE (RFC 7636): a high-entropy verifier kept server-side and its S256 challenge sent with the authorization."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

__all__ = ["is_valid_verifier", "make_verifier", "s256_challenge"]

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def make_verifier() -> str:
    """86 characters from 64 random bytes (the RFC allows 43-128 unreserved characters)."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    if not is_valid_verifier(verifier):
        raise ValueError("a PKCE verifier is 43-128 unreserved characters")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def is_valid_verifier(verifier: str) -> bool:
    return _VERIFIER.fullmatch(verifier) is not None
