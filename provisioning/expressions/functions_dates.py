"""Date functions: CDate, DateAdd, DateDiff, DateFromNum, NumFromDate, FormatDateTime, Now.

Dates travel between functions as UTC ``datetime`` values and print as ``M/d/yyyy h:mm:ss tt`` when
they end up as text, which is what Entra shows for CDate, DateAdd and Now.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from provisioning.messages import Message, gettext_noop

from .dotnet_dates import (
    as_utc,
    format_datetime,
    from_filetime,
    parse_datetime,
    parse_exact,
    parse_styles,
    to_filetime,
    tokenize,
)
from .errors import ArgumentTypeError, InvalidDateError
from .nodes import Call
from .registry import Thunk, check_literal, function, int_params, one_of
from .values import describe, first, to_int, to_str, to_text

INTERVALS = {"yyyy": "year", "q": "quarter", "m": "month", "y": "day", "d": "day", "w": "weekday",
             "ww": "week", "h": "hour", "n": "minute", "s": "second"}  # fmt: skip


def to_datetime(value: Any, function_name: str) -> datetime | None:
    """A date argument: a date from another function, or text CDate can read; null stays null."""
    value = first(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        return parse_datetime(value)
    raise ArgumentTypeError(
        Message(
            gettext_noop("%(function_name)s: expected a date, got %(describe)s"),
            function_name=function_name,
            describe=describe(value),
        )
    )


def _interval(value: Any, function_name: str) -> str:
    key = to_text(first(value)).strip().lower()
    if key not in INTERVALS:
        raise ArgumentTypeError(
            Message(
                gettext_noop('%(function_name)s: "%(key)s" is not an interval (yyyy, m, d, ww, h, n or s)'),
                function_name=function_name,
                key=key,
            )
        )
    return INTERVALS[key]


@function("CDate", "expression")
def cdate(value: Any) -> datetime | None:
    """Reads a date string as a UTC date (prints as M/d/yyyy h:mm:ss tt)."""
    return to_datetime(value, "CDate")


@function("Now", "", needs_context=True)
def now(ctx: Any) -> datetime:
    """The current UTC date and time."""
    return as_utc(ctx.now())


def add_months(value: datetime, months: int) -> datetime:
    """.NET AddMonths: the day is clamped to the end of the target month."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise InvalidDateError(Message(gettext_noop("The resulting date is out of range")))
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


@function(
    "DateAdd",
    "interval, value, dateTime",
    checks=(check_literal(0, one_of("DateAdd", "interval", INTERVALS)), *int_params("DateAdd", 1)),
)
def date_add(interval: Any, value: Any, date_time: Any) -> datetime | None:
    """Adds a number of intervals (yyyy, m, d, ww, h, n, s) to a date."""
    unit = _interval(interval, "DateAdd")
    amount = to_int(value, "DateAdd", "value")
    start = to_datetime(date_time, "DateAdd")
    if start is None:
        return None
    try:
        if unit == "year":
            return add_months(start, 12 * amount)
        if unit == "quarter":
            return add_months(start, 3 * amount)
        if unit == "month":
            return add_months(start, amount)
        step = {"day": timedelta(days=1), "weekday": timedelta(days=1), "week": timedelta(weeks=1),
                "hour": timedelta(hours=1), "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}[unit]  # fmt: skip
        return start + step * amount
    except (OverflowError, ValueError):
        raise InvalidDateError(Message(gettext_noop("DateAdd: the resulting date is out of range"))) from None


def _week_start(value: datetime) -> datetime:
    midnight = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=(value.weekday() + 1) % 7)  # weeks start on Sunday (VB default)


def _truncate(value: datetime, unit: str) -> datetime:
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return value.replace(second=0, microsecond=0)
    return value.replace(microsecond=0)


@function(
    "DateDiff",
    "interval, date1, date2",
    checks=(check_literal(0, one_of("DateDiff", "interval", INTERVALS)),),
)
def date_diff(interval: Any, date1: Any, date2: Any) -> int | None:
    """Number of interval boundaries between two dates; positive when date2 is later (VB DateDiff)."""
    unit = _interval(interval, "DateDiff")
    first_date, second_date = to_datetime(date1, "DateDiff"), to_datetime(date2, "DateDiff")
    if first_date is None or second_date is None:
        return None
    if unit == "year":
        return second_date.year - first_date.year
    if unit == "quarter":
        return (
            (second_date.year - first_date.year) * 4
            + (second_date.month - 1) // 3
            - (first_date.month - 1) // 3
        )
    if unit == "month":
        return (second_date.year - first_date.year) * 12 + second_date.month - first_date.month
    days = (second_date.date() - first_date.date()).days
    if unit == "day":
        return days
    if unit == "weekday":
        return int(days / 7)
    if unit == "week":
        return (_week_start(second_date) - _week_start(first_date)).days // 7
    seconds = (_truncate(second_date, unit) - _truncate(first_date, unit)).total_seconds()
    return int(seconds // {"hour": 3600, "minute": 60, "second": 1}[unit])


@function("DateFromNum", "value")
def date_from_num(value: Any) -> datetime | None:
    """Converts an AD date number (100 ns ticks since 1601) to a date."""
    value = first(value)
    if value is None:
        return None
    return from_filetime(to_int(value, "DateFromNum", "value"))


@function("NumFromDate", "value")
def num_from_date(value: Any) -> int | None:
    """Converts an ISO 8601 date to AD's number format (for accountExpires)."""
    moment = to_datetime(value, "NumFromDate")
    return None if moment is None else to_filetime(moment)


def _formats_check(call: Call) -> None:
    check_literal(1, parse_styles, "dateTimeStyles")(call)
    check_literal(2, tokenize, "inputFormat")(call)
    check_literal(3, tokenize, "outputFormat")(call)


def build_format_datetime(call: Call, args: list[Thunk]) -> Thunk:
    source, styles, input_format, output_format = args

    def format_date_time(ctx: Any) -> Any:
        value = first(source(ctx))
        if value is None:
            return None
        out_fmt = to_str(first(output_format(ctx)))
        if not out_fmt:
            raise ArgumentTypeError(Message(gettext_noop("FormatDateTime: outputFormat is empty")))
        if not isinstance(value, datetime):
            in_fmt = to_str(first(input_format(ctx)))
            if not in_fmt:
                raise ArgumentTypeError(Message(gettext_noop("FormatDateTime: inputFormat is empty")))
            style_flags = parse_styles(to_str(first(styles(ctx))))
            value = parse_exact(to_text(value), in_fmt, style_flags, lambda: as_utc(ctx.now()).date())
        return format_datetime(value, out_fmt)

    return format_date_time


@function(
    "FormatDateTime",
    "source, dateTimeStyles?, inputFormat, outputFormat",
    build=build_format_datetime,
    checks=(_formats_check,),
)
def format_date_time() -> None:
    """Reads a date in one .NET format and writes it in another."""
