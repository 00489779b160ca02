"""The tamper-evident audit trail: one SHA-256 hash chain over every change to an object, signed
checkpoints (HMAC-SHA256, key from configuration), an anchor file outside the database, evidence
exports that verify offline. See docs/audit.md."""

from openconnector.audit.entries import AuditChange
from openconnector.audit.keys import AuditKeyMissing
from openconnector.audit.trail import AuditTrail
from openconnector.audit.verify import Problem, VerifyResult

__all__ = ["AuditChange", "AuditKeyMissing", "AuditTrail", "Problem", "VerifyResult"]
