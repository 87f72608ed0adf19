"""PLVN attribute normalisation, discretisation and category keys (seed 003, Sec. III.A)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.twins import (
    ROOT,
    PLVNAttributes,
    TwinParams,
    bin_index,
    category_at_level,
    category_keys,
    category_path,
    discretise,
    is_ancestor,
    key_str,
    normalise,
    parse_key,
)

P = TwinParams()
FIG4 = PLVNAttributes(hour=10.0, city="Toronto", road_type="Highway", vehicle_count=80)


def test_normalise_closed_form_and_clipping() -> None:
    np.testing.assert_allclose(normalise([5.0, 6.0, 7.0], (5.0, 7.0)), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(normalise([-3.0, 30.0], (0.0, 24.0)), [0.0, 1.0])


@given(
    st.lists(st.floats(0.01, 0.99), min_size=1, max_size=6, unique=True).map(sorted),
    st.floats(0.0, 1.0),
)
def test_bin_index_counts_edges_at_or_below(edges: list[float], value: float) -> None:
    assert int(bin_index(value, tuple(edges))) == sum(e <= value for e in edges)


@pytest.mark.parametrize(
    ("hour", "label"),
    [
        (0.0, "night"),
        (5.99, "night"),
        (6.0, "day"),
        (17.99, "day"),
        (18.0, "night"),
        (23.5, "night"),
    ],
)
def test_hour_day_night(hour: float, label: str) -> None:
    assert discretise("hour", hour, P) == label


def test_resources_match_case_study_levels() -> None:
    labels = [discretise("average_resources", mhz, P) for mhz in (5.0, 6.0, 7.0)]
    assert labels == ["low", "medium", "high"]
    assert discretise("vehicle_count", 80, P) == "dense"
    assert discretise("average_workload", 4, P) == "light"


def test_fig4_category_levels() -> None:
    path = category_path(FIG4, P)
    assert path == ("day", "toronto", "highway")
    assert key_str(path) == "day+toronto+highway"
    assert category_keys(path) == [ROOT, ("day",), ("day", "toronto"), path]
    assert key_str(ROOT) == "*"
    assert category_at_level(FIG4, P, 1) == ("day",)
    assert category_at_level(FIG4, P, 9) == path


def test_configurable_order_and_unknown_attributes() -> None:
    params = TwinParams(attribute_order=("hour", "road_type", "vehicle_count"))
    assert category_path(FIG4, params) == ("day", "highway", "dense")
    # city unknown: the PLVN is categorised only down to the time attribute
    partial = PLVNAttributes(hour=22.0, road_type="local")
    assert category_path(partial, P) == ("night",)
    assert discretise("city", "  New+York ", P) == "new_york"


@given(st.lists(st.text("abcxyz_", min_size=1, max_size=5), max_size=4).map(tuple))
def test_key_roundtrip_and_ancestry(key: tuple[str, ...]) -> None:
    assert parse_key(key_str(key)) == key
    assert all(is_ancestor(k, key) for k in category_keys(key))
    assert not is_ancestor((*key, "extra"), key)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attribute_order": ("hour", "hour")},
        {"attribute_order": ("weather",)},
        {"hour_edges": (0.75, 0.25)},
        {"hour_edges": (0.0, 0.5)},
        {"hour_labels": ("night", "day")},
        {"vehicle_count_range": (10.0, 10.0)},
        {"cache_policy": "fifo"},
        {"drift_distance_threshold": -0.1},
        {"average_workload_labels": ("a+b", "c")},
    ],
)
def test_params_validation_names_the_key(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs)).split("_")[0]):
        TwinParams(**kwargs)
