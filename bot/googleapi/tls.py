"""The one TLS context every httpx client meetbot makes shares. httpx builds a new context for each client unless it
is given one, and building one loads the whole CA bundle: about 50 ms of CPU, paid again by every client a process
opens (OAuth's transport, Meet's, Workspace Events' and Pub/Sub's). A context is read-only once built, so one per
process serves them all."""

from __future__ import annotations

import ssl
from functools import cache

import httpx

__all__ = ["shared_tls"]


@cache
def shared_tls() -> ssl.SSLContext:
    """What httpx would build for a client by default (its CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once."""
    return httpx.create_ssl_context()
