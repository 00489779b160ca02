"""The register store (SQLAlchemy Core): registers, schemas, objects, history, runs, quarantine."""

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
