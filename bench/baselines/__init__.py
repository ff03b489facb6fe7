"""Baseline servers measured next to meetbot in the same run: `python -m bench.baselines.<name> --port N`.

- `raw`: aiohttp, verifies the Slack v0 signature, answers 200. No Bolt.
- `bolt`: stock Bolt AsyncApp on aiohttp whose `/meet` listener only acks (ack polled every 10 ms by Bolt).
- `bolt_pbr`: the same with `process_before_response=True`.

All serve POST /slack/events and GET /healthz on 127.0.0.1, on uvloop when installed (as `python -m bot` does;
`--loop asyncio` for the standard loop).
"""
