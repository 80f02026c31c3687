"""Date functions and the .NET format translator, with the reference's documented examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from provisioning.expressions import EvaluationContext, InvalidDateError, evaluate
from provisioning.expressions.dotnet_dates import format_datetime, parse_datetime, parse_exact, parse_styles

FIXED_NOW = datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)


def ev(expression: str, **source):
    return evaluate(expression, EvaluationContext(source=source, now=lambda: FIXED_NOW))


# -------------------------------------------------------------------------------------- CDate / Now


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-03-16-07:00", "3/16/2020 7:00:00 AM"),
        ("2021-06-30+08:00", "6/29/2021 4:00:00 PM"),
        ("2009-06-15T01:45:30-07:00", "6/15/2009 8:45:30 AM"),
        ("8/25/2021 5:41:18 PM", "8/25/2021 5:41:18 PM"),
        ("2021-08-24", "8/24/2021 12:00:00 AM"),
        ("Sun, 01 Jan 2012 23:00:00 GMT", "1/1/2012 11:00:00 PM"),
    ],
)
def test_cdate_returns_utc_in_m_d_yyyy_format(text, expected):
    assert ev("CDate([d])", d=text) == expected


def test_cdate_null_and_invalid():
    assert ev("CDate([d])") is None
    with pytest.raises(InvalidDateError) as caught:
        ev("CDate([d])", d="not a date")
    assert caught.value.position == 0


def test_now_is_utc_m_d_yyyy():
    assert ev("Now()") == "7/2/2021 3:33:38 PM"


# ------------------------------------------------------------------------------------------ DateAdd


@pytest.mark.parametrize(
    ("interval", "value", "expected"),
    [
        ("d", 7, "3/23/2012 7:00:00 AM"),
        ("d", -10, "3/6/2012 7:00:00 AM"),
        ("ww", 2, "3/30/2012 7:00:00 AM"),
        ("m", 10, "1/16/2013 7:00:00 AM"),
        ("yyyy", 2, "3/16/2014 7:00:00 AM"),
        ("h", 5, "3/16/2012 12:00:00 PM"),
        ("n", 90, "3/16/2012 8:30:00 AM"),
        ("s", 30, "3/16/2012 7:00:30 AM"),
    ],
)
def test_date_add_documented_table(interval, value, expected):
    assert ev(
        f'DateAdd("{interval}", {value}, CDate([StatusHireDate]))', StatusHireDate="2012-03-16-07:00"
    ) == (expected)


def test_date_add_clamps_to_the_end_of_the_month():
    assert ev('DateAdd("m", 1, CDate("2021-01-31"))') == "2/28/2021 12:00:00 AM"
    assert ev('DateAdd("yyyy", 1, CDate("2020-02-29"))') == "2/28/2021 12:00:00 AM"


def test_date_add_null_date_and_out_of_range():
    assert ev('DateAdd("d", 1, [missing])') is None
    with pytest.raises(InvalidDateError):
        ev('DateAdd("yyyy", 9000, CDate("2021-01-01"))')


# ----------------------------------------------------------------------------------------- DateDiff


@pytest.mark.parametrize(
    ("interval", "date1", "date2", "expected"),
    [
        ("d", "2021-08-18+08:00", "2021-08-31+08:00", 13),
        ("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -3449),
        ("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -493),
        ("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -113),
        ("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -9),
        ("d", "2021-08-31+08:00", "2021-08-31+08:00", 0),
        ("h", "2021-08-24", "2021-08-25", 24),
        ("n", "2021-08-24", "2021-08-25", 1440),
        ("s", "2021-08-24", "2021-08-25", 86400),
    ],
)
def test_date_diff_documented_table(interval, date1, date2, expected):
    assert ev(f'DateDiff("{interval}", CDate([a]), CDate([b]))', a=date1, b=date2) == expected


def test_date_diff_counts_boundaries_like_vb():
    assert ev('DateDiff("yyyy", CDate("2021-12-31"), CDate("2022-01-01"))') == 1
    assert ev('DateDiff("d", CDate("2021-01-01T23:59:00Z"), CDate("2021-01-02T00:01:00Z"))') == 1
    assert ev('DateDiff("d", Now(), CDate([hire]))', hire="2021-07-12T00:00:00Z") == 10


def test_date_diff_with_a_null_date_is_null():
    assert ev('DateDiff("d", [a], Now())') is None


# -------------------------------------------------------------------------------- AD number dates


def test_date_from_num_documented_example():
    assert ev("DateFromNum(129699324000000000)") == "1/1/2012 11:00:00 PM"
    assert ev("DateFromNum([lastLogonTimestamp])", lastLogonTimestamp="129699324000000000") == (
        "1/1/2012 11:00:00 PM"
    )


def test_num_from_date_round_trips_and_handles_offsets():
    assert ev('NumFromDate("2012-01-01T23:00:00Z")') == 129699324000000000
    assert ev('NumFromDate("2012-01-01 15:00:00-08:00")') == 129699324000000000
    assert ev("NumFromDate([missing])") is None


def test_num_from_date_documented_workday_example():
    expression = 'NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))'
    expected = ev('NumFromDate("2021-01-01T07:59:59Z")')
    assert ev(expression, ContractEndDate="2020-12-31-08:00") == expected


def test_num_from_date_documented_successfactors_example():
    expression = 'NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))'
    assert ev(expression, endDate="12/31/2020 09:00:00 AM") == ev('NumFromDate("2021-01-01T07:59:59Z")')


def test_date_from_num_out_of_range():
    with pytest.raises(InvalidDateError):
        ev("DateFromNum(9223372036854775807)")


# ---------------------------------------------------------------------------------- FormatDateTime


def test_format_date_time_documented_example():
    expression = 'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")'
    assert ev(expression, extensionAttribute1="20150123105347.1Z") == "2015-01-23"


@pytest.mark.parametrize(
    ("source", "input_format", "output_format", "expected"),
    [
        ("2021-03-04T05:06:07Z", "yyyy-MM-ddTHH:mm:ssK", "M/d/yyyy h:mm:ss tt", "3/4/2021 5:06:07 AM"),
        ("04.03.2021", "dd.MM.yyyy", "dddd, MMMM d, yyyy", "Thursday, March 4, 2021"),
        ("Mar 4 21", "MMM d yy", "yyyyMMdd", "20210304"),
        ("2021-03-04 17:45", "yyyy-MM-dd HH:mm", "hh:mm tt", "05:45 PM"),
        ("2021-03-04 17:45", "yyyy-MM-dd HH:mm", "'Day' d 'of' MMM", "Day 4 of Mar"),
        (
            "2021-03-04T10:00:00+02:00",
            "yyyy-MM-ddTHH:mm:sszzz",
            "yyyy-MM-ddTHH:mm:ssK",
            "2021-03-04T08:00:00Z",
        ),
        ("2021-03-04", "yyyy-MM-dd", "s", "2021-03-04T00:00:00"),
        ("  2021-03-04  ", "yyyy-MM-dd", "yyyy", "2021"),
        ("20210304101112.123Z", "yyyyMMddHHmmss.fffZ", "HH:mm:ss.FFF", "10:11:12.123"),
        ("20210304101112.000Z", "yyyyMMddHHmmss.fffZ", "HH:mm:ss.FFF", "10:11:12"),
    ],
)
def test_format_date_time_translates_dotnet_formats(source, input_format, output_format, expected):
    expression = f'FormatDateTime([s], , "{input_format}", "{output_format}")'
    assert ev(expression, s=source) == expected


def test_format_date_time_with_explicit_styles():
    expression = 'FormatDateTime([s], "AssumeUniversal", "yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mmK")'
    assert ev(expression, s="2021-03-04 10:00") == "2021-03-04T10:00Z"


def test_format_date_time_accepts_a_date_value_directly():
    assert ev('FormatDateTime(CDate([s]), , "yyyy", "yyyy-MM-dd")', s="2021-03-04T10:00:00Z") == "2021-03-04"
    assert (
        ev('FormatDateTime([d], , "yyyy", "yyyy-MM-dd")', d=datetime(2020, 1, 2, tzinfo=UTC)) == "2020-01-02"
    )


def test_format_date_time_null_and_mismatch():
    assert ev('FormatDateTime([s], , "yyyy", "yyyy")') is None
    with pytest.raises(InvalidDateError, match="does not match"):
        ev('FormatDateTime([s], , "yyyy-MM-dd", "yyyy")', s="03/04/2021")
    with pytest.raises(InvalidDateError, match="Not a valid date"):
        ev('FormatDateTime([s], , "yyyy-MM-dd", "yyyy")', s="2021-02-30")


# ------------------------------------------------------------------------------ translator details


def test_format_specifiers_one_by_one():
    value = datetime(2009, 6, 5, 13, 5, 7, 123456, tzinfo=timezone(timedelta(hours=-7)))
    assert format_datetime(value, "d/M/yy H:m:s") == "5/6/09 13:5:7"
    assert format_datetime(value, "dd/MM/yyyy HH:mm:ss") == "05/06/2009 13:05:07"
    assert format_datetime(value, "ddd MMM") == "Fri Jun"
    assert format_datetime(value, "fffffff F t zz zzz z") == "1234560 1 P -07 -07:00 -7"
    assert format_datetime(value, r"\y\y %d") == "yy 5"
    assert format_datetime(value, "o") == "2009-06-05T13:05:07.1234560-07:00"
    assert format_datetime(value, "u") == "2009-06-05 20:05:07Z"


def test_naive_dates_print_no_zone_with_k():
    assert format_datetime(datetime(2020, 1, 1), "yyyyK") == "2020"


@pytest.mark.parametrize("bad", ["", "Q", "yyyy'unclosed", "fffffffff", "yyyy\\"])
def test_invalid_formats_raise(bad):
    with pytest.raises(InvalidDateError):
        format_datetime(datetime(2020, 1, 1), bad)


def test_parse_exact_time_only_uses_today_unless_no_current_date_default():
    today = date(2022, 5, 6)
    assert parse_exact("10:30", "HH:mm", today=today) == datetime(2022, 5, 6, 10, 30)
    styles = parse_styles("NoCurrentDateDefault")
    assert parse_exact("10:30", "HH:mm", styles, today=today) == datetime(1, 1, 1, 10, 30)


def test_parse_exact_two_digit_years_pivot_at_2049():
    assert parse_exact("49", "yy").year == 2049
    assert parse_exact("50", "yy").year == 1950


def test_parse_styles_names_and_errors():
    assert parse_styles(None) == parse_styles("RoundtripKind, AllowLeadingWhite, AllowTrailingWhite")
    assert parse_styles("DateTimeStyles.AdjustToUniversal") == 16
    with pytest.raises(InvalidDateError):
        parse_styles("Sideways")


def test_parse_datetime_rejects_garbage_and_bad_offsets():
    with pytest.raises(InvalidDateError):
        parse_datetime("2021-13-01")
    with pytest.raises(InvalidDateError):
        parse_datetime("2021-01-01T00:00:00+25:00")
