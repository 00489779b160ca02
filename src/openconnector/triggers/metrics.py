"""Prometheus metrics of the service: runs, records, run durations, webhook outcomes.

Each :class:`Metrics` has its own registry, so two apps in one process (tests) never collide.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(
            "openconnector_runs", "Finished runs.", ["pipeline", "trigger", "status"], registry=r
        )
        self.records = Counter(
            "openconnector_records", "Records by outcome.", ["pipeline", "outcome"], registry=r
        )
        self.duration = Histogram(
            "openconnector_run_duration_seconds",
            "Run duration.",
            ["pipeline"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.running = Gauge("openconnector_runs_in_progress", "Runs in progress.", ["pipeline"], registry=r)
        self.webhooks = Counter(
            "openconnector_webhooks", "Webhook deliveries by outcome.", ["pipeline", "outcome"], registry=r
        )
        self.skipped = Counter(
            "openconnector_triggers_skipped",
            "Triggers not run because the pipeline was busy.",
            ["pipeline", "trigger"],
            registry=r,
        )

    def run_finished(self, run: dict[str, Any]) -> None:
        pipeline = run["pipeline"]
        self.runs.labels(pipeline, run["trigger"], run["status"]).inc()
        for outcome, n in (run.get("counts") or {}).items():
            if n and outcome != "read":
                self.records.labels(pipeline, outcome).inc(n)
        if run.get("duration_s") is not None:
            self.duration.labels(pipeline).observe(float(run["duration_s"]))

    def render(self) -> bytes:
        return generate_latest(self.registry)
