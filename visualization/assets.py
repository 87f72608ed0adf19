"""Fill Solara's front-end asset cache from the npm registry, so the page works offline.

A Solara page loads its front end (Vue app, require.js, fonts, the grid layout Mesa's
SolaraViz uses) from a CDN through the server's ``/_solara/cdn/`` proxy, which serves
``<cache>/<package>@<version>/<file>`` when it is there and fetches it from the CDN otherwise.
With no internet the CDN is unreachable and the page stays blank (shared/notes/mesa-3.5.md).
The npm registry is reachable, so this module packs each package with ``npm pack`` and unpacks
it into that cache, which is ``solara.server.settings.assets.proxy_cache_dir``
(``$VIRTUAL_ENV/share/solara/cdn`` unless ``SOLARA_ASSETS_PROXY_CACHE_DIR`` says otherwise).

    python -m visualization.assets [--vega] [--cache-dir DIR]

Idempotent: a package already unpacked (its ``package.json`` is present) is skipped. Without
``npm`` it warns and exits 0 (the page then needs the CDN).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: The packages solara 1.64's page template and Mesa's grid layout request, as
#: ``<name>@<version>`` exactly as they appear in the requested URLs.
CORE_PACKAGES: tuple[str, ...] = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
)
#: What solara's vega-lite widget requests (only needed by altair charts).
VEGA_PACKAGES: tuple[str, ...] = ("vega@5", "vega-lite@5", "vega-embed@6")


def solara_cache_dir() -> Path:
    """The directory Solara's CDN proxy serves from (and writes to)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def is_cached(cache: Path, spec: str) -> bool:
    """Whether package ``spec`` (``name@version``) is already unpacked under ``cache``."""
    return (cache / spec / "package.json").is_file()


def _npm_pack(spec: str, workdir: Path) -> Path:
    """Download the tarball of ``spec`` into ``workdir`` with ``npm pack``; return its path."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    filename = json.loads(out.stdout)[0]["filename"]
    return workdir / Path(filename).name


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball (whose files sit under ``package/``) into ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        root = staging / "package"
        if not root.is_dir():  # a few packages use another top folder name
            (root,) = [p for p in staging.iterdir() if p.is_dir()]
        if target.exists():
            shutil.rmtree(target)
        os.replace(root, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fill_cache(cache: Path, specs: tuple[str, ...]) -> list[str]:
    """Pack and unpack every package of ``specs`` missing from ``cache``.

    Args:
        cache: Solara's asset cache directory.
        specs: packages as ``name@version``.

    Returns:
        The packages that were added (empty when all were there).

    Raises:
        subprocess.CalledProcessError: if ``npm pack`` fails (e.g. the registry is unreachable).
    """
    added: list[str] = []
    missing = [s for s in specs if not is_cached(cache, s)]
    if not missing:
        return added
    with tempfile.TemporaryDirectory(prefix="twinslice-npm-") as tmp:
        for spec in missing:
            _unpack(_npm_pack(spec, Path(tmp)), cache / spec)
            added.append(spec)
    return added


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m visualization.assets", description=__doc__)
    parser.add_argument("--vega", action="store_true", help="also cache vega/vega-lite/vega-embed")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="asset cache (default: the one the installed Solara serves)",
    )
    args = parser.parse_args(argv)
    cache = args.cache_dir or solara_cache_dir()
    specs = CORE_PACKAGES + (VEGA_PACKAGES if args.vega else ())
    if all(is_cached(cache, s) for s in specs):
        print(f"solara assets: all {len(specs)} packages already in {cache}")
        return 0
    if shutil.which("npm") is None:
        print(
            "warning: npm not found; Solara's assets are not cached and the page will need "
            "the CDN (install nodejs/npm and re-run python -m visualization.assets)",
            file=sys.stderr,
        )
        return 0
    try:
        added = fill_cache(cache, specs)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-1:] or [str(exc)]
        print(f"error: npm pack failed: {detail[0]}", file=sys.stderr)
        return 1
    print(f"solara assets: added {', '.join(added)} to {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
