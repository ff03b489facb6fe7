"""Baseline (c): the stock Bolt app of `bench.baselines.bolt` with `process_before_response=True` (no ack polling).

    python -m bench.baselines.bolt_pbr --port N --slack-api-url URL
"""

from __future__ import annotations

from bench.baselines._serve import parse_args, serve
from bench.baselines.bolt import builder

if __name__ == "__main__":
    serve(builder(process_before_response=True), parse_args(__doc__.splitlines()[0] if __doc__ else ""))
