"""Dutch dates: day first, 24-hour clock, to the second (numbers keep Django's Dutch separators)."""

DATETIME_FORMAT = "j N Y H:i:s"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
DATE_FORMAT = "j N Y"
SHORT_DATE_FORMAT = "d-m-Y"
