"""The register store (SQLAlchemy Core): registers, schemas, objects, history, runs, quarantine.

Its names are imported on first use (:mod:`openconnector.lazy`)."""

from typing import TYPE_CHECKING

from openconnector.lazy import exports

if TYPE_CHECKING:
    from openconnector.registers.runlog import PipelineBusy, RunLog
    from openconnector.registers.store import NotFound, Page, Store, ValidationFailed
    from openconnector.registers.validation import CompiledSchema, InvalidSchema, SchemaError

__all__ = [
    "CompiledSchema",
    "InvalidSchema",
    "NotFound",
    "Page",
    "PipelineBusy",
    "RunLog",
    "SchemaError",
    "Store",
    "ValidationFailed",
]

__getattr__ = exports(
    __name__,
    {
        "PipelineBusy": "runlog",
        "RunLog": "runlog",
        "NotFound": "store",
        "Page": "store",
        "Store": "store",
        "ValidationFailed": "store",
        "CompiledSchema": "validation",
        "InvalidSchema": "validation",
        "SchemaError": "validation",
    },
)
