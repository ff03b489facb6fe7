"""`WEB_CONCURRENCY` > 1: N worker processes, each with its own event loop, sharing the port with SO_REUSEPORT.

The kernel spreads connections across the workers. The parent only supervises: it forwards SIGTERM/SIGINT so every
worker shuts down gracefully, and exits with the worst worker exit code.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from types import FrameType

__all__ = ["run_workers"]

log = logging.getLogger(__name__)


def run_workers(count: int, serve_one: Callable[[], None]) -> int:
    context = multiprocessing.get_context("fork")  # workers start before any event loop or client exists
    workers = [context.Process(target=serve_one, name=f"meetbot-worker-{n}") for n in range(count)]
    for worker in workers:
        worker.start()
    log.info("started %d workers: %s", count, ", ".join(str(w.pid) for w in workers))

    def forward(signum: int, _: FrameType | None) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
    codes = [w.exitcode or 0 for w in workers]
    return max(codes, key=abs)
