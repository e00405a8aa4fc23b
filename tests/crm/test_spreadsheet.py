"""Exported cells that a spreadsheet would run as a formula are written as text."""

from __future__ import annotations

from crm.spreadsheet import cell


def test_formula_starts_get_an_apostrophe_and_numbers_do_not() -> None:
    for formula in ("=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1)", "\t=1", "\r=1"):
        assert cell(formula) == "'" + formula
    for plain in ("+852 9123 4567", "-3", "(852) 9123-4567", "Sam", "", "a=b"):
        assert cell(plain) == plain
    assert cell(7) == 7 and cell(None) is None
