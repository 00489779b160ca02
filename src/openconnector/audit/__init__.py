"""The tamper-evident audit trail: one SHA-256 hash chain over every change to an object, signed
checkpoints (HMAC-SHA256, key from configuration), an anchor file outside the database, evidence
exports that verify offline. See docs/audit.md.

Its names are imported on first use (:mod:`openconnector.lazy`)."""

from typing import TYPE_CHECKING

from openconnector.lazy import exports

if TYPE_CHECKING:
    from openconnector.audit.entries import AuditChange
    from openconnector.audit.keys import AuditKeyMissing
    from openconnector.audit.trail import AuditTrail
    from openconnector.audit.verify import Problem, VerifyResult

__all__ = ["AuditChange", "AuditKeyMissing", "AuditTrail", "Problem", "VerifyResult"]

__getattr__ = exports(
    __name__,
    {
        "AuditChange": "entries",
        "AuditKeyMissing": "keys",
        "AuditTrail": "trail",
        "Problem": "verify",
        "VerifyResult": "verify",
    },
)
