"""The platform's Prometheus metrics: each defined once here, recorded by the api and the workers.

Counters and histograms are recorded by the process where the event happens (the api for HTTP
requests, the workers for evaluations, sandbox kills and reaper actions). Queue gauges are read
from the database at scrape time by `QueueCollector` (challenge/observability/queues.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from challenge.observability.multiproc import active_dir

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
HTTP_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
QUEUES = ("cpu", "gpu", "large-memory")
OUTCOMES = (
    "finished",
    "invalid_submission",
    "runtime_error",
    "timeout",
    "memory_exceeded",
    "invalid_output",
    "infrastructure_error",
    "cancelled",
)
"""A submission's terminal outcome: finished, cancelled, or the failure reason."""
EVALUATION_RESULTS = ("recorded", "requeued", "failed", "lost", "skipped")
"""What one evaluation attempt did: its result recorded, handed back after a platform fault
(re-queued, or failed past the retry limit), its lease lost, or skipped (not queued any more)."""
PHASES = (
    "collect",
    "stage",
    "jail_start",
    "load",
    "fit",
    "predict",
    "validate",
    "policies",
    "score",
    "report",
    "log",
    "record",
)
"""Phases of an evaluation: SRC/C/PP (collect), the sandbox (stage the files, start the jail,
load the model, fit, predict, validate the output; measured from the host), P, D (score), the
sinks (report: scores.json and the diagnostics plot; log: the MLflow run), then the database
(record: the result, the score history and the boards)."""
KILL_REASONS = (
    "timeout",
    "train_timeout",
    "cancelled",
    "output_too_large",
    "cpu_time",
    "file_size",
    "memory",
)
"""Why a sandbox run was killed: by the host (wall clock, cancel, output size) or by a kernel
limit (CPU time, file size, memory)."""
REAPER_ACTIONS = ("requeued", "failed", "resent")

HTTP_REQUESTS = Counter(
    "mlchallenge_http_requests",
    "HTTP requests by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "mlchallenge_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=HTTP_SECONDS,
)
SUBMISSION_OUTCOMES = Counter(
    "mlchallenge_submission_outcomes",
    "Submissions that reached a terminal state, by outcome (finished, cancelled or the reason)",
    ["outcome"],
)
EVALUATIONS = Counter(
    "mlchallenge_evaluations",
    "Evaluation attempts by result (recorded, requeued, failed, lost, skipped)",
    ["result"],
)
EVALUATION_DURATION = Histogram(
    "mlchallenge_evaluation_duration_seconds",
    "From a worker's claim to the recorded result, by queue",
    ["queue"],
    buckets=SECONDS,
)
PHASE_DURATION = Histogram(
    "mlchallenge_evaluation_phase_seconds",
    "Duration of each phase of an evaluation",
    ["phase"],
    buckets=SECONDS,
)
QUEUE_WAIT = Histogram(
    "mlchallenge_queue_wait_seconds",
    "From a submission being put on its queue to a worker claiming it, by queue",
    ["queue"],
    buckets=SECONDS,
)
SANDBOX_KILLS = Counter(
    "mlchallenge_sandbox_kills",
    "Sandbox runs killed, by reason",
    ["reason"],
)
REAPER_ACTIONS_TOTAL = Counter(
    "mlchallenge_reaper_actions",
    "What the reaper did to work whose worker was lost (requeued, failed) or whose task the "
    "broker never got (resent), by kind (submission, reproduction)",
    ["kind", "action"],
)
RECORDED: tuple[MetricWrapperBase, ...] = (
    HTTP_REQUESTS,
    HTTP_DURATION,
    SUBMISSION_OUTCOMES,
    EVALUATIONS,
    EVALUATION_DURATION,
    PHASE_DURATION,
    QUEUE_WAIT,
    SANDBOX_KILLS,
    REAPER_ACTIONS_TOTAL,
)
"""Every metric recorded by a process (the gauges read from the database are in queues.py)."""
QUEUE_GAUGES = {
    "mlchallenge_queue_depth": "Submissions and reproductions waiting for a worker, by queue",
    "mlchallenge_queue_oldest_age_seconds": (
        "How long the oldest waiting item has been on its queue (0 when none waits), by queue"
    ),
    "mlchallenge_queue_running": "Submissions and reproductions being evaluated, by queue",
    "mlchallenge_queue_workers": "Live workers (mlchallenge worker commands) serving each queue",
}
"""Gauges the api reads from the database at scrape time, each with the label `queue`."""
DATABASE_UP = "mlchallenge_database_up"
LABEL_VALUES = {
    "outcome": OUTCOMES,
    "result": EVALUATION_RESULTS,
    "phase": PHASES,
    "reason": KILL_REASONS,
    "action": REAPER_ACTIONS,
    "kind": ("submission", "reproduction"),
    "queue": QUEUES,
}
"""The values of the enumerated labels (`other` stands for anything unexpected)."""


