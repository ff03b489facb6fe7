"""Baseline (a): a bare aiohttp endpoint that verifies the Slack v0 signature and answers 200. No Bolt.

    python -m bench.baselines.raw --port N
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time

from aiohttp import web

from bench.baselines._serve import EVENTS_PATH, parse_args, serve

MAX_SKEW = 60 * 5


async def build(args: argparse.Namespace) -> web.Application:
    secret = args.secret.encode()

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW:
            return web.Response(status=401)
        digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest("v0=" + digest, signature):
            return web.Response(status=401)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    return app


if __name__ == "__main__":
    serve(build, parse_args(__doc__.splitlines()[0] if __doc__ else ""))
