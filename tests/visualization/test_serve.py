"""``twinslice viz`` up to starting the server: validation, environment, command line."""

from __future__ import annotations

import socket

import pytest

from model.config import ConfigError
from runs.cli import build_parser, main
from visualization import serve
from visualization.settings import (
    ENV_OVERRIDES,
    ENV_SCENARIO,
    ENV_SEED,
    VizStart,
    model_params,
    start_from_env,
)


def _args(*argv: str):
    return build_parser().parse_args(["viz", *argv])


@pytest.mark.parametrize(
    "argv, key",
    [
        (["no-such-preset"], "no-such-preset"),
        (["--set", "users.count=-1"], "users.count"),
        (["--set", "nonsense.key=1"], "nonsense.key"),
        (["--port", "0"], "--port"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, key):
    assert main(["viz", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err


def test_a_taken_port_is_refused_before_starting(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert main(["viz", "--port", str(port)]) == 2
    assert "--port" in capsys.readouterr().err


def test_start_travels_through_the_environment():
    args = _args("highway-cav", "--set", "users.count=7", "--set", "edge.count=2", "--seed", "9")
    start = serve._start_of(args)
    env = serve.server_env(start, base={})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY_CACHE_DIR"]
    back = start_from_env(env)
    assert back == start
    params = model_params(back)
    assert params["scenario"]["value"] == "highway-cav"
    assert params["n_users"]["value"] == 7  # a controlled key starts its control
    assert params["rng"]["value"] == "9"
    assert params["edge__count"] == 2  # any other key is a fixed override


def test_scenario_files_are_passed_as_absolute_paths(tmp_path, monkeypatch):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('[scenario]\nname = "mine"\n[users]\ncount = 3\n')
    monkeypatch.chdir(tmp_path)
    start = serve._start_of(_args("mine.toml"))
    assert start.scenario == str(scenario.resolve())
    assert start.scenario in model_params(start)["scenario"]["values"]


def test_bad_environment_is_reported():
    with pytest.raises(ConfigError, match=ENV_OVERRIDES):
        start_from_env({ENV_OVERRIDES: "[1, 2]"})
    with pytest.raises(ConfigError, match=ENV_SEED):
        start_from_env({ENV_SEED: "x"})
    assert start_from_env({}) == VizStart("campus-video", {}, None)
    assert start_from_env({ENV_SCENARIO: "highway-cav"}).scenario == "highway-cav"


def test_server_listens_on_loopback_unless_asked():
    cmd = serve.server_command("127.0.0.1", 8765)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--no-open" in cmd and str(serve.APP) in cmd
    assert _args().host == "127.0.0.1"
