"""The three roles and what each may do; a higher role may do everything a lower one may.

``admin`` changes configuration (registers, schemas, sources, mappings, pipelines), ``operator``
runs pipelines and changes data (objects, retries, replays), ``viewer`` reads.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")


def allows(held: str, needed: Role) -> bool:
    """Whether a token with role ``held`` may do what needs ``needed``."""
    return held in ROLES and ROLES.index(held) >= ROLES.index(needed)
