"""The ``twinslice`` command line (DESIGN.md "Users' entry points").

    twinslice run [SCENARIO] [--set key=value ...] [--seed N] [--out DIR] [--force]
    twinslice sweep SCENARIO --grid key=v1,v2 ... [--seeds N] [--backend local|ray] [--out DIR]
    twinslice report SWEEP_DIR [--metric M ...] [--by KEY]
    twinslice reproduce fig5|fig6 [--out DIR] [--quick] [--set KEY=VALUE ...] [--force]
    twinslice viz [SCENARIO] [--port P] [--host H]
    twinslice keys | presets

Bad input (unknown scenario or key, wrong type, value out of range, unreadable or undecodable
file, an output folder that is not twinslice's or cannot be written, a port or host that cannot
be served, a run too big for the free memory) prints one line naming the problem and exits
with status 2, before anything runs or is written. An existing output folder is replaced only
when twinslice wrote it and ``--force`` is given (``runs.outdir``). A real bug prints one line
and the path of a saved traceback, exit status 1.

Imports are lazy: ``--help``, ``keys``, ``presets`` and every rejected input load neither
torch nor Mesa (``tests/runs/test_bad_inputs.py`` checks ``sys.modules``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from model.configtools import ConfigError
from runs.outdir import OutDirError

EXIT_USAGE = 2
EXIT_BUG = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a tool killed by the signal would return


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _scenario_arg(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("empty scenario; give a preset name or a .toml path")
    return text


def _add_scenario_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    if required:
        p.add_argument(
            "scenario", type=_scenario_arg, help="preset name or path to a scenario TOML"
        )
    else:
        p.add_argument(
            "scenario",
            type=_scenario_arg,
            nargs="?",
            default="campus-video",
            help="preset name or path to a scenario TOML (default: campus-video)",
        )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set users.count=24 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=None, help="replace scenario.seed")


_FORCE_HELP = (
    "replace an earlier twinslice output folder at --out, and run even if the memory "
    "estimate exceeds the free memory"
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twinslice", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its outputs")
    _add_scenario_args(run)
    run.add_argument("--out", type=str, default=None, help="output folder (default runs/out/...)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, no estimate line")
    run.add_argument("--force", action="store_true", help=_FORCE_HELP)

    sweep = sub.add_parser("sweep", help="run a grid of scenarios x seeds")
    _add_scenario_args(sweep, required=True)
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a swept key and its values (repeatable; cartesian product)",
    )
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per grid point")
    sweep.add_argument("--backend", choices=("local", "ray"), default="local")
    sweep.add_argument("--address", default=None, help="Ray cluster address (default: local Ray)")
    sweep.add_argument(
        "--workers", type=int, default=None, help="parallel workers (default: all cores)"
    )
    sweep.add_argument("--retries", type=int, default=1, help="retries of a failed run")
    sweep.add_argument("--resume", action="store_true", help="skip runs already complete")
    sweep.add_argument("--out", type=str, default=None, help="sweep folder")
    sweep.add_argument("--quiet", action="store_true")
    sweep.add_argument(
        "--force",
        action="store_true",
        help="start afresh over an earlier twinslice sweep folder (replaced when done)",
    )

    report = sub.add_parser("report", help="plot and tabulate a sweep's results")
    report.add_argument("sweep_dir", type=Path)
    report.add_argument("--metric", action="append", default=[], help="summary metric(s) to plot")
    report.add_argument("--by", default=None, help="parameter on the x axis")
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the PNGs and stats.csv (default SWEEP_DIR/report)",
    )

    rep = sub.add_parser("reproduce", help="reproduce a figure of the seed papers")
    rep.add_argument("figure", choices=("fig5", "fig6"))
    rep.add_argument("--out", type=str, default=None)
    rep.add_argument("--quick", action="store_true", help="a small, fast version (for tests)")
    rep.add_argument("--seeds", type=int, default=None, help="number of seeds")
    rep.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fig5 only: override a campus-video key in every run (repeatable)",
    )
    rep.add_argument("--quiet", action="store_true")
    rep.add_argument(
        "--force", action="store_true", help="replace an earlier twinslice output folder"
    )

    viz = sub.add_parser("viz", help="serve the Mesa visual server on 127.0.0.1")
    _add_scenario_args(viz)
    viz.add_argument("--port", type=int, default=8765)
    viz.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")

    sub.add_parser("keys", help="list every scenario key with its default and allowed values")
    sub.add_parser("presets", help="list the scenario presets")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    """Validate, check the output folder and the resources, run, write, summarise."""
    from model.config import load_scenario
    from runs import outdir, resources

    cfg = load_scenario(args.scenario, args.overrides, args.seed)
    default = args.out is None
    out = outdir.default_run_dir(cfg) if default else args.out
    # the default folder is named by the config digest: same name, same outputs — replaced
    outdir.check(out, replace=args.force or default)
    estimate = resources.estimate(cfg)
    resources.guard(estimate, force=args.force)
    t0 = time.perf_counter()
    with outdir.stage(out, "run", replace=args.force or default) as staging:
        if not args.quiet:
            print(f"twinslice: {estimate.line()}", file=sys.stderr, flush=True)
        from runs.simulate import simulate_into

        summary = simulate_into(cfg, staging.path, progress=not args.quiet)
        folder = staging.commit()
    wall = time.perf_counter() - t0
    from runs.report import run_summary_lines

    print(f"wrote {folder}")
    keys = ("scenario", "seed", "slots", "users", "mean_throughput_mbps", "handovers")
    print(json.dumps({k: summary.get(k) for k in keys}))
    print("\n".join(run_summary_lines(summary, folder, wall)))
    return 0


def _cmd_keys(_: argparse.Namespace) -> int:
    from model.config import describe_keys

    for key, tp, default, doc in describe_keys():
        print(f"{key:42s} {tp:14s} {default!s:>14s}  {doc}")
    return 0


def _cmd_presets(_: argparse.Namespace) -> int:
    from model.config import available_presets

    print("\n".join(available_presets()))
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "keys":
        return _cmd_keys(args)
    if args.command == "presets":
        return _cmd_presets(args)
    if args.command == "sweep":
        from runs.sweep_cli import cmd_sweep

        return cmd_sweep(args)
    if args.command == "report":
        from runs.sweep_cli import cmd_report

        return cmd_report(args)
    if args.command == "reproduce":
        from runs.reproduce.cli import cmd_reproduce

        return cmd_reproduce(args)
    if args.command == "viz":
        from visualization.serve import cmd_viz

        return cmd_viz(args)
    raise UsageError(f"unknown command {args.command}")  # pragma: no cover


def one_line(text: str) -> str:
    """``text`` with every control character escaped, so a message is one line whatever it
    quotes (a TOML key with a newline, an undecodable file name)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def _error(message: str) -> None:
    print(f"twinslice: error: {one_line(message)}", file=sys.stderr, flush=True)


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input (exit 2); the sweep's own only if it was imported."""
    kinds: list[type[BaseException]] = [ConfigError, UsageError, OutDirError]
    for module, name in (
        ("runs.sweep_folder", "SweepError"),
        ("runs.sweep_backends", "BackendUnavailable"),
        ("runs.report", "ReportError"),
        ("runs.resources", "ResourceError"),
    ):
        if module in sys.modules:
            kinds.append(getattr(sys.modules[module], name))
    return tuple(kinds)


