"""``twinslice reproduce fig5|fig6``: run a figure reproduction and say where its files went.

fig5 is seed 000's Fig. 5 (``runs.reproduce.fig5``); fig6 is seed 003's Fig. 6
(``runs.reproduce.fig6``). Default output folders: ``runs/out/fig5`` and ``runs/out/fig6``.

Everything is checked before the experiment starts: ``--seeds``, every ``--set`` (against
campus-video) and the output folder (:mod:`runs.outdir`: created aside with a probe file; an
existing folder is replaced only if twinslice wrote it, with ``--force`` — or, for the default
folder, always). The figure is written into the temporary and renamed into place at the end.
Only light modules are imported until then: a rejected input loads neither torch nor pandas.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runs import outdir, resources

#: The keys fig5 varies itself (``runs.reproduce.fig5.DESIGN_KEYS``; a test keeps them equal).
#: Copied so that checking ``--set`` does not import the experiment (pandas, matplotlib).
FIG5_DESIGN_KEYS = ("scenario.scheme", "users.count", "scenario.seed", "scenario.duration_s")
#: fig6's design keys (``runs.reproduce.fig6.DESIGN_KEYS``) and the sections it reads.
FIG6_DESIGN_KEYS = ("meta.init", "scenario.seed")
FIG6_SECTIONS = ("vehicles", "cav", "ppo", "meta", "twins", "twin_ops", "plvn")


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Run ``args.figure`` with ``--out``, ``--quick``, ``--seeds``, ``--quiet``, ``--force``."""
    from runs.cli import UsageError

    if args.figure not in ("fig5", "fig6"):
        raise UsageError(f"unknown figure {args.figure!r}; choose fig5 or fig6")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    overrides = _fig5_overrides(args.figure, getattr(args, "overrides", []))
    default = args.out is None
    out = outdir.DEFAULT_OUT / args.figure if default else Path(args.out)
    force = bool(getattr(args, "force", False)) or default
    progress = not args.quiet
    outdir.check(out, replace=force)
    estimate = figure_estimate(args.figure, args.quick, args.seeds)
    resources.guard(estimate, force=bool(getattr(args, "force", False)))
    with outdir.stage(out, f"reproduce {args.figure}", replace=force) as staging:
        if progress:
            print(f"twinslice: {estimate.line()}", file=sys.stderr, flush=True)
        if args.figure == "fig5":
            from runs.reproduce.fig5 import reproduce_fig5

            reproduce_fig5(
                staging.path,
                quick=args.quick,
                seeds=args.seeds,
                progress=progress,
                overrides=overrides,
            )
        else:
            from runs.reproduce.fig6 import reproduce_fig6

            seeds = {} if args.seeds is None else {"seeds": args.seeds}
            reproduce_fig6(staging.path, quick=args.quick, progress=progress,
                           overrides=overrides, **seeds)
        folder = staging.commit()
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != outdir.MARKER)
    print(f"wrote {folder}: {', '.join(files)}")
    sys.stdout.flush()
    return 0


#: (figure, quick) -> (wall seconds per seed, seeds by default, peak MB): the budgets measured
#: in docs/fig5.md (13 min idle, 19.5 min busy, for 2 seeds; quick 25-45 s) and docs/fig6.md
#: (through the twins: ~31 min per seed busy; quick ~21 s per seed); memory: two campus-video workers of ~1.2 GB each
#: and the driver for fig5 (runs.resources), one torch process for fig6.
_BUDGETS = {
    ("fig5", False): (702.0, 2, 2800.0),  # measured 2026-12-03: 23 min 24 s for 2 seeds, idle
    ("fig5", True): (45.0, 1, 2800.0),
    ("fig6", False): (1835.0, 3, 1300.0),
    ("fig6", True): (21.0, 3, 1300.0),
}


def figure_estimate(figure: str, quick: bool, seeds: int | None) -> resources.Estimate:
    """Memory and wall time of a reproduction, scaled by ``--seeds``."""
    per_seed, default_seeds, memory = _BUDGETS[(figure, quick)]
    n = seeds or default_seeds
    what = f"reproduce {figure}{' --quick' if quick else ''} ({n} seed(s))"
    return resources.Estimate(what, memory, per_seed * n, resources.available_mb())


def _fig5_overrides(figure: str, raw: list[str]) -> tuple[tuple[str, object], ...]:
    """``--set`` values for fig5, checked against campus-video before anything runs.

    The keys the experiment itself varies (scheme, users, seed, duration) are refused: changing
    them would quietly change the figure's design.
    """
    from model.config import load_scenario, parse_override
    from runs.cli import UsageError

    if not raw:
        return ()
    pairs = tuple(parse_override(text) for text in raw)
    if figure == "fig6":
        for key, _ in pairs:
            if key in FIG6_DESIGN_KEYS:
                raise UsageError(f"--set {key}: fig6 sets it per run; choose another key")
            if key.split(".")[0] not in FIG6_SECTIONS:
                raise UsageError(f"--set {key}: fig6 reads only the sections "
                                 f"{', '.join(FIG6_SECTIONS)} of highway-cav")
        load_scenario("highway-cav", dict(pairs))  # a bad key or value stops here (exit 2)
        return pairs
    for key, _ in pairs:
        if key in FIG5_DESIGN_KEYS:
            raise UsageError(f"--set {key}: fig5 sets it per run; choose another key")
    load_scenario("campus-video", dict(pairs))  # a bad key or value stops here (exit 2)
    return pairs
