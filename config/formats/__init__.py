"""Date formats the project's readers cannot misread (``FORMAT_MODULE_PATH``).

Numeric dates are read differently across the UN (12/03/2026 is 3 December to some, 12 March to
others), so every language writes the month as a word; times are 24-hour and say they are UTC.
Only the formats named here are overridden; the rest come from Django's locale files.
"""
