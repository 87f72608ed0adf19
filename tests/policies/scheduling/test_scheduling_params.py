"""SchedulerParams / EmulatorParams: documented, range-checked, seed defaults (seed 000 Sec. IV)."""

from dataclasses import MISSING, fields

import pytest

from policies.scheduling.params import EmulatorParams, SchedulerParams


@pytest.mark.parametrize("cls", [SchedulerParams, EmulatorParams])
def test_every_field_is_documented_and_bounded(cls):
    for f in fields(cls):
        assert f.metadata.get("doc"), f.name
        assert f.default is not MISSING, f.name
        if f.type not in ("bool", bool):
            assert ("range" in f.metadata) != ("choices" in f.metadata), f.name


@pytest.mark.parametrize("cls", [SchedulerParams, EmulatorParams])
def test_out_of_range_values_raise_naming_the_field(cls):
    for f in fields(cls):
        if "range" in f.metadata:
            lo, _ = f.metadata["range"]
            bad = (lo - 1,) if isinstance(f.default, tuple) else lo - 1
            with pytest.raises(ValueError, match=f.name):
                cls(**{f.name: bad})
        elif "choices" in f.metadata:
            with pytest.raises(ValueError, match=f.name):
                cls(**{f.name: "no-such-choice"})


def test_seed_numbers_are_the_defaults():
    p, e = SchedulerParams(), EmulatorParams()
    assert p.scheduler == "bdqn-slsqp"
    assert (p.bdqn_layers, p.pdrl_layers) == (4, 5)
    assert min(p.bitrate_ladder_bps) == 0.5e6 and max(p.bitrate_ladder_bps) == 3.0e6
    assert (e.bitrate_min_bps, e.bitrate_max_bps) == (0.5e6, 3.0e6)
    assert e.request_rate_per_min == 6.0 and e.stall_penalty == 0.4


def test_cross_field_checks():
    with pytest.raises(ValueError):
        SchedulerParams(epsilon_start=0.1, epsilon_end=0.5)
    with pytest.raises(ValueError):
        EmulatorParams(bitrate_min_bps=4e6)
    with pytest.raises(ValueError, match="share_levels"):
        SchedulerParams(share_levels=())
