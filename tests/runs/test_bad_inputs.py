"""Every bad input, for every command, is one line on stderr and exit status 2 — no traceback,
nothing written, nothing deleted — and a rejection loads neither torch nor Mesa (issue 14).

The corpus covers scenario files (encodings, binary, folders, special files, bad TOML, unknown
keys, bad values), ``--set`` overrides, output paths and, for ``viz``, hosts and ports. Any work
starting is an error here: the simulation, the sweep, the figures and the server are replaced
by functions that fail the test.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runs.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--set",
    "scenario.duration_s=5",
    "--set",
    "users.count=2",
    "--set",
    "scenario.service=none",
]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# -- the corpus ---------------------------------------------------------------------------------
#: name -> bytes of a scenario file that must be refused
BAD_FILES: dict[str, bytes] = {
    "latin1.toml": '[scenario]\nname = "café"\n'.encode("latin-1"),
    "binary.toml": bytes(range(256)) * 8,
    "elf.toml": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120,
    "utf16.toml": "[users]\ncount = 3\n".encode("utf-16"),
    "bom.toml": b"\xef\xbb\xbf[users]\ncount = 3\n",
    "broken.toml": b"[users]\ncount = = 3\n",
    "unknown-section.toml": b"[nosuch]\nx = 1\n",
    "unknown-key.toml": b"[users]\nnope = 3\n",
    "newline-key.toml": b'[users]\n"a\\nb" = 3\n',
    "negative.toml": b"[users]\ncount = -5\n",
    "huge.toml": b"[users]\ncount = 1e400\n",
    "wrong-type.toml": b'[users]\ncount = "many"\n',
    "not-a-table.toml": b"users = 5\n",
    "bad-choice.toml": b'[scenario]\nscheme = "bogus"\n',
    "short.toml": b"[scenario]\nduration_s = 0.5\nslot_s = 1.0\n",
    "no-suffix": b"\x00\x01\x02binary without a suffix",
}

BAD_OVERRIDES: list[str] = [
    "users.count=-5",
    "users.count=abc",
    "users.count=1e400",
    "users.count=3.5",
    "users.nope=1",
    "nosuch.key=1",
    "users.count",
    "=3",
    "users.count==3",
    "users=3",
    "a.b.c=1",
    "scenario.duration_s=0",
    "scenario.duration_s=inf",
    "scenario.duration_s=nan",
    "scenario.slot_s=1000",
    "scenario.seed=-1",
    "scenario.scheme=bogus",
    "scenario.service=",
    "users.count=[1, 2]",
    'users.count="a\nb"',
    "radio.pathloss_model=free-space",
]


def _special_paths(tmp: Path) -> dict[str, str]:
    """Scenario paths that are not files at all."""
    folder = tmp / "folder.toml"
    folder.mkdir()
    fifo = tmp / "fifo.toml"
    os.mkfifo(fifo)
    return {
        "folder": str(folder),
        "fifo": str(fifo),
        "device": "/dev/zero",
        "missing": str(tmp / "missing.toml"),
        "too-long": "x" * 5000,
        "unknown-preset": "no-such-preset",
    }


def _bad_outs(tmp: Path) -> dict[str, str]:
    """Output paths that must be refused (and left exactly as they are)."""
    user = tmp / "user-folder"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work\n")
    a_file = tmp / "a-file.txt"
    a_file.write_text("not a folder\n")
    outs = {
        "user-folder": str(user),
        "a-file": str(a_file),
        "through-a-file": str(a_file / "sub"),
        "proc": "/proc/x/y",
        "empty": "",
        "dot": ".",
        "too-long": str(tmp / ("x" * 300)),
    }
    if not AS_ROOT:
        ro = tmp / "read-only"
        ro.mkdir()
        ro.chmod(0o555)
        outs["read-only"] = str(ro / "out")
    return outs


# -- helpers --------------------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a digest of its content (folders and special files too)."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not path.is_symlink() and os.access(path, os.R_OK):
                tree[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                tree[rel] = "dir" if path.is_dir() else "special"
    return tree


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test the moment any real work (simulation, sweep, figure, server) starts.

    The figure modules are replaced whole (they import torch; a rejection must not need them).
    """
    import types

    import runs.simulate as simulate
    import runs.sweep as sweep
    import visualization.serve as serve

    def work(*args, **kwargs):
        raise AssertionError("work started for an input that should have been refused")

    monkeypatch.setattr(simulate, "simulate_into", work)
    monkeypatch.setattr(sweep, "_run_locked", work)
    monkeypatch.setattr(serve.subprocess, "Popen", work)
    for name in ("fig5", "fig6"):
        fake = types.ModuleType(f"runs.reproduce.{name}")
        setattr(fake, f"reproduce_{name}", work)
        monkeypatch.setitem(sys.modules, f"runs.reproduce.{name}", fake)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Run from an empty working folder inside tmp_path (so ``--out .`` is a real folder)."""
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "notes.txt").write_text("the user's own file\n")
    monkeypatch.chdir(work)
    return tmp_path


def _refused(argv: list[str], root: Path, capsys) -> str:
    before = _tree(root)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, err)
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("twinslice: error: ") and "Traceback" not in err
    assert _tree(root) == before, "the rejection changed files on disk"
    return lines[0]


def _commands(out: str) -> dict[str, list[str]]:
    """Each command with a valid remainder, writing to ``out`` (not ``--quiet``: the estimate
    line must not come before a rejection either)."""
    return {
        "run": ["run", *TINY, "--out", out],
        "sweep": ["sweep", "campus-video", *TINY, "--grid", "users.count=2,3", "--out", out],
        "fig5": ["reproduce", "fig5", "--quick", "--out", out],
        "fig6": ["reproduce", "fig6", "--quick", "--out", out],
    }


# -- scenario files -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "sweep", "viz"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_scenario_files(command, name, sandbox, capsys, no_work):
    path = sandbox / name
    path.write_bytes(BAD_FILES[name])
    argv = {
        "run": ["run", str(path), "--quiet", "--out", str(sandbox / "out")],
        "sweep": ["sweep", str(path), "--grid", "users.count=2,3", "--out", str(sandbox / "out")],
        "viz": ["viz", str(path), "--port", "1"],
    }[command]
    _refused(argv, sandbox, capsys)


@pytest.mark.parametrize("command", ["run", "sweep", "viz"])
@pytest.mark.parametrize(
    "kind", ["folder", "fifo", "device", "missing", "too-long", "unknown-preset"]
)
def test_scenario_paths_that_are_not_files(command, kind, sandbox, capsys, no_work):
    path = _special_paths(sandbox)[kind]
    argv = {
        "run": ["run", path, "--quiet", "--out", str(sandbox / "out")],
        "sweep": ["sweep", path, "--grid", "users.count=2,3", "--out", str(sandbox / "out")],
        "viz": ["viz", path, "--port", "1"],
    }[command]
    _refused(argv, sandbox, capsys)


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_scenario_file(sandbox, capsys, no_work):
    path = sandbox / "secret.toml"
    path.write_text("[users]\ncount = 3\n")
    path.chmod(0)
    line = _refused(["run", str(path), "--out", str(sandbox / "out")], sandbox, capsys)
    assert "cannot read" in line


def test_latin1_file_names_the_encoding(sandbox, capsys, no_work):
    path = sandbox / "cafe.toml"
    path.write_bytes(BAD_FILES["latin1.toml"])
    line = _refused(["run", str(path), "--out", str(sandbox / "out")], sandbox, capsys)
    assert "UTF-8" in line and "cafe.toml" in line


# -- overrides ------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "sweep", "fig5", "viz"])
@pytest.mark.parametrize("override", BAD_OVERRIDES)
def test_bad_overrides(command, override, sandbox, capsys, no_work):
    out = str(sandbox / "out")
    argv = {
        "run": ["run", "--set", override, "--quiet", "--out", out],
        "sweep": [
            "sweep",
            "campus-video",
            "--set",
            override,
            "--grid",
            "users.report_period_s=5",
            "--out",
            out,
        ],
        "fig5": ["reproduce", "fig5", "--quick", "--set", override, "--out", out],
        "viz": ["viz", "--set", override, "--port", "1"],
    }[command]
    _refused(argv, sandbox, capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--seed", "x"],
        ["run", "--seed", "-1"],
        ["run", ""],
        ["run", "--bogus"],
        ["sweep", "campus-video", "--grid", "users.count=3,3"],
        ["sweep", "campus-video", "--grid", "users.count"],
        ["sweep", "campus-video", "--grid", "scenario.seed=1,2"],
        ["sweep", "campus-video", "--grid", "users.count=2", "--seeds", "0"],
        ["sweep", "campus-video", "--grid", "users.count=2", "--workers", "0"],
        ["sweep", "campus-video", "--grid", "users.count=2", "--retries", "-1"],
        ["sweep", "campus-video", "--grid", "users.count=2", "--address", "x:1"],
        ["sweep", "campus-video", "--backend", "slurm"],
        ["reproduce", "fig7"],
        ["reproduce", "fig5", "--seeds", "0"],
        ["reproduce", "fig5", "--set", "users.count=3"],
        ["reproduce", "fig5", "--set", "scenario.scheme=wo-da"],
        ["reproduce", "fig6", "--set", "das.no_factor_fit=keep"],
        ["reproduce", "fig6", "--seeds", "-2"],
        ["viz", "--port", "0"],
        ["viz", "--port", "70000"],
        ["viz", "--port", "http"],
        ["viz", "--host", ""],
        ["viz", "--host", "no-such-host.invalid"],
        ["viz", "--host", "192.0.2.1"],
        ["viz", "--host", "a" * 300],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments(argv, sandbox, capsys, no_work):
    extra = (
        ["--out", str(sandbox / "out")] if argv[:1] in (["run"], ["sweep"], ["reproduce"]) else []
    )
    if argv[:2] == ["reproduce", "fig7"]:
        extra = []
    _refused([*argv, *extra], sandbox, capsys)


def test_a_bad_host_is_named_as_host_not_port(sandbox, capsys, no_work):
    line = _refused(["viz", "--host", "no-such-host.invalid"], sandbox, capsys)
    assert "--host" in line and "--port" not in line
    line = _refused(["viz", "--host", "192.0.2.1"], sandbox, capsys)  # TEST-NET: not ours
    assert "--host" in line and "--port" not in line


def test_a_taken_port_is_named_as_port(sandbox, capsys, no_work):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        line = _refused(["viz", "--port", str(sock.getsockname()[1])], sandbox, capsys)
    assert "--port" in line


# -- output paths ---------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "sweep", "fig5", "fig6"])
@pytest.mark.parametrize(
    "kind",
    ["user-folder", "a-file", "through-a-file", "proc", "empty", "dot", "too-long", "read-only"],
)
def test_bad_output_paths(command, kind, sandbox, capsys, no_work):
    outs = _bad_outs(sandbox)
    if kind not in outs:
        pytest.skip("root writes into read-only folders")
    _refused(_commands(outs[kind])[command], sandbox, capsys)


@pytest.mark.parametrize("command", ["run", "sweep", "fig5", "fig6"])
def test_a_sentinel_folder_given_as_out_is_left_intact(command, tmp_path, capsys, no_work):
    folder = tmp_path / "mine"
    folder.mkdir()
    sentinel = folder / "SENTINEL"
    sentinel.write_text("do not touch\n")
    stat = sentinel.stat()
    for force in ([], ["--force"]):
        line = _refused([*_commands(str(folder))[command], *force], tmp_path, capsys)
        assert "not a twinslice output folder" in line
    assert sorted(p.name for p in folder.iterdir()) == ["SENTINEL"]
    assert sentinel.read_text() == "do not touch\n" and sentinel.stat().st_mtime == stat.st_mtime


# -- the memory guard -----------------------------------------------------------------------------
@pytest.mark.parametrize("override", ["users.count=1000000", "scenario.duration_s=10000000"])
def test_a_run_too_big_for_the_memory_is_refused_with_its_estimate(
    override, tmp_path, capsys, no_work, monkeypatch
):
    monkeypatch.setenv("TWINSLICE_AVAILABLE_MB", "8000")
    line = _refused(["run", "--set", override, "--out", str(tmp_path / "out")], tmp_path, capsys)
    assert "estimate" in line and "peak memory" in line and "--force" in line


def test_a_sweep_too_big_for_the_memory_is_refused(tmp_path, capsys, no_work, monkeypatch):
    monkeypatch.setenv("TWINSLICE_AVAILABLE_MB", "100")
    argv = ["sweep", "campus-video", "--grid", "users.count=20,24", "--out", str(tmp_path / "s")]
    assert "peak memory" in _refused(argv, tmp_path, capsys)


# -- fast, quiet answers ------------------------------------------------------------------------
_PROBE = """
import sys
from runs.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "mesa", "scipy.stats", "matplotlib", "pandas", "solara")
               if m in sys.modules)
