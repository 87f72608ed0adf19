"""The ``twinslice`` command line (DESIGN.md "Users' entry points").

    twinslice run [SCENARIO] [--set key=value ...] [--seed N] [--out DIR]
    twinslice sweep SCENARIO --grid key=v1,v2 ... [--seeds N] [--backend local|ray] [--out DIR]
    twinslice report SWEEP_DIR [--metric M ...] [--by KEY]
    twinslice reproduce fig5|fig6 [--out DIR] [--quick] [--set KEY=VALUE ...]
    twinslice viz [SCENARIO] [--port P] [--host H]
    twinslice keys | presets

Bad input (unknown scenario or key, wrong type, value out of range, unreadable file) prints one
line naming the problem and exits with status 2, before anything runs or is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.config import ConfigError, available_presets, describe_keys, load_scenario

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _add_scenario_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    if required:
        p.add_argument("scenario", help="preset name or path to a scenario TOML")
    else:
        p.add_argument(
            "scenario",
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twinslice", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its outputs")
    _add_scenario_args(run)
    run.add_argument("--out", type=Path, default=None, help="output folder (default runs/out/...)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

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
    sweep.add_argument("--out", type=Path, default=None, help="sweep folder")
    sweep.add_argument("--quiet", action="store_true")

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
    rep.add_argument("--out", type=Path, default=None)
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

    viz = sub.add_parser("viz", help="serve the Mesa visual server on 127.0.0.1")
    _add_scenario_args(viz)
    viz.add_argument("--port", type=int, default=8765)
    viz.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")

    sub.add_parser("keys", help="list every scenario key with its default and allowed values")
    sub.add_parser("presets", help="list the scenario presets")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from runs.simulate import run_scenario

    cfg = load_scenario(args.scenario, args.overrides, args.seed)
    out, summary = run_scenario(cfg, args.out, progress=not args.quiet)
    print(f"wrote {out}")
    keys = ("scenario", "seed", "slots", "users", "mean_throughput_mbps", "handovers")
    print(json.dumps({k: summary.get(k) for k in keys}))
    return 0


def _cmd_keys(_: argparse.Namespace) -> int:
    for key, tp, default, doc in describe_keys():
        print(f"{key:42s} {tp:14s} {default!s:>14s}  {doc}")
    return 0


def _cmd_presets(_: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``twinslice`` console script."""
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except (ConfigError, UsageError) as exc:
        print(f"twinslice: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("twinslice: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
