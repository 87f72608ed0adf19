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
    out = Path(args.out) if args.out is not None else DEFAULT_OUT / args.figure
    progress = not args.quiet
    if args.figure == "fig5":
        from runs.reproduce.fig5 import reproduce_fig5

        reproduce_fig5(out, quick=args.quick, seeds=args.seeds, progress=progress)
    elif args.figure == "fig6":
        from runs.reproduce.fig6 import reproduce_fig6

        seeds = {} if args.seeds is None else {"seeds": args.seeds}
        reproduce_fig6(out, quick=args.quick, progress=progress, **seeds)
    else:
        raise UsageError(f"unknown figure {args.figure!r}; choose fig5 or fig6")
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    print(f"wrote {out}: {', '.join(files)}")
    return 0
