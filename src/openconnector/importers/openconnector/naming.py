"""Names in the YAML project: slugs for sections, environment variable names for secrets.

The original derives a slug from an object's name (``Source::getSlug``); we do the same so a
project imported from a configuration that references objects by slug keeps those slugs as names.
Everything here is deterministic: the same input always gives the same names, which is what makes
a second import byte-identical to the first.
"""

from __future__ import annotations

import re

_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_ENV_DROP = re.compile(r"[^A-Z0-9]+")


def slugify(text: str) -> str:
    """The original's slug rule: lower-case, every run of other characters becomes one ``-``."""
    return _SLUG_DROP.sub("-", text.strip().lower()).strip("-")


def env_name(*parts: str) -> str:
    """``ELASTIC_API_AUTHORIZATION`` from ``("elastic-api", "Authorization")``."""
    name = "_".join(p for p in (_ENV_DROP.sub("_", part.upper()).strip("_") for part in parts) if p)
    if not name or name[0].isdigit():
        name = f"OC_{name}"
    return name


class NameBook:
    """Hands out unique names per section, in the order asked, suffixing ``-2``, ``-3`` on clashes."""

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {}

    def take(self, section: str, wanted: str) -> str:
        taken = self._taken.setdefault(section, set())
        name = wanted or section.rstrip("s")
        n = 2
        while name in taken:
            name = f"{wanted}-{n}"
            n += 1
        taken.add(name)
        return name

    def has(self, section: str, name: str) -> bool:
        return name in self._taken.get(section, set())
