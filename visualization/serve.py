"""``twinslice viz``: validate the scenario, then serve the SolaraViz page with ``solara run``.

Bad input (unknown scenario or key, bad value, a port already taken) is reported in one line
with exit status 2 before the server starts. The scenario travels to the Solara process in
environment variables (:mod:`visualization.settings`). The server binds 127.0.0.1 unless
``--host`` asks for another address; telemetry is off and Solara's asset cache
(``python -m visualization.assets``) lets the page load without internet.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from model.config import ConfigError, parse_override
from visualization.assets import CORE_PACKAGES, is_cached, solara_cache_dir
from visualization.settings import VizStart, model_params

APP = Path(__file__).resolve().parent / "app.py"
ROOT = APP.parent.parent


def _start_of(args: argparse.Namespace) -> VizStart:
    """The page's start from the command line, validated (raises :class:`ConfigError`)."""
    scenario = str(args.scenario)
    if Path(scenario).is_file():  # the server runs from the project root: make paths absolute
        scenario = str(Path(scenario).resolve())
    overrides = dict(parse_override(text) for text in args.overrides)
    start = VizStart(scenario, overrides, args.seed)
    model_params(start)  # loads and validates the scenario with every override
    return start


def check_port(host: str, port: int) -> None:
    """Raise :class:`ConfigError` unless ``host:port`` can be bound now."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port: {port} is not a TCP port (1-65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as uvicorn does: a port in TIME_WAIT after a previous server is free to reuse
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"--port: cannot listen on {host}:{port} ({exc.strerror})") from None


def server_env(start: VizStart, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the Solara process: the start, no telemetry, the asset cache."""
    env = dict(os.environ if base is None else base)
    env.update(start.to_env())
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env.setdefault("SOLARA_ASSETS_PROXY_CACHE_DIR", str(solara_cache_dir()))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line for the page."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP),
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--production",
    ]


def _warn_missing_assets() -> None:
    cache = solara_cache_dir()
    missing = [p for p in CORE_PACKAGES if not is_cached(cache, p)]
    if missing:
        print(
            f"twinslice: warning: Solara assets missing from {cache} ({', '.join(missing)}); "
            "without internet the page stays blank. Run: python -m visualization.assets",
            file=sys.stderr,
        )


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the page until interrupted; returns the exit status of the server."""
    start = _start_of(args)
    check_port(args.host, args.port)
    _warn_missing_assets()
    print(
        f"twinslice viz: {start.scenario} on http://{args.host}:{args.port}/ (Ctrl-C stops)",
        flush=True,
    )
    proc = subprocess.Popen(server_command(args.host, args.port), env=server_env(start), cwd=ROOT)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
