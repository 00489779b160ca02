"""Records out of a webhook body: ``read.records`` (a dot-path) into the parsed JSON."""

from __future__ import annotations

from typing import Any

from openconnector import jsonutil
from openconnector.jsonutil import MISSING, get_path


class BodyError(ValueError):
    """The body is not JSON, or holds no records where the pipeline says they are."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def extract(body: bytes | str, path: str | None) -> list[Any]:
    """The records of a webhook body: the list (or single object) at ``path``; the body itself
    when ``path`` is empty."""
    try:
        data = jsonutil.loads(body)
    except ValueError as exc:
        raise BodyError("bad_body", f"the body is not valid JSON: {exc}") from None
    found = get_path(data, jsonutil.split_path(path)) if path else data
    if found is MISSING:
        raise BodyError("no_records", f"the body has nothing at '{path}', where this pipeline's records are")
    if isinstance(found, list):
        return found
    if isinstance(found, dict):
        return [found]
    where = f"at '{path}'" if path else "the body"
    raise BodyError(
        "no_records",
        f"{where} must be a list of records or one record (an object), not {type(found).__name__}",
    )
