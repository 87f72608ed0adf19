"""``twinslice viz``: validate the scenario, then serve the SolaraViz page with ``solara run``.

Bad input (unknown scenario or key, bad value or file, a host that does not resolve or is not
this machine's, a port already taken) is reported in one line with exit status 2 before the
server starts. The scenario travels to the Solara process in
environment variables (:mod:`visualization.settings`). The server binds 127.0.0.1 unless
``--host`` asks for another address; telemetry is off and Solara's asset cache
(``python -m visualization.assets``) lets the page load without internet.
"""

from __future__ import annotations

import argparse
import errno
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
    try:
        is_file = Path(scenario).is_file()
    except (OSError, ValueError) as exc:  # too long a name, a loop of links
        raise ConfigError(f"{scenario}: not a usable scenario path ({exc})") from None
    if is_file:  # the server runs from the project root: make paths absolute
        scenario = str(Path(scenario).resolve())
    overrides = dict(parse_override(text) for text in args.overrides)
    start = VizStart(scenario, overrides, args.seed)
    model_params(start)  # loads and validates the scenario with every override
    return start


def bare_host(host: str) -> str:
    """``host`` without surrounding blanks or the brackets of ``[::1]`` (as uvicorn wants it)."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name


def _host_addresses(host: str) -> list[tuple[int, tuple]]:
    """The (family, sockaddr) pairs ``host`` resolves to (raises :class:`ConfigError`)."""
    name = bare_host(host)
    if not name:
        raise ConfigError("--host: empty; give an address such as 127.0.0.1")
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"--host {host}: cannot resolve this address ({why})") from None
    return [(family, addr) for family, *_, addr in infos if family in _FAMILIES]


_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def check_port(host: str, port: int) -> None:
    """Raise :class:`ConfigError` unless ``host:port`` can be bound now.

    A host that does not resolve, or is not an address of this machine, is named as
    ``--host``; a port out of range, taken or not allowed is named as ``--port``.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"--port: {port} is not a TCP port (1-65535)")
    addresses = _host_addresses(host)
    if not addresses:
        raise ConfigError(f"--host {host}: resolves to no IPv4 or IPv6 address")
    family, addr = addresses[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as uvicorn does: a port in TIME_WAIT after a previous server is free to reuse
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((addr[0], port, *addr[2:]))
        except OSError as exc:
            why = exc.strerror or str(exc)
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                raise ConfigError(
                    f"--host {host}: not an address of this machine, cannot listen there ({why})"
                ) from None
            raise ConfigError(f"--port: cannot listen on {host}:{port} ({why})") from None


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
    """Serve the page until interrupted; returns the exit status of the server.

    Everything is checked first, in one line each and exit status 2: the scenario and every
    ``--set``, ``--host`` (resolves, is an address of this machine) and ``--port`` (free).
    """
    start = _start_of(args)
    host = bare_host(args.host)
    check_port(host, args.port)
    _warn_missing_assets()
    shown = f"[{host}]" if ":" in host else host
    print(
        f"twinslice viz: {start.scenario} on http://{shown}:{args.port}/ (Ctrl-C stops)",
        flush=True,
    )
    proc = subprocess.Popen(server_command(host, args.port), env=server_env(start), cwd=ROOT)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
