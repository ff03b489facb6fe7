"""One JSON call to a Google REST API over the shared httpx client: bearer token, error envelope → typed error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from bot.googleapi.calls import NO_ANSWER, answered
from bot.googleapi.errors import ApiProtocolError, ApiReadTimeout, ApiTransportError, error_from_response
from bot.json_values import ReadJson

__all__ = ["call_json"]


async def call_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    *,
    operation: str,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    http_timeout: httpx.Timeout | None = None,
) -> ReadJson:
    """The JSON object Google answered; `ApiStatusError` subclasses for error answers, `ApiTransportError` when
    nothing answered (`ApiReadTimeout` when the answer didn't come within the read timeout). `operation` names the
    call in errors ("subscriptions.create"). `http_timeout` replaces the client's own for this call."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = await http.request(method, url, json=body, params=params, headers=headers,
                                      timeout=http_timeout if http_timeout is not None else httpx.USE_CLIENT_DEFAULT)
    except httpx.ReadTimeout:
        answered(operation, NO_ANSWER)
        raise ApiReadTimeout(f"{operation}: ReadTimeout") from None
    except httpx.TransportError as exc:  # the message may quote the request: only the type
        answered(operation, NO_ANSWER)
        raise ApiTransportError(f"{operation}: {type(exc).__name__}") from None
    answered(operation, response.status_code)
    if response.status_code >= 300:
        raise error_from_response(response.status_code, response.headers, response.content, operation)
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise ApiProtocolError(f"{operation}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise ApiProtocolError(f"{operation}: the answer is not a JSON object")
    return data
