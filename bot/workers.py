"""`WEB_CONCURRENCY` > 1: N worker processes, each with its own event loop, sharing the port with SO_REUSEPORT.

The kernel spreads connections across the workers. The parent only supervises: a worker that dies (a crash, the
OOM killer) is replaced at once, so capacity never silently shrinks; SIGTERM/SIGINT are forwarded so every worker
shuts down gracefully, and the parent exits with the worst exit code of that shutdown.

The workers share one `/metrics` through prometheus-client's multi-process mode (`metrics_directory`): a scrape
that lands on any of them reports them all, and a worker that died stops counting among the running.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from types import FrameType

__all__ = ["metrics_directory", "run_workers"]

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0  # a worker that dies at once (bad config) must not be restarted in a hot loop
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """Where the workers' metrics meet: PROMETHEUS_MULTIPROC_DIR, emptied of an earlier run's files, or else a
    fresh directory under the system's temporary directory (writable with a read-only root filesystem), removed
    at the end. Entered before anything makes an instrument: prometheus-client chooses its storage then."""
    given = os.environ.get(MULTIPROC_ENV, "").strip()
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        yield given
        return
    made = tempfile.mkdtemp(prefix="meetbot-metrics-")
    os.environ[MULTIPROC_ENV] = made
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def _forget_metrics_of(pid: int | None) -> None:
    """A dead worker's live gauges (jobs running) stop counting; its counters stay in the totals."""
    if pid is not None and os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


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
                _forget_metrics_of(worker.pid)
                time.sleep(RESTART_PAUSE)
                workers[n] = spawn(n)
        time.sleep(0.2)
    for worker in workers:
        worker.join()
        _forget_metrics_of(worker.pid)
    codes = [w.exitcode or 0 for w in workers]
    return max(codes, key=abs)
