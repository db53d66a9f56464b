"""English date formats with the time zone named (the admin shows every time as "Dec. 6, 2026,
1:05 p.m. UTC", not a bare time an operator in another zone would misread)."""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "P T"
