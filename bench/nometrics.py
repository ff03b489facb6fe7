"""`python -m bench.nometrics`: meetbot exactly as `python -m bot` runs it, except that every call that records a
metric does nothing. bench/bench_metrics.py measures the bot this way beside the real one ("metrics off"). It is
no setting: production has no way to turn metrics off, and needs none.
"""

from __future__ import annotations

import sys
from typing import Any

from bot import actions, metrics

RECORDERS = ("ack", "jobs_queued", "job_started", "job_finished", "job_retried", "job_failed", "quota_wait",
             "followed_meetings", "event_intake", "event_to_card", "redis_error", "build_info")


def _nothing(*_: Any, **__: Any) -> None:
    return None


def _google_call(method: str, status: int | str) -> None:
    actions.google_call()  # the action line still counts its calls: only the metric goes


def switch_off() -> None:
    for name in RECORDERS:
        assert callable(getattr(metrics, name)), name
        setattr(metrics, name, _nothing)
    metrics.google_call = _google_call


if __name__ == "__main__":
    switch_off()
    from bot.__main__ import main

    sys.exit(main())