print("RESULT", code, ",".join(heavy) or "-", file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--set", "users.nope=1"],
        ["run", "--set", "users.count=-5"],
        ["run", "--out", "/proc/x"],
        ["run", "--set", "users.count=1000000"],
        ["sweep", "campus-video", "--grid", "users.nope=1,2"],
        ["reproduce", "fig5", "--set", "das.nope=1"],
        ["reproduce", "fig6", "--out", "/proc/x"],
        ["viz", "--set", "users.nope=1"],
        ["viz", "--host", "no-such-host.invalid"],
        ["keys"],
        ["presets"],
        ["--help"],
    ],
)
def test_answers_and_rejections_do_not_import_torch_or_mesa(argv, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TWINSLICE_AVAILABLE_MB": "8000"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    result = [line for line in proc.stderr.splitlines() if line.startswith("RESULT")]
    assert result, proc.stderr
    _, code, heavy = result[0].split()
    assert code == ("0" if argv[0] in ("keys", "presets", "--help") else "2"), proc.stderr
    assert heavy == "-", f"{argv} imported {heavy}"
    assert "Traceback" not in proc.stderr


def test_a_closed_pipe_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line: `twinslice keys | head -0`
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "runs.cli", "keys"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.stderr == "" and proc.returncode == 141


def test_head_of_keys_ends_quietly():
    exe = Path(sys.executable).with_name("twinslice")
    if not exe.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run(
        f"'{exe}' keys | head -1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""


# -- real bugs ------------------------------------------------------------------------------------
def test_a_bug_is_one_line_and_a_saved_traceback(tmp_path, capsys, monkeypatch):
    import tempfile

    import runs.cli as cli

    def broken(args):
        raise RuntimeError("something\nthat should never happen")

    monkeypatch.setattr(cli, "_cmd_presets", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["presets"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "internal error" in err and "RuntimeError" in err
    saved = list(tmp_path.glob("twinslice-crash-*.txt"))
    assert len(saved) == 1 and str(saved[0]) in err
    assert "Traceback" in saved[0].read_text() and "never happen" in saved[0].read_text()
