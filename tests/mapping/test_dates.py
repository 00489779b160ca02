"""Date parsing and PHP date() formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from openconnector.mapping.dates import DateParseError, get_timezone, normalise_date, parse_date, php_date

MOMENT = datetime(2024, 3, 1, 14, 5, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("Y-m-d H:i:s", "2024-03-01 14:05:09"),
        ("d/m/y", "01/03/24"),
        ("D, d M Y", "Fri, 01 Mar 2024"),
        ("l jS F", "Friday 1st March"),
        ("N w z t L", "5 5 60 31 1"),
        ("W o", "09 2024"),
        ("g:i a / h A / G", "2:05 pm / 02 PM / 14"),
        ("u v", "123456 123"),
        ("O P p T Z e", "+0000 +00:00 Z UTC 0 UTC"),
        ("c", "2024-03-01T14:05:09+00:00"),
        ("r", "Fri, 01 Mar 2024 14:05:09 +0000"),
        ("U", "1709301909"),
        ("\\Y\\-m", "Y-03"),
        ("B", "628"),
    ],
)
def test_php_date(fmt: str, expected: str) -> None:
    assert php_date(MOMENT, fmt) == expected


def test_php_date_in_a_zone() -> None:
    amsterdam = MOMENT.astimezone(get_timezone("Europe/Amsterdam"))
    assert php_date(amsterdam, "H:i T P e I") == "15:05 CET +01:00 Europe/Amsterdam 0"
    assert php_date(MOMENT.astimezone(get_timezone("+05:30")), "H:i P") == "19:35 +05:30"


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2024-03-01T14:05:09Z", "2024-03-01T14:05:09+00:00"),
        ("2024-03-01T14:05:09.5+02:00", "2024-03-01T14:05:09+02:00"),
        ("2024-03-01 14:05", "2024-03-01T14:05:00+00:00"),
        ("20240301", "2024-03-01"),
        ("01-03-2024", "2024-03-01"),
        ("01.03.2024", "2024-03-01"),
        ("03/01/2024", "2024-03-01"),
        ("1 March 2024", "2024-03-01"),
        ("Fri, 01 Mar 2024 14:05:09 +0000", "2024-03-01T14:05:09+00:00"),
        ("@1709301909", "2024-03-01T14:05:09+00:00"),
        ("1709301909", "2024-03-01T14:05:09+00:00"),
        (1709301909, "2024-03-01T14:05:09+00:00"),
        (MOMENT, "2024-03-01T14:05:09+00:00"),
    ],
)
def test_normalise_date(value: Any, iso: str) -> None:
    assert normalise_date(value) == iso


def test_relative_words() -> None:
    dt, has_time = parse_date("today", now=MOMENT)
    assert dt == datetime(2024, 3, 1, tzinfo=UTC) and not has_time
    assert parse_date("tomorrow", now=MOMENT)[0].day == 2
    assert parse_date("now", now=MOMENT)[0] == MOMENT


@pytest.mark.parametrize("value", ["15 maart 2024", "soon", "2024-13-45", None, True, [2024]])
def test_unreadable_dates(value: Any) -> None:
    with pytest.raises(DateParseError):
        parse_date(value)


def test_unknown_timezone() -> None:
    with pytest.raises(DateParseError, match="unknown timezone"):
        get_timezone("Mars/Olympus")
