"""The CLI: smoke runs of every preset, byte-identical outputs, one-line errors with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model.config import available_presets
from runs.cli import main

SHORT = ["--set", "scenario.duration_s=20", "--quiet"]


@pytest.mark.parametrize("preset", available_presets())
def test_run_every_preset(preset, tmp_path):
    out = tmp_path / preset
    assert main(["run", preset, *SHORT, "--out", str(out)]) == 0
    for name in ("config.toml", "model.parquet", "summary.json"):
        assert (out / name).is_file()


def test_same_seed_gives_byte_identical_outputs(tmp_path):
    args = ["run", "campus-video", *SHORT, "--set", "users.count=5", "--seed", "11"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "no-such-scenario"],
        ["run", "--set", "users.count=-5"],
        ["run", "--set", "users.nope=1"],
        ["run", "--set", "radio.pathloss_model=free-space"],
        ["run", "--seed", "x"],
        ["frobnicate"],
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(argv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)] if argv[0] == "run" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("twinslice: error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_corrupt_scenario_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[users]\ncount = = 3\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_console_script_exit_code(tmp_path):
    exe = Path(sys.executable).with_name("twinslice")
    proc = subprocess.run(
        [str(exe), "run", "--set", "users.count=x"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "users.count" in proc.stderr


def test_keys_and_presets(capsys):
    assert main(["keys"]) == 0
    assert "users.count" in capsys.readouterr().out
    assert main(["presets"]) == 0
    assert "campus-video" in capsys.readouterr().out
