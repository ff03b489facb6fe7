"""Domain-wide delegation: the service account mints an access token for a Workspace user (JWT-bearer grant).

google-auth builds and signs the assertion (`service_account.Credentials.with_subject(email)`) and runs the grant
over the httpx transport. Tokens are not cached here; the caller caches them (encrypted) until expiry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from google.auth import exceptions as gexc
from google.oauth2 import service_account

from bot.google.errors import DelegationRefused, GoogleAuthError, InvalidGrant, from_refresh_error
from bot.google.oauth import TokenGrant
from bot.google.transport import FALLBACK_LIFETIME, HttpxRequest, epoch_seconds, run_refresh
from bot.json_values import parse_object

__all__ = ["DelegatedCredentials"]


class DelegatedCredentials:
    def __init__(
        self,
        service_account_file: Path,
        scopes: Sequence[str],
        token_url: str,
        transport: HttpxRequest | None = None,
    ) -> None:
        info = dict(parse_object(Path(service_account_file).read_text(encoding="utf-8"), "the service account file"))
        # token_uri comes from settings (GOOGLE_TOKEN_URL), so a proxy or the emulator works; the assertion's
        # audience stays Google's token endpoint, as google-auth writes it.
        info["token_uri"] = token_url
        self._base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=list(scopes)
        )
        self.scopes = tuple(scopes)
        self.service_account_email: str = info["client_email"]
        self._transport = transport or HttpxRequest()

    def close(self) -> None:
        self._transport.close()

    async def token_for(self, email: str) -> TokenGrant:
        creds = self._base.with_subject(email)
        try:
            await run_refresh(creds, self._transport)
        except (gexc.RefreshError, gexc.TransportError) as error:
            raise _explain(from_refresh_error(error), email) from None
        if not isinstance(creds.token, str) or not creds.token:
            raise GoogleAuthError("the token answer had no access token")
        expires_at = epoch_seconds(creds.expiry) or time.time() + FALLBACK_LIFETIME
        return TokenGrant(creds.token, expires_at, self.scopes, None)


def _explain(error: GoogleAuthError, email: str) -> GoogleAuthError:
    """Google's refusals for one user → DelegationRefused with plain words; configuration faults stay as they are."""
    if error.error in ("unauthorized_client", "access_denied"):
        return DelegationRefused(
            f"Google won't let meetbot act as {email}: the address is outside the Google Workspace domain that "
            "granted meetbot domain-wide delegation, or an admin hasn't granted it the Meet scopes.",
            error=error.error,
            status=error.status,
        )
    if isinstance(error, InvalidGrant) and _names_the_user(str(error)):
        return DelegationRefused(
            f"Google Workspace doesn't know {email}, so meetbot can't act as that user.",
            error=error.error,
            status=error.status,
        )
    return error


def _names_the_user(message: str) -> bool:
    lowered = message.lower()
    return "email" in lowered or "user id" in lowered or "user" in lowered.split()
