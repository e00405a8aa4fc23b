"""Cells of an exported file that a spreadsheet would run as a formula ("=HYPERLINK(...)", "@SUM(...)"),
written so that it shows them as text instead (CSV injection; OWASP's advice: a leading apostrophe).

A contact's name, note or attribute comes from customers and channels: opening the export in Excel must not
run what they typed. Numbers and phone numbers ("+852 9123 4567", "-3") are left as they are.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[\d\s().-]*\d[\d\s().-]*")


def cell(value: object) -> object:
    """The value to write: a text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
