"""Baseline (b): a stock Bolt AsyncApp on aiohttp whose `/meet` listener only acks.

    python -m bench.baselines.bolt --port N --slack-api-url URL

Served the way meetbot serves Bolt (an aiohttp route calling `async_dispatch` through Bolt's aiohttp adapter), with
Bolt's defaults: `process_before_response=False`, so Bolt runs the listener as a task and polls for the ack.
`bench.baselines.bolt_pbr` is the same app with `process_before_response=True`.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.baselines._serve import EVENTS_PATH, parse_args, serve


def builder(process_before_response: bool):  # type: ignore[no-untyped-def]
    async def build(args: argparse.Namespace) -> web.Application:
        client = AsyncWebClient(token=args.token, base_url=args.slack_api_url) if args.slack_api_url else None
        bolt = AsyncApp(
            signing_secret=args.secret,
            client=client,
            token=None if client else args.token,
            process_before_response=process_before_response,
        )

        @bolt.command("/meet")
        async def meet(ack: AsyncAck) -> None:
            await ack()

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

        app = web.Application()
        app.router.add_post(EVENTS_PATH, events)
        return app

    return build


if __name__ == "__main__":
    serve(builder(process_before_response=False), parse_args(__doc__.splitlines()[0] if __doc__ else ""))