def _quiet_broken_pipe() -> int:
    """The reader went away (``twinslice keys | head -1``): stop without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's exit-time flush must not fail again
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_BROKEN_PIPE


def _report_bug(exc: BaseException) -> int:
    """A real bug: one line naming it and where the traceback was saved, exit 1."""
    import tempfile
    import traceback

    where = ""
    try:
        fd, path = tempfile.mkstemp(prefix="twinslice-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"twinslice {' '.join(sys.argv[1:])}\n\n")
            fh.write("".join(traceback.format_exception(exc)))
        where = f"; traceback saved to {path}"
    except OSError:
        pass
    first = one_line(str(exc).splitlines()[0] if str(exc) else "")
    print(
        f"twinslice: internal error: {type(exc).__name__}: {first}{where} (please report it)",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_BUG


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``twinslice`` console script."""
    try:
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
    previous = _stop_on_sigterm()
    try:
        args = build_parser().parse_args(argv)
        code = _dispatch(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("twinslice: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, _usage_errors()):
            _error(str(exc))
            return EXIT_USAGE
        return _report_bug(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> object:
    """SIGTERM (``kill``, a batch scheduler, ``timeout``) stops like Ctrl-C: temporaries are
    removed on the way out. Returns the previous handler (None off the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread
        return None


if __name__ == "__main__":
    sys.exit(main())
