"""``twinslice reproduce fig5`` (seed 000 Fig. 5): the quick mode writes every file it promises,
with one row per scheme, and the claims of the seed are evaluated, not assumed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from runs.cli import main
from runs.reproduce.fig5 import SCHEMES, fig5_table, findings, settings_for


@pytest.mark.slow
def test_quick_reproduction_writes_its_files(tmp_path, capsys):
    out = tmp_path / "fig5"
    argv = ["reproduce", "fig5", "--quick", "--quiet", "--out", str(out)]
    assert main([*argv, "--set", "das.no_factor_fit=keep"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    for name in ("fig5a_ela_cdf.png", "fig5b_qoe_box.png"):
        assert (out / name).stat().st_size > 5000
    table = pd.read_csv(out / "fig5_table.csv")
    assert table["scheme"].tolist() == list(SCHEMES)
    assert (table["ela_n"] > 0).all() and (table["qoe_n"] > 0).all()
    assert ((table["ela_p10"] <= table["ela_p90"]) & (table["qoe_p25"] <= table["qoe_p75"])).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 2 * len(SCHEMES)
    assert len(summary["findings"]) == 7
    assert all(isinstance(f["holds"], bool) for f in summary["findings"])
    runs = pd.read_csv(out / "fig5_runs.csv")
    assert sorted(runs["k"].unique().tolist()) == [16, 20]
    for row in runs.itertuples():  # every run left its own folder with its summary
        run_dir = out / "runs" / f"{row.scheme}-k{row.k}-s{row.seed}"
        assert json.loads((run_dir / "summary.json").read_text())["scheme"] == row.scheme
        assert 'no_factor_fit = "keep"' in (run_dir / "config.toml").read_text()
    # common random numbers: every scheme of a (k, seed) sees the same users and ELAs
    ela = pd.read_parquet(out / "fig5_ela.parquet")
    per_scheme = ela[ela["window"] == 0].groupby("scheme")
    firsts = [g.sort_values("user")[["user", "ela"]].to_numpy().tolist() for _, g in per_scheme]
    assert all(f == firsts[0] for f in firsts)


def test_bad_seed_count_is_a_usage_error(capsys):
    assert main(["reproduce", "fig5", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("figure", "override", "message"),
    [
        ("fig5", "das.nope=1", "das.nope: unknown key"),
        ("fig5", "das.no_factor_fit=maybe", "not allowed"),
        ("fig5", "users.count=3", "fig5 sets it per run"),
        ("fig6", "das.no_factor_fit=keep", "fig6 reads only the sections"),
        ("fig6", "meta.init=scratch", "fig6 sets it per run"),
        ("fig6", "cav.n_pairs=5", "not a key of its own"),
    ],
)
def test_bad_override_is_refused_before_anything_runs(figure, override, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["reproduce", figure, "--set", override, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_settings_and_claims_on_a_made_up_sample():
    assert settings_for(False).seeds == 2 and settings_for(True, seeds=3).seeds == 3
    ratios = {
        "proposed": [0.9, 0.95, 1.0],
        "wo-da": [0.3, 0.4, 0.5],
        "pdrl-l1": [0.7, 0.8, 0.9],
        "hsla-l2": [0.1, 0.2, 0.3],
    }
    ela = pd.DataFrame([{"scheme": s, "ela_ratio": v} for s, vs in ratios.items() for v in vs])
    qoe = pd.DataFrame([{"scheme": s, "qoe": 1 + 4 * v} for s, vs in ratios.items() for v in vs])
    table = fig5_table(ela, qoe, SCHEMES)
    assert table.set_index("scheme")["ela_median"].to_dict() == {
        "proposed": 0.95,
        "wo-da": 0.4,
        "pdrl-l1": 0.8,
        "hsla-l2": 0.2,
    }
    claims = {f["claim"]: f["holds"] for f in findings(ela, qoe)}
    assert claims["Proposed has the highest ELA achievable ratio in most percentile ranges"]
    assert claims["HSLA-L2 has the poorest ELA ratio"]
    assert not claims["w/o DA has the lowest median QoE and a wide IQR"]
