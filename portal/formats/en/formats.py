"""The portal's one date format for English (Django's FORMAT_MODULE_PATH): every page shows dates the
same way, to the second, without "a.m."/"p.m." or microseconds. Another language adds its own module."""

DATETIME_FORMAT = "M j, Y, H:i:s"
SHORT_DATETIME_FORMAT = "M j, Y, H:i"
DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "M j, Y"
