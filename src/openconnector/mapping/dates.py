"""Dates for mappings: parse what sources send, format with PHP ``date()`` format strings.

Twig's ``date`` filter (and the original's users) speak PHP format characters (``Y-m-d\\TH:i:sP``),
so both dialects format with those. Parsing accepts what the original's ``new DateTime($x)`` accepted
in practice: ISO 8601 in its many spellings, ``Y-m-d H:i:s``, European ``d-m-Y``/``d.m.Y``, American
``m/d/Y``, RFC 2822, ``@timestamp`` and Unix timestamps. Naive times are UTC (the original's
Nextcloud runs PHP in UTC).
"""

from __future__ import annotations

import calendar
import email.utils
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
)


class DateParseError(ValueError):
    pass


def get_timezone(name: str | None) -> tzinfo:
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    if name[0] in "+-" and len(name) in (3, 5, 6):  # +02, +0200, +02:00
        sign = -1 if name[0] == "-" else 1
        digits = name[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateParseError(f"unknown timezone {name!r}") from exc


def parse_date(value: Any, *, now: datetime | None = None) -> tuple[datetime, bool]:
    """A datetime for ``value`` and whether the value carried a time of day.

    Raises :class:`DateParseError` for what is not a date.
    """
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), True
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC), False
    if isinstance(value, bool) or value is None:
        raise DateParseError(f"not a date: {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC), True
    if not isinstance(value, str):
        raise DateParseError(f"not a date: {type(value).__name__}")
    text = value.strip()
    lower = text.lower()
    current = now or datetime.now(UTC)
    if lower in ("", "now"):
        return current, True
    if lower in ("today", "midnight"):
        return current.replace(hour=0, minute=0, second=0, microsecond=0), False
    if lower == "tomorrow":
        return (current + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0), False
    if lower == "yesterday":
        return (current - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0), False
    stamp = text[1:] if text.startswith("@") else text
    if stamp.lstrip("-").isdigit() and (text.startswith("@") or len(stamp.lstrip("-")) != 8):
        return datetime.fromtimestamp(int(stamp), UTC), True
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is not None:
        has_time = len(text) > 10 or "T" in text or ":" in text
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), has_time
    for fmt in _FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC), "%H" in fmt
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), True
    raise DateParseError(f"cannot read {text[:60]!r} as a date")


def _suffix(day: int) -> str:
    if day in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _offset(dt: datetime, colon: bool, z: bool = False) -> str:
    off = dt.utcoffset() or timedelta(0)
    if z and not off:
        return "Z"
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    hh, mm = secs // 3600, (secs % 3600) // 60
    return f"{sign}{hh:02d}:{mm:02d}" if colon else f"{sign}{hh:02d}{mm:02d}"


def _tz_abbrev(dt: datetime) -> str:
    name = dt.tzname()
    if name and not name.startswith(("UTC+", "UTC-")):
        return name
    return _offset(dt, colon=True)


def php_date(dt: datetime, fmt: str) -> str:
    """Format like PHP ``date()``/``DateTime::format`` (backslash escapes the next character)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        i += 1
        if ch == "\\":
            if i < len(fmt):
                out.append(fmt[i])
                i += 1
            continue
        out.append(_FIELD[ch](dt) if ch in _FIELD else ch)
    return "".join(out)


def _swatch(dt: datetime) -> str:
    utc = dt.astimezone(UTC)
    beats = int(((utc.hour * 3600 + utc.minute * 60 + utc.second + 3600) % 86400) / 86.4)
    return f"{beats:03d}"


_FIELD = {
    "d": lambda dt: f"{dt.day:02d}",
    "D": lambda dt: dt.strftime("%a"),
    "j": lambda dt: str(dt.day),
    "l": lambda dt: dt.strftime("%A"),
    "N": lambda dt: str(dt.isoweekday()),
    "S": lambda dt: _suffix(dt.day),
    "w": lambda dt: str(dt.isoweekday() % 7),
    "z": lambda dt: str(dt.timetuple().tm_yday - 1),
    "W": lambda dt: f"{dt.isocalendar()[1]:02d}",
    "F": lambda dt: dt.strftime("%B"),
    "m": lambda dt: f"{dt.month:02d}",
    "M": lambda dt: dt.strftime("%b"),
    "n": lambda dt: str(dt.month),
    "t": lambda dt: str(calendar.monthrange(dt.year, dt.month)[1]),
    "L": lambda dt: "1" if calendar.isleap(dt.year) else "0",
    "o": lambda dt: str(dt.isocalendar()[0]),
    "Y": lambda dt: f"{dt.year:04d}",
    "y": lambda dt: f"{dt.year % 100:02d}",
    "a": lambda dt: "am" if dt.hour < 12 else "pm",
    "A": lambda dt: "AM" if dt.hour < 12 else "PM",
    "B": _swatch,
    "g": lambda dt: str(dt.hour % 12 or 12),
    "G": lambda dt: str(dt.hour),
    "h": lambda dt: f"{dt.hour % 12 or 12:02d}",
    "H": lambda dt: f"{dt.hour:02d}",
    "i": lambda dt: f"{dt.minute:02d}",
    "s": lambda dt: f"{dt.second:02d}",
    "u": lambda dt: f"{dt.microsecond:06d}",
    "v": lambda dt: f"{dt.microsecond // 1000:03d}",
    "e": lambda dt: str(getattr(dt.tzinfo, "key", None) or _tz_abbrev(dt)),
    "I": lambda dt: "1" if dt.dst() else "0",
    "O": lambda dt: _offset(dt, colon=False),
    "P": lambda dt: _offset(dt, colon=True),
    "p": lambda dt: _offset(dt, colon=True, z=True),
    "T": _tz_abbrev,
    "Z": lambda dt: str(int((dt.utcoffset() or timedelta(0)).total_seconds())),
    "c": lambda dt: php_date(dt, "Y-m-d\\TH:i:sP"),
    "r": lambda dt: php_date(dt, "D, d M Y H:i:s O"),
    "U": lambda dt: str(int(dt.timestamp())),
}


def normalise_date(value: Any) -> str:
    """The ``date`` cast: any readable date → ISO 8601 (``Y-m-d`` for dates, ``c`` for date-times)."""
    dt, has_time = parse_date(value)
    return php_date(dt, "c" if has_time else "Y-m-d")
