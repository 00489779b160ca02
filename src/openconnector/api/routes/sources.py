"""Sources (configuration; secrets masked)."""

from openconnector.api.routes.sections import section_router

router = section_router("sources")
