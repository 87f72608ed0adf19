"""PLVN environment dynamics (seed 003 Sec. III.A attributes, Sec. IV radio levels)."""

from __future__ import annotations

import numpy as np
import pytest

from policies.twins.twin_plvn import (
    PlvnParams,
    hdv_step,
    hdv_targets,
    hour_of_day,
    initial_hdvs,
    is_daytime,
    nearest_level,
    nearest_rsu,
    radio_mean_mhz,
    road_labels,
    urban_mask,
    vehicle_counts,
)

P = PlvnParams()
LEVELS = (5.0, 6.0, 7.0)


def test_default_clock_turns_day_into_night_half_way_through_a_600_s_run() -> None:
    assert hour_of_day(0.0, P) == pytest.approx(17.0)
    assert hour_of_day(299.0, P) < 18.0 <= hour_of_day(300.0, P)
    assert is_daytime(hour_of_day(299.0, P), P) and not is_daytime(hour_of_day(300.0, P), P)
    assert hour_of_day(7 * 3600.0 / 12.0, P) == pytest.approx(0.0)  # wraps at midnight


def test_daytime_window_may_wrap_midnight() -> None:
    p = PlvnParams(day_start_hour=20.0, night_start_hour=4.0)
    assert is_daytime(22.0, p) and is_daytime(2.0, p) and not is_daytime(12.0, p)


def test_road_type_changes_at_the_configured_position() -> None:
    urban = urban_mask(np.array([0.0, 4499.9, 4500.0, 5999.0]), P)
    assert road_labels(urban) == ["highway", "highway", "urban", "urban"]


def test_hdv_process_reverts_to_its_target_with_poisson_spread() -> None:
    rng = np.random.default_rng(0)
    target = np.full(4000, 12.0)
    count = np.zeros(4000, dtype=np.int64)
    for _ in range(600):  # 12 mean dwell times at 0.02/s
        count = hdv_step(count, target, 1.0, P, rng)
    assert count.mean() == pytest.approx(12.0, rel=0.03)
    assert count.var() == pytest.approx(12.0, rel=0.1)  # M/M/inf: Poisson stationary law
    assert initial_hdvs(target, rng).mean() == pytest.approx(12.0, rel=0.03)


def test_targets_scale_with_road_and_time_of_day() -> None:
    urban = np.array([False, True])
    assert hdv_targets(10, urban, 12.0, P) == pytest.approx([10.0, 18.0])
    assert hdv_targets(10, urban, 23.0, P) == pytest.approx([4.0, 7.2])


@pytest.mark.parametrize(("hdvs", "mu"), [(10, 6.0), (4, 7.0), (7, 7.0), (18, 5.0), (30, 5.0)])
def test_radio_left_to_a_lone_cluster(hdvs: int, mu: float) -> None:
    got = radio_mean_mhz(np.array([hdvs]), np.array([0]), vehicle_counts(3, np.array([hdvs])),
                         LEVELS, P)
    assert got[0] == mu  # 8 MHz - 0.2 MHz per HDV, snapped to 5 / 6 / 7


def test_other_clusters_under_the_same_rsu_take_radio() -> None:
    hdvs = np.array([4, 4, 4])
    alone = radio_mean_mhz(hdvs, np.array([0, 1, 2]), vehicle_counts(3, hdvs), LEVELS, P)
    shared = radio_mean_mhz(hdvs, np.array([0, 0, 2]), vehicle_counts(3, hdvs), LEVELS, P)
    assert list(alone) == [7.0, 7.0, 7.0]
    assert list(shared) == [6.0, 6.0, 7.0]  # 7.2 - 0.2 * 0.5 * 10 = 6.2


def test_nearest_level_and_rsu() -> None:
    assert list(nearest_level(np.array([4.0, 5.49, 5.5, 6.6, 9.0]), LEVELS)) == \
        [5.0, 5.0, 5.0, 7.0, 7.0]
    assert list(nearest_rsu(np.array([0.0, 999.0, 1001.0, 6000.0]),
                            np.array([500.0, 1500.0, 5500.0]))) == [0, 0, 1, 2]
