"""The sweep report on a tiny synthetic sweep folder: known means and t-intervals, PNGs, the
printed table, one-line errors."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from runs.cli import main
from runs.report import flatten, report, t_interval

# With 2 degrees of freedom the t quantile has a closed form, t_p = (2p - 1) / sqrt(2p(1 - p)),
# so t(0.975, 2) = 4.3027 and the 95% half-width of {1, 2, 3} (s = 1) is t / sqrt(3).
T_975_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
HALF_123 = T_975_DF2 / math.sqrt(3)


@pytest.fixture
def sweep_dir(tmp_path):
    """Two grid keys, three seeds; ``thr`` = count / 10 + scheme offset + seed index."""
    grid = {"users.count": [10, 20], "scenario.scheme": ["proposed", "wo-da"]}
    rows = []
    for count in grid["users.count"]:
        for scheme in grid["scenario.scheme"]:
            for k, seed in enumerate((7, 8, 9)):
                rows.append(
                    {
                        "users.count": count,
                        "scenario.scheme": scheme,
                        "seed": seed,
                        "run_id": f"{count}-{scheme}-{seed}",
                        "status": "ok",
                        "error": None,
                        "thr": count / 10 + (5.0 if scheme == "wo-da" else 0.0) + k + 1,
                        "messages.sent": 100,
                    }
                )
    rows.append({**rows[0], "run_id": "broken", "status": "failed", "thr": 1e9, "error": "x"})
    (tmp_path / "sweep.json").write_text(json.dumps({"grid": grid, "runs": []}))
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet", index=False)
    return tmp_path


def test_t_interval_known_answers():
    n, mean, half = t_interval([1.0, 2.0, 3.0])
    assert (n, mean) == (3, 2.0) and half == pytest.approx(HALF_123, rel=1e-12)
    assert t_interval([4.0])[:2] == (1, 4.0) and math.isnan(t_interval([4.0])[2])
    assert t_interval([5.0, 5.0, float("nan")]) == (2, 5.0, 0.0)


def test_flatten_uses_dotted_names():
    assert flatten({"a": 1, "m": {"sent": 2, "k": {"x": 3}}, "l": [1, 2]}) == {
        "a": 1,
        "m.sent": 2,
        "m.k.x": 3,
        "l": "[1, 2]",
    }


def test_report_means_cis_and_pngs(sweep_dir):
    table, pngs = report(sweep_dir, ["thr"], by="users.count")
    assert len(table) == 4 and (table["n"] == 3).all()  # the failed run is left out
    for _, row in table.iterrows():
        offset = 5.0 if row["scenario.scheme"] == "wo-da" else 0.0
        assert row["mean"] == pytest.approx(row["users.count"] / 10 + offset + 2.0)
        assert row["ci95"] == pytest.approx(HALF_123)
    assert [p.name for p in pngs] == ["thr.png"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (sweep_dir / "report" / "stats.csv").is_file()


def test_report_cli_prints_the_table(sweep_dir, capsys):
    out = sweep_dir / "plots"
    argv = [
        "report",
        str(sweep_dir),
        "--metric",
        "thr",
        "--metric",
        "messages.sent",
        "--by",
        "scenario.scheme",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "mean" in text and "ci95" in text and "messages.sent" in text
    assert (out / "thr.png").is_file() and (out / "messages.sent.png").is_file()
    stats = pd.read_csv(out / "stats.csv")
    assert set(stats["metric"]) == {"thr", "messages.sent"} and len(stats) == 8
    assert (stats.loc[stats["metric"] == "messages.sent", "ci95"] == 0).all()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--metric", "nope"], "--metric nope"),
        (["--by", "seed"], "--by seed"),
        (["--metric", "status"], "--metric status"),
    ],
)
def test_report_bad_input_exits_2_with_one_line(sweep_dir, capsys, extra, words):
    assert main(["report", str(sweep_dir), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("twinslice: error:") and words in err and "\n" not in err


def test_report_on_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