@dataclass(frozen=True)
class Family:
    """A metric family as Prometheus sees it."""

    name: str
    type: str
    labels: tuple[str, ...]

    @property
    def series_names(self) -> tuple[str, ...]:
        """The names its samples carry."""
        if self.type == "counter":
            return (f"{self.name}_total",)
        if self.type == "histogram":
            return tuple(f"{self.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        return (self.name,)


def catalogue() -> dict[str, Family]:
    """Every metric family the platform exposes, by name."""
    families = [Family(m._name, str(m._type), tuple(m._labelnames)) for m in RECORDED]
    families += [Family(name, "gauge", ("queue",)) for name in QUEUE_GAUGES]
    families.append(Family(DATABASE_UP, "gauge", ()))
    return {family.name: family for family in families}


def _initialise() -> None:
    """Create the known series at zero, so rates and alerts see them before the first event."""
    for outcome in OUTCOMES:
        SUBMISSION_OUTCOMES.labels(outcome)
    for result in EVALUATION_RESULTS:
        EVALUATIONS.labels(result)
    for reason in KILL_REASONS:
        SANDBOX_KILLS.labels(reason)
    for kind in ("submission", "reproduction"):
        for action in REAPER_ACTIONS:
            REAPER_ACTIONS_TOTAL.labels(kind, action)


_initialise()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered HTTP request."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def observe_phases(timings: Mapping[str, float]) -> None:
    """The phase durations an evaluation reported (unknown phase names are ignored)."""
    for phase, seconds in timings.items():
        if phase in PHASES and seconds >= 0:
            PHASE_DURATION.labels(phase).observe(seconds)


def count_kill(reason: str | None) -> None:
    """A sandbox run killed for `reason` (None: not killed)."""
    if reason:
        SANDBOX_KILLS.labels(reason if reason in KILL_REASONS else "other").inc()


def count_outcome(outcome: str) -> None:
    """A submission reached a terminal state (`ok` counts as finished)."""
    name = "finished" if outcome == "ok" else outcome
    SUBMISSION_OUTCOMES.labels(name if name in OUTCOMES else "other").inc()


def count_evaluation(result: str, queue: str | None = None, seconds: float | None = None) -> None:
    """One evaluation attempt (`finished` counts as recorded) and, when it ran, its duration."""
    name = "recorded" if result == "finished" else result
    EVALUATIONS.labels(name if name in EVALUATION_RESULTS else "other").inc()
    if queue is not None and seconds is not None:
        EVALUATION_DURATION.labels(queue).observe(seconds)


def observe_queue_wait(queue: str, seconds: float) -> None:
    """How long a claimed submission waited on its queue."""
    QUEUE_WAIT.labels(queue).observe(max(seconds, 0.0))


def count_reaper(kind: str, action: str, count: int) -> None:
    """What one reaper pass did."""
    if count:
        REAPER_ACTIONS_TOTAL.labels(kind, action).inc(count)


class _Forward(Collector):
    """The process's own registry (single-process mode), as a collector of a scrape registry."""

    def collect(self) -> Iterable[Metric]:
        """Every metric of the process's default registry."""
        return REGISTRY.collect()


def scrape_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry for one scrape: every process of this machine (multiprocess mode) or this
    process alone, plus `extra` collectors (the database gauges on the api)."""
    registry = CollectorRegistry()
    folder = active_dir()
    if folder is not None:
        MultiProcessCollector(registry, path=str(folder))
    else:
        registry.register(_Forward())
    for collector in extra:
        registry.register(collector)
    return registry


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The Prometheus text exposition of a scrape."""
    return generate_latest(scrape_registry(extra))
