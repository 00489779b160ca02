"""The writer process's mode and its start ahead of a run: what a command needs before it loads
the engine, kept apart from :mod:`openconnector.pipelines.writer`, which imports the store.
"""

from __future__ import annotations

import os
from typing import Literal, cast

from openconnector.wire import ahead, spawn_ahead

WRITER_ENV = "OPENCONNECTOR_WRITER"
WriterMode = Literal["auto", "thread", "process"]
MODES: tuple[WriterMode, ...] = ("auto", "thread", "process")
#: the writer process's module (``python -m``)
WRITER_MODULE = "openconnector.pipelines.writer"


def writer_mode() -> WriterMode:
    """The mode ``OPENCONNECTOR_WRITER`` asks for (``auto`` when unset)."""
    value = os.environ.get(WRITER_ENV, "").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{WRITER_ENV} must be one of {', '.join(MODES)}, not {value!r}")
    return cast(WriterMode, value)


def start_writer_ahead() -> None:
    """Start the writer process now, for a run that begins later in this process.

    Started when the run needs it, the child (a fresh interpreter importing the store, ~0.25 s of
    CPU) was ready ~0.5 s into the run, and the engine committed the batches before that itself.
    Started as ``openconnector run`` begins, it imports on the second core while the command
    imports and loads its project on the first. Not where the run would never take it (a mode
    that says ``thread``, or one the run will refuse); a run that writes nothing leaves it
    unclaimed, and the command stops it (:func:`~openconnector.wire.stop_ahead`)."""
    try:
        if writer_mode() != "thread":
            spawn_ahead(WRITER_MODULE)
    except (ValueError, OSError):  # the run reports a bad mode; without a process it writes itself
        pass


def writer_started_ahead() -> bool:
    """Whether this process started a writer process ahead that no run has claimed yet."""
    return ahead(WRITER_MODULE)
