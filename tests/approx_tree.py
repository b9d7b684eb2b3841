"""Compare nested JSON-like values, floats within rounding (a tally sums where one summary
averages, so the last digits differ)."""

from __future__ import annotations

import pytest


def assert_close(got: object, expected: object) -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys()
        for key in expected:
            assert_close(got[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_close(a, b)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected
