"""Prometheus metrics of the service: runs, records, run durations, webhook outcomes, and the queue
consumers (up, messages by outcome, Kafka lag per partition).

Each :class:`Metrics` has its own registry, so two apps in one process (tests) never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

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

    def watch_consumers(self, snapshots: Callable[[], list[dict[str, Any]]]) -> None:
        """Report the queue consumers at every scrape, from their snapshots."""
        self.registry.register(_ConsumerCollector(snapshots))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ConsumerCollector(Collector):
    """The consumers' own counters, read at scrape time (they live in the consumers' threads)."""

    def __init__(self, snapshots: Callable[[], list[dict[str, Any]]]) -> None:
        self._snapshots = snapshots

    def describe(self) -> list[Metric]:
        return []  # nothing to check up front: the pipelines are known only at scrape time

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "openconnector_consumer_up",
            "1 while the consumer is connected (waiting for messages or in a run).",
            labels=["pipeline", "type"],
        )
        messages = CounterMetricFamily(
            "openconnector_consumer_messages",
            "Messages handled by the consumer, by outcome.",
            labels=["pipeline", "outcome"],
        )
        lag = GaugeMetricFamily(
            "openconnector_consumer_lag",
            "Messages in the partition after the consumer's position (Kafka).",
            labels=["pipeline", "partition"],
        )
        for snap in self._snapshots():
            pipeline = snap["pipeline"]
            up.add_metric([pipeline, snap["type"]], 1.0 if snap["healthy"] else 0.0)
            for outcome, n in (snap.get("messages") or {}).items():
                messages.add_metric([pipeline, outcome], n)
            for partition, n in (snap.get("lag") or {}).items():
                lag.add_metric([pipeline, partition], n)
        yield from (up, messages, lag)
