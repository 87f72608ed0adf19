"""``twinslice reproduce fig5|fig6``: run a figure reproduction and say where its files went.

fig5 is seed 000's Fig. 5 (``runs.reproduce.fig5``); fig6 is seed 003's Fig. 6
(``runs.reproduce.fig6``). Default output folders: ``runs/out/fig5`` and ``runs/out/fig6``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runs.simulate import DEFAULT_OUT


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Run ``args.figure`` with ``--out``, ``--quick``, ``--seeds`` and ``--quiet``."""
    from runs.cli import UsageError

    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    overrides = _fig5_overrides(args.figure, getattr(args, "overrides", []))
    out = Path(args.out) if args.out is not None else DEFAULT_OUT / args.figure
    progress = not args.quiet
    if args.figure == "fig5":
        from runs.reproduce.fig5 import reproduce_fig5

        reproduce_fig5(
            out, quick=args.quick, seeds=args.seeds, progress=progress, overrides=overrides
        )
    elif args.figure == "fig6":
        from runs.reproduce.fig6 import reproduce_fig6

        seeds = {} if args.seeds is None else {"seeds": args.seeds}
        reproduce_fig6(out, quick=args.quick, progress=progress, **seeds)
    else:
        raise UsageError(f"unknown figure {args.figure!r}; choose fig5 or fig6")
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    print(f"wrote {out}: {', '.join(files)}")
    return 0


def _fig5_overrides(figure: str, raw: list[str]) -> tuple[tuple[str, object], ...]:
    """``--set`` values for fig5, checked against campus-video before anything runs.

    The keys the experiment itself varies (scheme, users, seed, duration) are refused: changing
    them would quietly change the figure's design.
    """
    from model.config import load_scenario, parse_override
    from runs.cli import UsageError
    from runs.reproduce.fig5 import DESIGN_KEYS

    if not raw:
        return ()
    if figure != "fig5":
        raise UsageError("--set applies to fig5 only (fig6 does not run a scenario)")
    pairs = tuple(parse_override(text) for text in raw)
    for key, _ in pairs:
        if key in DESIGN_KEYS:
            raise UsageError(f"--set {key}: fig5 sets it per run; choose another key")
    load_scenario("campus-video", dict(pairs))  # a bad key or value stops here (exit 2)
    return pairs
