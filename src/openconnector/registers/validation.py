"""JSON Schema validation with jsonschema-rs: every error, each with its JSON path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from openconnector.jsonutil import content_hash


@dataclass(frozen=True, slots=True)
class SchemaError:
    path: str  # JSON path of the offending value, e.g. "$.address.postcode" or "$" for the root
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


class InvalidSchema(ValueError):
    """The JSON Schema itself is not valid."""


class CompiledSchema:
    """A schema compiled once (per run / per process) into a jsonschema-rs validator.

    The draft follows the schema's ``$schema`` (draft 4, 6, 7, 2019-09, 2020-12; 2020-12 if absent).
    """

    __slots__ = ("_validator", "hash", "schema")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.hash = content_hash(schema)
        try:
            self._validator = jsonschema_rs.validator_for(schema, validate_formats=True)
        except (jsonschema_rs.ValidationError, ValueError) as exc:
            raise InvalidSchema(f"not a valid JSON Schema: {exc}") from exc

    def errors(self, instance: Any) -> list[SchemaError]:
        """Every validation error (empty when valid). The fast path is one ``is_valid`` call."""
        if self._validator.is_valid(instance):
            return []
        return [
            SchemaError(json_path(e.instance_path), e.message) for e in self._validator.iter_errors(instance)
        ]
