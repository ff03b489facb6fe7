"""Prometheus metrics: every instrument meetbot keeps, the calls that record them, and `/metrics`' text.

Labels are closed sets (a payload kind, a job name, a Google API method template, an HTTP status, a phase): never a
user, team, channel or meeting id, for privacy and so that the number of series stays bounded.

Several processes (`WEB_CONCURRENCY` > 1, forked) share one `/metrics` through prometheus-client's multi-process
mode: each process writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (the library's own variable), and a
scrape of any of them sums them all. bot/workers.py sets it up before this module is first imported.

Callers record through this module's functions (`metrics.google_call(...)`), looked up at call time, so the bench
can measure the bot without them (bench/nometrics.py) and no setting is needed for that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from bot import VERSION, actions

__all__ = ["CONTENT_TYPE", "MULTIPROC_ENV", "VERSION", "ack", "ack_kind", "build_info", "event_intake",
           "event_to_card", "followed_meetings", "google_call", "job_failed", "job_finished", "job_retried",
           "job_started", "jobs_queued", "quota_wait", "redis_error", "render"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST



# Seconds. Slack wants the ack within 3 s; most are a few ms.
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

_ACK = Histogram("meetbot_slack_ack_seconds", "Time from a Slack request's arrival to meetbot's answer (the ack)",
                 ["kind"], buckets=_ACK_BUCKETS)
_JOBS_QUEUED = Gauge("meetbot_jobs_queued", "Jobs waiting in the queue (including ones scheduled for a retry)",
                     multiprocess_mode="mostrecent")
_JOBS_RUNNING = Gauge("meetbot_jobs_running", "Jobs running now", ["job"], multiprocess_mode="livesum")
_JOBS_RETRIED = Counter("meetbot_jobs_retried_total", "Job runs that asked to be tried again later", ["job"])
_JOBS_FAILED = Counter("meetbot_jobs_failed_total", "Job runs that ended with an unexpected error", ["job"])
_JOB_LAG = Histogram("meetbot_job_start_lag_seconds", "Time from a job's enqueue to the start of its first try",
                     ["job"], buckets=_LAG_BUCKETS)
_GOOGLE = Counter("meetbot_google_calls_total", "Calls to Google APIs by method and HTTP status "
                  "(`error` when nothing answered)", ["method", "status"])
_QUOTA_WAITS = Histogram("meetbot_quota_wait_seconds", "Waits for a Google quota slot, and their length",
                         ["quota"], buckets=_LAG_BUCKETS)
_FOLLOWED = Gauge("meetbot_followed_meetings", "Meetings meetbot follows now, by phase", ["phase"],
                  multiprocess_mode="mostrecent")
_EVENTS = Counter("meetbot_events_total", "Workspace Events delivered to meetbot, by what became of them",
                  ["outcome"])
_EVENT_LAG = Histogram("meetbot_event_to_card_seconds",
                       "Time from a Workspace event's arrival to the end of the card update it caused",
                       buckets=_LAG_BUCKETS)
_REDIS_ERRORS = Counter("meetbot_redis_errors_total", "Redis operations that failed to reach Redis", ["error"])
_BUILD = Gauge("meetbot_build_info", "meetbot's version (the value is always 1)", ["version"],
               multiprocess_mode="max")

_KINDS = {"block_actions": "block_actions", "view_submission": "view_submission", "view_closed": "view_closed",
          "block_suggestion": "options", "shortcut": "shortcut", "message_action": "shortcut",
          "event_callback": "event", "url_verification": "url_verification"}


def build_info() -> None:
    """At start-up, in the process that serves (a forked server writes its own values)."""
    _BUILD.labels(version=VERSION).set(1)


def ack_kind(body: object) -> str:
    """A Slack payload's kind, from a closed set: never anything the user typed."""
    if not isinstance(body, dict):
        return "other"
    if "command" in body:
        return "command"
    return _KINDS.get(str(body.get("type")), "other")


_ACK_BY_KIND: dict[str, Histogram] = {}  # the ack path's one metric: its child found without labels()' lock


def ack(kind: str, seconds: float) -> None:
    child = _ACK_BY_KIND.get(kind)
    if child is None:
        child = _ACK_BY_KIND[kind] = _ACK.labels(kind=kind)
    child.observe(seconds)


def jobs_queued(count: int) -> None:
    _JOBS_QUEUED.set(count)


def job_started(job: str, lag: float | None) -> None:
    _JOBS_RUNNING.labels(job=job).inc()
    if lag is not None:
        _JOB_LAG.labels(job=job).observe(max(lag, 0.0))


def job_finished(job: str) -> None:
    _JOBS_RUNNING.labels(job=job).dec()


def job_retried(job: str) -> None:
    _JOBS_RETRIED.labels(job=job).inc()


def job_failed(job: str) -> None:
    _JOBS_FAILED.labels(job=job).inc()


def google_call(method: str, status: int | str) -> None:
    """One HTTP exchange with Google (`status` "error" when none answered); counted for the user action too."""
    _GOOGLE.labels(method=method, status=str(status)).inc()
    actions.google_call()


def quota_wait(quota: str, seconds: float) -> None:
    _QUOTA_WAITS.labels(quota=quota).observe(seconds)


def followed_meetings(by_phase: Mapping[str, int]) -> None:
    """`by_phase`: waiting, live, ended → how many."""
    for phase, count in by_phase.items():
        _FOLLOWED.labels(phase=phase).set(count)


def event_intake(outcome: str) -> None:
    """`verified` (signed and taken), `refused` (not signed by Google), `duplicate` (seen before)."""
    _EVENTS.labels(outcome=outcome).inc()


def event_to_card(seconds: float) -> None:
    _EVENT_LAG.observe(seconds)


def redis_error(error: str) -> None:
    _REDIS_ERRORS.labels(error=error).inc()


def render() -> bytes:
    """The text a scrape gets: this process's values, or every process's under multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
