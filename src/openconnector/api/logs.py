"""Structured logs: one JSON object per line, with the run id and pipeline on every line a run
writes (from :mod:`openconnector.triggers.context`), and uvicorn's access log as fields."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from openconnector.triggers import context

_FIELDS = ("status", "counts", "error_id", "attempt_id", "outcome")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            doc.update(
                message=f"{method} {path} {status}", client=client, method=method, path=path, status=status
            )
        else:
            doc["message"] = record.getMessage()
        run_id = getattr(record, "run_id", None) or context.run_id.get()
        pipeline = getattr(record, "pipeline", None) or context.pipeline.get()
        if run_id:
            doc["run_id"] = run_id
        if pipeline:
            doc["pipeline"] = pipeline
        for key in _FIELDS:
            value = getattr(record, key, None)
            if value is not None and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    """Human lines for a terminal, still with the run id."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        run_id = getattr(record, "run_id", None) or context.run_id.get()
        return f"{text} [run {run_id}]" if run_id else text


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    # a line per HTTP request a connector makes drowns the run's own lines
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
