"""Thai dates: day first, Thai month abbreviations, Gregorian year (as the admin center), 24-hour clock."""

DATETIME_FORMAT = "j M Y, H:i:s"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
