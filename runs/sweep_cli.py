"""The ``twinslice sweep`` and ``twinslice report`` sub-commands (parsed in ``runs.cli``).

    twinslice sweep SCENARIO --grid key=v1,v2 [--grid ...] [--seeds N] [--set key=value ...]
                    [--backend local|ray] [--address ADDR] [--workers N] [--retries N]
                    [--resume] [--out DIR] [--quiet]
    twinslice report SWEEP_DIR [--metric M ...] [--by KEY] [--out DIR]

Exit status of ``sweep``: 0 all runs complete, 1 some runs failed after their retries (the
others' results stand), 2 bad input (nothing written), 130 interrupted (resumable).

Every check — scenario, grid, counts, the sweep folder (``runs.outdir``), the memory estimate
(``runs.resources``) — runs before a worker starts; the heavy modules (pandas, the backends)
are imported only after them.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runs.sweep import SweepOutcome

EXIT_FAILED_RUNS = 1
EXIT_INTERRUPTED = 130


def _usage_error(message: str) -> Exception:
    from runs.cli import UsageError

    return UsageError(message)


def _check_counts(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise _usage_error(f"--workers: need at least 1, got {args.workers}")
    if args.retries < 0:
        raise _usage_error(f"--retries: cannot be negative, got {args.retries}")
    if args.address and args.backend != "ray":
        raise _usage_error("--address: only with --backend ray")


def resume_command(args: argparse.Namespace, folder: object) -> str:
    """The command line that resumes this sweep."""
    argv = ["twinslice", "sweep", args.scenario]
    for item in args.overrides:
        argv += ["--set", item]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    for item in args.grid:
        argv += ["--grid", item]
    argv += ["--seeds", str(args.seeds), "--out", str(folder)]
    if args.backend == "ray":
        argv += ["--backend", "ray"] + (["--address", args.address] if args.address else [])
    return shlex.join([*argv, "--resume"])


def _print_outcome(outcome: SweepOutcome, args: argparse.Namespace) -> int:
    done = f"{outcome.ok}/{outcome.total} runs complete"
    if outcome.skipped:
        done += f" ({outcome.skipped} already were)"
    print(f"{done} in {outcome.folder}")
    if outcome.interrupted:
        print(
            f"twinslice: sweep interrupted; completed runs are kept. Resume with:\n  "
            f"{resume_command(args, outcome.folder)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if outcome.failed:
        print(
            f"twinslice: {len(outcome.failed)} run(s) failed after retries: "
            f"{', '.join(outcome.failed)} (see {outcome.folder / 'failures.json'}; "
            f"rerun with --resume to retry them)",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    print(f"results: {outcome.folder / 'results.parquet'}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    """Plan and validate every run, then run the sweep (``twinslice sweep``).

    SIGTERM (a batch scheduler ending the job) is handled like Ctrl-C: a resumable stop.
    """
    from runs import resources
    from runs.sweep import check_sweep_target, parse_grid, plan_sweep, run_sweep
    from runs.sweep_folder import SweepError

    _check_counts(args)
    plan = plan_sweep(args.scenario, parse_grid(args.grid), args.seeds, args.overrides, args.seed)
    folder = args.out if args.out is not None else plan.default_folder()
    try:
        check_sweep_target(folder, plan, args.resume, args.force)  # again in run_sweep
    except SweepError as exc:
        raise _usage_error(str(exc)) from None
    estimate = resources.estimate_sweep(plan, args.workers, args.backend)
    resources.guard(estimate, force=args.force)

    def announce() -> None:
        if not args.quiet:
            print(f"twinslice: {estimate.line()}", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = run_sweep(
            plan,
            folder,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            retries=args.retries,
            resume=args.resume,
            quiet=args.quiet,
            force=args.force,
            on_start=announce,
        )
    except Exception as exc:
        from runs.sweep_backends import BackendUnavailable

        if isinstance(exc, (SweepError, BackendUnavailable)):
            raise _usage_error(str(exc)) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return _print_outcome(outcome, args)


def cmd_report(args: argparse.Namespace) -> int:
    """Plot chosen metrics against a grid key with 95% CIs and print the table."""
    from runs.report import ReportError, format_table, report

    try:
        table, pngs = report(args.sweep_dir, args.metric, args.by, getattr(args, "out", None))
    except ReportError as exc:
        raise _usage_error(str(exc)) from None
    print(format_table(table))
    for path in pngs:
        print(f"wrote {path}")
    return 0
