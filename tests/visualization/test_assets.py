"""Solara's offline asset cache: layout, idempotence, and a missing npm (no registry access)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from visualization import assets


def _npm_tarball(path: Path, files: dict[str, str]) -> Path:
    """A tarball shaped like ``npm pack``'s: every file under ``package/``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_the_cache_is_the_one_solara_serves(monkeypatch, tmp_path):
    from solara.server import settings

    monkeypatch.setattr(settings.assets, "proxy_cache_dir", tmp_path)
    assert assets.solara_cache_dir() == tmp_path


def test_unpack_puts_files_where_the_cdn_proxy_looks(tmp_path):
    ball = _npm_tarball(
        tmp_path / "x.tgz", {"package.json": json.dumps({"name": "requirejs"}), "require.js": "//"}
    )
    target = tmp_path / "cdn" / "requirejs@2.3.6"
    assets._unpack(ball, target)
    assert (target / "require.js").read_text() == "//"
    assert assets.is_cached(tmp_path / "cdn", "requirejs@2.3.6")
    assert not list((tmp_path / "cdn").glob(".unpack-*"))  # no staging left behind


def test_scoped_packages_nest_under_their_scope(tmp_path):
    ball = _npm_tarball(tmp_path / "y.tgz", {"package.json": "{}", "dist/main8.css": "a{}"})
    spec = "@widgetti/solara-vuetify-app@10.1.1"
    assets._unpack(ball, tmp_path / "cdn" / spec)
    assert (tmp_path / "cdn" / "@widgetti" / "solara-vuetify-app@10.1.1" / "dist").is_dir()


def test_nothing_to_do_when_everything_is_cached(tmp_path, monkeypatch, capsys):
    for spec in assets.CORE_PACKAGES:
        (tmp_path / spec).mkdir(parents=True)
        (tmp_path / spec / "package.json").write_text("{}")
    monkeypatch.setenv("PATH", "")  # npm unreachable: must not be needed
    assert assets.fill_cache(tmp_path, assets.CORE_PACKAGES) == []
    assert assets.main(["--cache-dir", str(tmp_path)]) == 0
    assert "already" in capsys.readouterr().out


def test_missing_npm_warns_and_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    assert assets.main(["--cache-dir", str(tmp_path)]) == 0
    assert "npm not found" in capsys.readouterr().err
    assert not any(assets.is_cached(tmp_path, s) for s in assets.CORE_PACKAGES)
