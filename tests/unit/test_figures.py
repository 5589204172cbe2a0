"""One definition of percentiles and hit rates, shared by every subsystem."""

from __future__ import annotations

import pytest

from qhub._figures import percent, percentile, percentile_sorted


class TestPercentile:
    """Linear interpolation between closest ranks (numpy's default)."""

    @pytest.mark.parametrize(
        ("q", "expected"), [(0, 1.0), (50, 2.5), (95, 3.85), (100, 4.0)]
    )
    def test_interpolates(self, q: float, expected: float) -> None:
        assert percentile([4, 1, 3, 2], q) == pytest.approx(expected)
        assert percentile_sorted([1, 2, 3, 4], q) == pytest.approx(expected)

    def test_empty_and_single(self) -> None:
        assert percentile([], 95) == 0.0
        assert percentile_sorted([7], 99) == 7.0


class TestPercent:
    """A share in percent with two decimals; nothing looked up is 0 %."""

    def test_values(self) -> None:
        assert percent(1, 3) == 33.33
        assert percent(0, 0) == 0.0
        assert percent(5, 5) == 100.0
