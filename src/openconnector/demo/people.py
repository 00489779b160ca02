"""The demo CRM's people: deterministic, cheap to generate, and changing in a known way per revision.

Record ``i`` (0-based; its ``id`` is ``i + 1``) is a pure function of ``i``, the record count and
the last revision that touched it, so two servers with the same settings serve the same bytes and a
benchmark can tell exactly how many records a revision changed. Revision ``r`` touches the records
with ``(i + r) % 10 == 0`` — a different 10% per revision — which changes their city, street number
and ``updated_at``.

Each record is encoded once with orjson and kept as bytes (≈265 bytes each); a page is a join of
cached slices, so serving is cheap next to the pipeline reading it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from openconnector.jsonutil import exact_size

FIRST = (
    "Anna", "Bram", "Carla", "Daan", "Eva", "Finn", "Greta", "Hugo", "Iris", "Jesse", "Kim", "Lars",
    "Maud", "Noah", "Olga", "Pieter", "Quinten", "Roos", "Sem", "Tess", "Umut", "Vera", "Wouter",
    "Xander", "Yara", "Zoë", "Ahmed", "Fatima", "Mohamed", "Sanne",
)  # fmt: skip
LAST = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
    "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit",
    "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs", "Yilmaz", "El Amrani",
)  # fmt: skip
STREETS = (
    "Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Julianastraat",
    "Beatrixlaan", "Nieuwstraat", "Marktplein", "Havenkade", "Lindenlaan", "Eikenlaan", "Parkweg",
)  # fmt: skip
CITIES = (
    "Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg", "Almere",
    "Breda", "Nijmegen", "Zwolle", "Leiden", "Haarlem", "Arnhem", "Maastricht", "Delft", "Assen",
)  # fmt: skip
TAGS = ("customer", "newsletter", "vip", "supplier", "volunteer", "member")

_BASE_TS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
_REVISION_TS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
_BIRTH_START = date(1940, 1, 1).toordinal()


def last_touched(i: int, revision: int) -> int:
    """The latest revision ``r`` in ``1..revision`` that changed record ``i`` (0 = never changed)."""
    if revision <= 0:
        return 0
    r = revision - ((revision + i) % 10)
    return r if r >= 1 else 0


def iso_ts(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_since(value: str) -> int:
    """An ``updated_since`` value (ISO-8601, ``Z`` or offset, or epoch seconds) as epoch seconds."""
    try:
        return int(float(value))
    except ValueError:
        pass
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


@dataclass(frozen=True, slots=True)
class PeoplePage:
    body: bytes
    total: int


class People:
    """``count`` people at a settable ``revision``, with cached JSON bytes per record."""

    def __init__(self, count: int, revision: int = 0) -> None:
        if count < 0:
            raise ValueError("records must be >= 0")
        self.count = count
        self.revision = revision
        # Records touched at revision r get timestamps in their own window, later than every earlier one.
        self._rev_step = count + 86_400
        self._bytes: list[bytes | None] = [None] * count
        self._built_at: list[int] = [-1] * count  # last_touched value the cached bytes were built for
        self._filters: dict[tuple[int, int], list[int]] = {}
        self._lock = threading.Lock()

    def set_revision(self, revision: int) -> None:
        if revision < 0:
            raise ValueError("revision must be >= 0")
        with self._lock:
            self.revision = revision
            self._filters.clear()

    def updated_ts(self, i: int, touched: int) -> int:
        if touched == 0:
            return _BASE_TS + i
        return _REVISION_TS + touched * self._rev_step + i

    def record(self, i: int, revision: int | None = None) -> dict[str, Any]:
        """Record ``i`` as a dict (what the JSON bytes encode)."""
        touched = last_touched(i, self.revision if revision is None else revision)
        return self._build(i, touched)

    def _build(self, i: int, touched: int) -> dict[str, Any]:
        first = FIRST[i % len(FIRST)]
        last = LAST[(i // len(FIRST) + i) % len(LAST)]
        ident = i + 1
        bits = ident * 2654435761
        tags = [t for n, t in enumerate(TAGS) if (bits >> (n * 3)) & 7 == 0] or [TAGS[i % 2]]
        return {
            "id": ident,
            "first_name": first,
            "last_name": last,
            "email": f"{first[0]}.{last.replace(' ', '')}{ident}@example.nl".lower(),
            "birth_date": date.fromordinal(_BIRTH_START + (i * 7919) % 25_000).isoformat(),
            "address": {
                "street": f"{STREETS[(i * 7) % len(STREETS)]} {1 + (i * 13 + touched) % 240}",
                "city": CITIES[(i * 3 + touched) % len(CITIES)],
                "postcode": f"{1000 + (i * 37) % 9000} {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}",
            },
            "tags": tags,
            "active": i % 7 != 0,
            "updated_at": iso_ts(self.updated_ts(i, touched)),
        }

    def record_bytes(self, i: int) -> bytes:
        touched = last_touched(i, self.revision)
        cached = self._bytes[i]
        if cached is not None and self._built_at[i] == touched:
            return cached
        data = exact_size(orjson.dumps(self._build(i, touched)))  # 4 KB each made 200,000 hold 800 MB
        self._bytes[i] = data
        self._built_at[i] = touched
        return data

    def _matching(self, since: int) -> list[int]:
        """Indexes of records with ``updated_at >= since``, in id order (cached per revision)."""
        key = (self.revision, since)
        found = self._filters.get(key)
        if found is None:
            rev, updated_ts = self.revision, self.updated_ts
            found = [i for i in range(self.count) if updated_ts(i, last_touched(i, rev)) >= since]
            with self._lock:
                if len(self._filters) > 8:
                    self._filters.clear()
                self._filters[key] = found
        return found

    def page(self, page: int, per_page: int, since: int | None = None) -> PeoplePage:
        """The bytes of ``{"data": [...], "meta": {"page", "per_page", "total"}}`` for a 1-based page."""
        start = (page - 1) * per_page
        if since is None:
            total = self.count
            indexes: range | list[int] = range(start, min(start + per_page, total))
        else:
            matching = self._matching(since)
            total = len(matching)
            indexes = matching[start : start + per_page]
        meta = orjson.dumps({"page": page, "per_page": per_page, "total": total})
        body = b"".join(
            (b'{"data":[', b",".join([self.record_bytes(i) for i in indexes]), b'],"meta":', meta, b"}")
        )
        return PeoplePage(body, total)


__all__ = ["People", "PeoplePage", "last_touched", "parse_since"]
