"""`WEB_CONCURRENCY` > 1: N worker processes, each with its own event loop, sharing the port with SO_REUSEPORT.

The kernel spreads connections across the workers. The parent only supervises: a worker that dies (a crash, the
OOM killer) is replaced at once, so capacity never silently shrinks; SIGTERM/SIGINT are forwarded so every worker
shuts down gracefully, and the parent exits with the worst exit code of that shutdown.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

__all__ = ["run_workers"]

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0  # a worker that dies at once (bad config) must not be restarted in a hot loop


def run_workers(count: int, serve_one: Callable[[], None]) -> int:
    context = multiprocessing.get_context("fork")  # workers start before any event loop or client exists
    stopping = False

    def spawn(n: int) -> BaseProcess:
        worker = context.Process(target=serve_one, name=f"meetbot-worker-{n}")
        worker.start()
        return worker

    workers = [spawn(n) for n in range(count)]
    log.info("started %d workers: %s", count, ", ".join(str(w.pid) for w in workers))

    def forward(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stopping:
        for n, worker in enumerate(workers):
            if not worker.is_alive() and not stopping:
                log.warning("worker %s exited with %s; starting a replacement", worker.pid, worker.exitcode)
                time.sleep(RESTART_PAUSE)
                workers[n] = spawn(n)
        time.sleep(0.2)
    for worker in workers:
        worker.join()
    codes = [w.exitcode or 0 for w in workers]
    return max(codes, key=abs)
