""".NET date handling: custom format strings (parse and format), DateTimeStyles, DateTime.Parse.

Entra's FormatDateTime takes .NET custom format strings (``yyyyMMddHHmmss.fZ``, ``M/d/yyyy h:mm:ss tt``,
``yyyy-MM-ddzzz``...). Admins copy formats from Microsoft's docs, so we translate the .NET
specifiers rather than asking for strftime. Culture is en-US / invariant (what Entra's output shows).
The provisioning service runs in UTC, so "local time" is UTC here: values with an offset are
converted to UTC, values without one stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

from provisioning.messages import Message, gettext_noop

from .errors import InvalidDateError

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)  # datetime.weekday order
_MONTH_NUMBER = {name.lower(): i for i, name in enumerate(MONTHS, 1)} | {
    name[:3].lower(): i for i, name in enumerate(MONTHS, 1)
}

# Standard (one-letter) format strings, expanded to custom ones the way en-US does.
STANDARD_FORMATS = {
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}
_UTC_STANDARD = frozenset("rRuU")  # these convert the value to UTC before printing

_SPECIFIERS = frozenset("dfFghHKmMstyz")
_MAX_REPEAT = {
    "d": 4,
    "f": 7,
    "F": 7,
    "g": 2,
    "h": 2,
    "H": 2,
    "K": 1,
    "m": 2,
    "M": 4,
    "s": 2,
    "t": 2,
    "y": 5,
    "z": 3,
}

DATETIME_STYLES = {
    "none": 0,
    "allowleadingwhite": 1,
    "allowtrailingwhite": 2,
    "allowinnerwhite": 4,
    "allowwhitespaces": 7,
    "nocurrentdatedefault": 8,
    "adjusttouniversal": 16,
    "assumelocal": 32,
    "assumeuniversal": 64,
    "roundtripkind": 128,
}
# RoundtripKind | AllowLeadingWhite | AllowTrailingWhite: Entra's documented default
DEFAULT_STYLES = 128 | 1 | 2


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # a specifier letter, or "lit" for literal text
    count: int = 1
    text: str = ""


@lru_cache(maxsize=256)
def tokenize(fmt: str) -> tuple[_Token, ...]:
    """Split a .NET date format into specifier runs and literal text."""
    if not fmt:
        raise InvalidDateError(Message(gettext_noop("A date format can't be empty")))
    if len(fmt) == 1:
        if fmt not in STANDARD_FORMATS:
            raise InvalidDateError(
                Message(gettext_noop("'%(fmt)s' is not a .NET standard date format"), fmt=fmt)
            )
        fmt = STANDARD_FORMATS[fmt]
    tokens: list[_Token] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch in _SPECIFIERS:
            j = i
            while j < n and fmt[j] == ch:
                j += 1
            count = j - i
            if ch in "fF" and count > 7:
                raise InvalidDateError(
                    Message(gettext_noop("'%(fmt)s' asks for more than 7 fraction digits"), fmt=fmt[i:j])
                )
            tokens.append(_Token(ch, min(count, _MAX_REPEAT[ch])))
            i = j
        elif ch in "'\"":
            end = fmt.find(ch, i + 1)
            if end < 0:
                raise InvalidDateError(
                    Message(gettext_noop("Unclosed quote in date format '%(fmt)s'"), fmt=fmt)
                )
            tokens.append(_Token("lit", text=fmt[i + 1 : end]))
            i = end + 1
        elif ch == "\\":
            if i + 1 >= n:
                raise InvalidDateError(
                    Message(gettext_noop("Date format '%(fmt)s' ends with a backslash"), fmt=fmt)
                )
            tokens.append(_Token("lit", text=fmt[i + 1]))
            i += 2
        elif ch == "%":
            if i + 1 >= n or fmt[i + 1] not in _SPECIFIERS:
                raise InvalidDateError(
                    Message(gettext_noop("'%%' must be followed by a format specifier in '%(fmt)s'"), fmt=fmt)
                )
            tokens.append(_Token(fmt[i + 1], 1))
            i += 2
        else:
            tokens.append(_Token("lit", text=ch))  # includes ':' and '/', which are ':' and '/' in en-US
            i += 1
    return tuple(tokens)


def parse_styles(text: str | None) -> int:
    """``"AdjustToUniversal, AllowWhiteSpaces"`` (names or a number) -> DateTimeStyles flags."""
    if text is None or not text.strip():
        return DEFAULT_STYLES
    if text.strip().isdigit():
        return int(text)
    flags = 0
    for part in re.split(r"[,|]", text):
        name = part.strip().lower().removeprefix("datetimestyles.")
        if name not in DATETIME_STYLES:
            raise InvalidDateError(
                Message(gettext_noop("'%(part)s' is not a DateTimeStyles value"), part=part.strip())
            )
        flags |= DATETIME_STYLES[name]
    return flags


# ---------------------------------------------------------------------------------------------- format


def _offset_parts(value: datetime) -> tuple[str, int, int]:
    offset = value.utcoffset() or timedelta(0)  # naive = server local time = UTC
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return sign, hours, mins


Piece = Callable[[datetime], str]


def _zone(value: datetime) -> str:
    if value.tzinfo is None:
        return ""
    sign, hours, mins = _offset_parts(value)
    return "Z" if value.utcoffset() == timedelta(0) else f"{sign}{hours:02d}:{mins:02d}"


def _offset(count: int) -> Piece:
    def offset(value: datetime) -> str:
        sign, hours, mins = _offset_parts(value)
        if count == 1:
            return f"{sign}{hours}"
        return f"{sign}{hours:02d}" if count == 2 else f"{sign}{hours:02d}:{mins:02d}"

    return offset


def _number(attribute: str, count: int) -> Piece:
    if count == 1:
        return lambda value: str(getattr(value, attribute))
    return lambda value: f"{getattr(value, attribute):02d}"


def _piece(token: _Token) -> Piece:
    """A function printing one specifier run (``dd``, ``MMM``, ``tt``...) of a date."""
    kind, count = token.kind, token.count
    if kind == "d" and count >= 3:
        return (lambda v: DAYS[v.weekday()][:3]) if count == 3 else (lambda v: DAYS[v.weekday()])
    if kind == "M" and count >= 3:
        return (lambda v: MONTHS[v.month - 1][:3]) if count == 3 else (lambda v: MONTHS[v.month - 1])
    if kind in "dmMsH":
        field = {"d": "day", "m": "minute", "M": "month", "s": "second", "H": "hour"}[kind]
        return _number(field, count)
    if kind == "h":
        return (lambda v: str(v.hour % 12 or 12)) if count == 1 else (lambda v: f"{v.hour % 12 or 12:02d}")
    if kind == "f":
        return lambda v: f"{v.microsecond:06d}0"[:count]
    if kind == "F":
        return lambda v: f"{v.microsecond:06d}0"[:count].rstrip("0")
    if kind == "t":
        return (
            (lambda v: "AM" if v.hour < 12 else "PM")
            if count == 2
            else (lambda v: "A" if v.hour < 12 else "P")
        )
    if kind == "y":
        if count <= 2:
            return (lambda v: str(v.year % 100)) if count == 1 else (lambda v: f"{v.year % 100:02d}")
        return lambda v: f"{v.year:0{count}d}"
    if kind == "z":
        return _offset(count)
    if kind == "K":
        return _zone
    return lambda v: "A.D."  # "g": the era


@lru_cache(maxsize=256)
def _formatter(fmt: str) -> Piece:
    pieces: list[str | Piece] = []
    for token in tokenize(fmt):
        if token.kind == "lit":
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += token.text
            else:
                pieces.append(token.text)
            continue
        piece = _piece(token)
        last = pieces[-1] if pieces else None
        if token.kind == "F" and isinstance(last, str) and last.endswith("."):
            # .NET drops the decimal point too when "F" prints no digits
            pieces[-1] = last[:-1]
            piece = (lambda digits: lambda v: ("." + d) if (d := digits(v)) else "")(piece)
        pieces.append(piece)
    parts = [(lambda text: lambda v: text)(p) if isinstance(p, str) else p for p in pieces]
    return lambda value: "".join([part(value) for part in parts])


def format_datetime(value: datetime, fmt: str) -> str:
    """Format like .NET ``DateTime.ToString(fmt, en-US)``."""
    if fmt in _UTC_STANDARD and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return _formatter(fmt)(value)


# ----------------------------------------------------------------------------------------------- parse

_NAMES_RE = {
    ("d", 3): "|".join(d[:3] for d in DAYS),
    ("d", 4): "|".join(DAYS),
    ("M", 3): "|".join(m[:3] for m in MONTHS),
    ("M", 4): "|".join(MONTHS),
}


def _token_pattern(token: _Token, index: int, inner_white: bool) -> tuple[str, str | None]:
    """Regex for one token and the field it fills (None for literals and ignored parts)."""
    kind, count = token.kind, token.count
    group = f"g{index}"
    if kind == "lit":
        if inner_white and token.text.isspace():
            return r"\s*", None
        return re.escape(token.text), None
    if kind in "dM" and count >= 3:
        return f"(?P<{group}>{_NAMES_RE[(kind, count)]})", (None if kind == "d" else "month_name")
    digits = {
        "d": (r"\d{1,2}", r"\d{2}"),
        "h": (r"\d{1,2}", r"\d{2}"),
        "H": (r"\d{1,2}", r"\d{2}"),
        "m": (r"\d{1,2}", r"\d{2}"),
        "M": (r"\d{1,2}", r"\d{2}"),
        "s": (r"\d{1,2}", r"\d{2}"),
    }
    fields = {"d": "day", "h": "hour12", "H": "hour", "m": "minute", "M": "month", "s": "second"}
    if kind in digits:
        return f"(?P<{group}>{digits[kind][count - 1]})", fields[kind]
    if kind == "f":
        return f"(?P<{group}>\\d{{{count}}})", "fraction"
    if kind == "F":
        return f"(?P<{group}>\\d{{0,{count}}})", "fraction"
    if kind == "y":
        if count <= 2:
            return f"(?P<{group}>\\d{{{count},2}})", "year2"
        return f"(?P<{group}>\\d{{{count},5}})", "year"
    if kind == "t":
        return f"(?P<{group}>{'[AP]M' if count == 2 else '[AP]'})", "half"
    if kind == "z":
        pattern = {1: r"[+-]\d{1,2}", 2: r"[+-]\d{2}", 3: r"[+-]\d{2}:\d{2}"}[count]
        return f"(?P<{group}>{pattern})", "offset"
    if kind == "K":
        return f"(?P<{group}>Z|[+-]\\d{{2}}:\\d{{2}})?", "offset"
    if kind == "g":
        return f"(?P<{group}>A\\.?D\\.?)?", None
    raise InvalidDateError(
        Message(gettext_noop("Unsupported date format specifier '%(kind)s'"), kind=kind)
    )  # pragma: no cover


@lru_cache(maxsize=256)
def _parse_plan(fmt: str, inner_white: bool) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
    parts: list[str] = []
    fields: list[tuple[str, str]] = []
    tokens = tokenize(fmt)
    for index, token in enumerate(tokens):
        pattern, field = _token_pattern(token, index, inner_white)
        if token.kind == "F" and parts and parts[-1] == r"\.":
            parts[-1] = ""  # like .NET, "ss.FFF" also reads "00:00:00": the dot goes with the digits
            pattern = f"(?:\\.{pattern})?"
        parts.append(pattern)
        if field is not None:
            fields.append((f"g{index}", field))
    return re.compile("".join(parts), re.IGNORECASE), tuple(fields)


def _parse_offset(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, _, minutes = text[1:].partition(":")
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        raise InvalidDateError(Message(gettext_noop("UTC offset %(text)s is out of range"), text=text))
    return timezone(sign * delta)


_DATE_FIELDS = frozenset({"year", "year2", "month", "month_name", "day"})
_NO_CURRENT_DATE_DEFAULT = DATETIME_STYLES["nocurrentdatedefault"]
_ASSUME_UTC = DATETIME_STYLES["assumeuniversal"] | DATETIME_STYLES["assumelocal"]


def _finish(parts: dict[str, str], styles: int, today: Callable[[], date]) -> datetime:
    if parts.keys().isdisjoint(_DATE_FIELDS):
        base = date(1, 1, 1) if styles & _NO_CURRENT_DATE_DEFAULT else today()
        year, month, day = base.year, base.month, base.day  # a time alone: .NET uses the current date
    else:
        year, month, day = 1, 1, 1
        if "year" not in parts and "year2" not in parts:
            year = today().year  # .NET fills a missing year from the current date
    if "year" in parts:
        year = int(parts["year"])
    elif "year2" in parts:
        two = int(parts["year2"])
        year = 2000 + two if two < 50 else 1900 + two  # .NET's TwoDigitYearMax of 2049
    if "month" in parts:
        month = int(parts["month"])
    elif "month_name" in parts:
        month = _MONTH_NUMBER[parts["month_name"].lower()[:3]]
    if "day" in parts:
        day = int(parts["day"])
    hour = int(parts.get("hour", 0))
    if "hour12" in parts:
        hour = int(parts["hour12"])
        if "half" in parts:
            if hour > 12:
                raise InvalidDateError(Message(gettext_noop("A 12-hour clock hour must be between 1 and 12")))
            hour = hour % 12 + (12 if parts["half"].upper().startswith("P") else 0)
    elif "half" in parts and hour < 12 and parts["half"].upper().startswith("P"):
        hour += 12
    fraction = parts.get("fraction") or "0"
    microsecond = int((fraction + "000000")[:6])
    try:
        value = datetime(
            year, month, day, hour, int(parts.get("minute", 0)), int(parts.get("second", 0)), microsecond
        )
    except ValueError as error:
        raise InvalidDateError(Message(gettext_noop("Not a valid date: %(error)s"), error=error)) from None
    if parts.get("offset"):
        value = value.replace(tzinfo=_parse_offset(parts["offset"]))
    elif styles & _ASSUME_UTC:
        value = value.replace(tzinfo=UTC)
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise InvalidDateError(
                Message(gettext_noop("Date is out of range after converting to UTC"))
            ) from None
    return value


def parse_exact(
    text: str, fmt: str, styles: int = DEFAULT_STYLES, today: date | Callable[[], date] | None = None
) -> datetime:
    """.NET ``DateTime.ParseExact(text, fmt, en-US, styles)``."""
    if styles & DATETIME_STYLES["allowleadingwhite"]:
        text = text.lstrip()
    if styles & DATETIME_STYLES["allowtrailingwhite"]:
        text = text.rstrip()
    pattern, fields = _parse_plan(fmt, bool(styles & DATETIME_STYLES["allowinnerwhite"]))
    match = pattern.fullmatch(text)
    if match is None:
        raise InvalidDateError(
            Message(
                gettext_noop('"%(text)s" does not match the date format "%(fmt)s"'), text=text[:40], fmt=fmt
            )
        )
    groups = match.groupdict()
    parts = {field: groups[group] for group, field in fields if groups[group] is not None}
    if today is None:
        return _finish(parts, styles, lambda: datetime.now(UTC).date())
    return _finish(parts, styles, today if callable(today) else lambda: today)


_TIME = r"(?:[T ]\s*(?P<H>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?\s*(?P<half>[AP]M)?)?"
_ZONE = r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_FLEXIBLE = [
    re.compile(r"(?P<Y>\d{4})-(?P<M>\d{1,2})-(?P<D>\d{1,2})" + _TIME + _ZONE, re.IGNORECASE),
    re.compile(r"(?P<Y>\d{4})/(?P<M>\d{1,2})/(?P<D>\d{1,2})" + _TIME + _ZONE, re.IGNORECASE),
    re.compile(r"(?P<M>\d{1,2})/(?P<D>\d{1,2})/(?P<Y>\d{4})" + _TIME + _ZONE, re.IGNORECASE),
    re.compile(
        r"(?:[a-z]{3,9},?\s+)?(?P<D>\d{1,2})\s+(?P<N>[a-z]{3,9})\.?,?\s+(?P<Y>\d{4})" + _TIME + _ZONE,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:[a-z]{3,9},?\s+)?(?P<N>[a-z]{3,9})\.?\s+(?P<D>\d{1,2}),?\s+(?P<Y>\d{4})" + _TIME + _ZONE,
        re.IGNORECASE,
    ),
]


def _no_date() -> date:  # stands in for "today" where the text always has a date
    return date(1, 1, 1)


def parse_datetime(text: str) -> datetime:
    """Read a date the way .NET ``DateTime.Parse`` commonly does; the result is UTC.

    Accepts ISO 8601 (``2009-06-15T01:45:30-07:00``, ``2020-03-16-07:00``, ``2021-08-24``), US
    (``8/25/2021 5:41:18 PM``) and month-name forms (``Sun, 01 Jan 2012 23:00:00 GMT``). A value
    without an offset is taken as UTC, which is what CDate promises.
    """
    stripped = text.strip()
    for pattern in _FLEXIBLE:
        match = pattern.fullmatch(stripped)
        if match is None:
            continue
        groups = match.groupdict()
        parts: dict[str, str] = {"year": groups["Y"], "day": groups["D"]}
        if groups.get("N"):
            if groups["N"].lower()[:3] not in _MONTH_NUMBER:
                continue
            parts["month_name"] = groups["N"]
        else:
            parts["month"] = groups["M"]
        if groups["H"] is not None:
            parts.update(hour=groups["H"], minute=groups["m"], second=groups["s"] or "0")
            if groups["f"]:
                parts["fraction"] = groups["f"]
            if groups["half"]:
                parts["hour12"] = parts.pop("hour")
                parts["half"] = groups["half"]
        zone = groups["z"]
        parts["offset"] = "Z" if zone is None or zone.upper() in ("UTC", "GMT") else zone
        return _finish(parts, DEFAULT_STYLES, _no_date)
    raise InvalidDateError(
        Message(gettext_noop('"%(stripped)s" is not a recognised date'), stripped=stripped[:40])
    )


def as_utc(value: datetime) -> datetime:
    """Aware UTC version of a date; naive dates are taken as UTC (the service's local time)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def from_filetime(ticks: int) -> datetime:
    """AD's 100-nanosecond intervals since 1601-01-01 UTC -> datetime."""
    try:
        return FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise InvalidDateError(
            Message(gettext_noop("%(ticks)s is outside the range of AD dates"), ticks=ticks)
        ) from None


def to_filetime(value: datetime) -> int:
    delta = as_utc(value) - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
