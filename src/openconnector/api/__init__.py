"""The HTTP API (FastAPI): ``create_app(Service(config_path))``; OpenAPI at ``/openapi.json``."""

from openconnector.api.app import create_app
from openconnector.api.service import Service, ServiceOptions

__all__ = ["Service", "ServiceOptions", "create_app"]
