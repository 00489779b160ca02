"""JSON responses encoded with orjson: object pages and run logs are large, and FastAPI's own
encoder walks every value in Python first."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openconnector import jsonutil


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)
