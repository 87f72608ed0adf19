"""Output folders that are never destroyed: checked before the work, written aside, renamed in.

Every command that writes a folder (``twinslice run``, ``sweep``, ``reproduce fig5|fig6``) goes
through :func:`stage` before it computes anything:

* ``--out`` must be missing, an empty folder, or a folder twinslice wrote itself (it holds the
  marker file :data:`MARKER`). A marked folder is replaced only when the caller says so
  (``--force``, or the command's own default folder under ``runs/out``); a sweep may also be
  resumed in place (``--resume``). Anything else — a file, a non-empty folder without the
  marker, a path through a file, a folder that cannot be read — is an :class:`OutDirError`
  (one line, exit status 2) and nothing on disk is touched.
* The outputs are written into a fresh hidden temporary sibling (``.NAME.twinslice-tmp-XXXX``;
  for an existing empty folder, a hidden temporary inside it, so the folder itself — a mount
  point, someone's working directory — stays the same folder). Creating it and writing a probe
  file there is the "can I write my output?" check; it fails in one line before the run for a
  read-only parent, ``--out FILE/sub`` or ``/proc/x``.
* :meth:`Staging.commit` renames the finished folder into place (a replaced marked folder is
  renamed aside first and removed only then, after checking its marker once more);
  :meth:`Staging.abort` removes the temporary and any parent folders it created, and nothing
  else. The kernel's ``rename`` never replaces a non-empty folder, so a folder that filled up
  while the run was going is not replaced either: the outputs stay in the temporary, named in
  the error.

Only the standard library is imported here: checks answer in milliseconds.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The marker file twinslice writes into every output folder it creates.
MARKER = ".twinslice-output"
#: Default root of output folders (git-ignored).
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
_PROBE = ".twinslice-probe"
_TMP_TAG = ".twinslice-tmp-"
_OLD_TAG = ".twinslice-old-"


class OutDirError(Exception):
    """An output folder that cannot or must not be used (one-line message, exit status 2)."""


def safe_name(text: str) -> str:
    """``text`` as one harmless path component (letters, digits, ``.``, ``_``, ``-``)."""
    cleaned = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "_", text)).lstrip(".")
    return cleaned[:80] or "scenario"


def default_run_dir(cfg: Any) -> Path:
    """``runs/out/<scenario>-s<seed>-<digest>``: the default folder of ``twinslice run``."""
    return DEFAULT_OUT / f"{safe_name(cfg.scenario.name)}-s{cfg.seed}-{cfg.digest()}"


def marker_text(command: str) -> str:
    """The marker's content: deterministic (outputs stay byte-identical run to run)."""
    return (
        f"twinslice output folder ({command})\n"
        "Written by twinslice; `--force` may replace this folder as a whole.\n"
    )


def is_output_folder(path: Path) -> bool:
    """Does ``path`` hold the twinslice marker (so twinslice may replace it when asked)?"""
    try:
        with (Path(path) / MARKER).open("rb") as fh:
            return fh.read(32).startswith(b"twinslice output folder")
    except OSError:
        return False


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def normalise(out: Path | str) -> Path:
    """An absolute path for ``out`` (a symlink as the last part stands for its target).

    Raises:
        OutDirError: for an empty path.
    """
    text = os.fspath(out)
    if not text.strip():
        raise OutDirError("--out: empty path; name a folder")
    path = Path(os.path.abspath(text))
    try:
        if path.is_symlink():
            path = path.resolve()
    except OSError as exc:
        raise OutDirError(f"--out {text}: cannot follow the link ({_why(exc)})") from None
    if path.parent == path:
        raise OutDirError(f"--out {text}: the root folder cannot be an output folder")
    return path


def _first_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (checked to be a folder)."""
    probe = path.parent
    while True:
        try:
            probe.lstat()
        except FileNotFoundError:
            probe = probe.parent
            continue
        except NotADirectoryError:  # a file further up; keep climbing to name it
            probe = probe.parent
            continue
        except OSError as exc:
            raise OutDirError(f"--out {path}: cannot use {probe} ({_why(exc)})") from None
        if not probe.is_dir():
            raise OutDirError(f"--out {path}: {probe} is a file, not a folder")
        return probe


def inspect(out: Path) -> str:
    """What ``out`` is now: ``"missing"``, ``"empty"`` or ``"marked"`` (changes nothing).

    Raises:
        OutDirError: a file, a non-empty folder without the marker, an unreadable folder, or a
            path that cannot be created (through a file, too long, ...).
    """
    try:
        out.lstat()
    except FileNotFoundError:
        _first_existing(out)
        return "missing"
    except NotADirectoryError:
        _first_existing(out)
        raise OutDirError(f"--out {out}: a parent is not a folder") from None  # pragma: no cover
    except OSError as exc:
        raise OutDirError(f"--out {out}: cannot use it ({_why(exc)})") from None
    if not os.path.isdir(out):
        kind = "a file" if os.path.isfile(out) else "not a folder"
        raise OutDirError(
            f"--out {out}: exists and is {kind}; nothing was changed — choose another --out"
        )
    try:
        with os.scandir(out) as entries:
            names = [e.name for e in entries]
    except OSError as exc:
        raise OutDirError(f"--out {out}: cannot read the folder ({_why(exc)})") from None
    if not names:
        return "empty"
    if MARKER in names and is_output_folder(out):
        return "marked"
    raise OutDirError(
        f"--out {out}: exists, is not empty and is not a twinslice output folder; "
        "nothing was changed — choose a new or empty folder"
    )


@dataclass
class Staging:
    """A temporary folder to write into, and how it becomes ``target``.

    Attributes:
        target: the output folder the user asked for (absolute).
        path: where to write now (the temporary, or ``target`` itself when resuming).
        mode: ``"new"`` (target missing), ``"into-empty"`` (target an empty folder),
            ``"replace"`` (a marked target, replaced on commit) or ``"in-place"`` (resume).
        created: parent folders created for it (removed again by :meth:`abort` if empty).
    """

    target: Path
    path: Path
    mode: str
    created: list[Path] = field(default_factory=list)
    done: bool = False

    def commit(self) -> Path:
        """Move the finished outputs into place; returns the target.

        Raises:
            OutDirError: the target changed under the run (the outputs stay in ``path``).
        """
        if self.done:
            return self.target
        try:
            if self.mode == "new":
                os.rename(self.path, self.target)
            elif self.mode == "into-empty":
                self._move_into_empty()
            elif self.mode == "replace":
                self._replace_marked()
        except OSError as exc:
            self.done = True  # keep the temporary: it holds the only copy of the outputs
            raise OutDirError(
                f"--out {self.target}: could not move the outputs into place ({_why(exc)}); "
                f"they are in {self.path}"
            ) from None
        self.done = True
        return self.target

    def _move_into_empty(self) -> None:
        names = sorted(os.listdir(self.path), key=lambda n: n == MARKER)  # the marker last
        clash = [n for n in names if os.path.lexists(self.target / n)]
        if clash:
            raise OSError(errno.EEXIST, f"{clash[0]} appeared in the folder meanwhile")
        for name in names:
            os.rename(self.path / name, self.target / name)
        os.rmdir(self.path)

    def _replace_marked(self) -> None:
        if not os.path.lexists(self.target):
            os.rename(self.path, self.target)
            return
        if not is_output_folder(self.target):
            raise OSError(errno.EEXIST, "the folder is no longer a twinslice output folder")
        old = _make_temporary(self.target.parent, f".{self.target.name}{_OLD_TAG}")
        os.rename(self.target, old)  # onto the empty placeholder: rename replaces it
        try:
            os.rename(self.path, self.target)
        except OSError:
            os.rename(old, self.target)  # put the old outputs back
            raise
        if is_output_folder(old):
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Remove what staging created (the temporary, new parents); never anything else."""
        if self.done:
            return
        self.done = True
        if self.mode != "in-place":
            shutil.rmtree(self.path, ignore_errors=True)
        _remove_created(self.created)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


def _remove_created(created: list[Path]) -> None:
    for parent in reversed(created):
        try:
            parent.rmdir()
        except OSError:
            break


def _make_parents(out: Path) -> list[Path]:
    missing = []
    probe = out.parent
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = probe.parent
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_created(created)
            raise OutDirError(f"--out {out}: cannot create {folder} ({_why(exc)})") from None
        created.append(folder)
    return created


def _make_temporary(where: Path, prefix: str) -> Path:
    """A new folder ``where/<prefix>XXXXXXXX`` with the umask's permissions (``mkdtemp``
    would make it private, and the output folder with it)."""
    for _ in range(100):
        path = where / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(where))  # pragma: no cover


def _probe(folder: Path, command: str) -> None:
    """Write and remove a probe file, then write the marker (raises OSError)."""
    probe = folder / _PROBE
    with probe.open("wb") as fh:
        fh.write(b"twinslice checks that it can write here\n" * 64)
        fh.flush()
        os.fsync(fh.fileno())
    probe.unlink()
    (folder / MARKER).write_text(marker_text(command))


def stage(
    out: Path | str,
    command: str,
    *,
    replace: bool = False,
    in_place: bool = False,
) -> Staging:
    """Check ``out`` and create the temporary folder the command writes into.

    Args:
        out: the output folder asked for.
        command: what writes it (named in the marker), e.g. ``"run"``.
        replace: a marked folder at ``out`` may be replaced (``--force``, or a default folder).
        in_place: a marked folder at ``out`` is written in place (``sweep --resume``).

    Raises:
        OutDirError: see :func:`inspect`; a marked folder without ``replace``/``in_place``; a
            folder that cannot be created or written (nothing is left behind).
    """
    target = normalise(out)
    state = inspect(target)
    if state == "marked" and in_place:
        try:
            _probe(target, command)
        except OSError as exc:
            raise OutDirError(f"--out {target}: cannot write in it ({_why(exc)})") from None
        return Staging(target, target, "in-place")
    if state == "marked" and not replace:
        raise OutDirError(
            f"--out {target}: holds earlier twinslice output; add --force to replace it "
            "or choose another --out"
        )
    created = _make_parents(target)
    where = target if state == "empty" else target.parent
    prefix = _TMP_TAG if state == "empty" else f".{target.name}{_TMP_TAG}"
    mode = {"missing": "new", "empty": "into-empty", "marked": "replace"}[state]
    try:
        tmp = _make_temporary(where, prefix)
    except OSError as exc:
        _remove_created(created)
        raise OutDirError(f"--out {target}: cannot write in {where} ({_why(exc)})") from None
    staging = Staging(target, tmp, mode, created)
    try:
        _probe(tmp, command)
    except OSError as exc:
        staging.abort()
        raise OutDirError(f"--out {target}: cannot write in {where} ({_why(exc)})") from None
    return staging


def check(out: Path | str, *, replace: bool = False, in_place: bool = False) -> Path:
    """:func:`stage`'s checks without creating anything (for callers that stage later)."""
    target = normalise(out)
    state = inspect(target)
    if state == "marked" and not (replace or in_place):
        raise OutDirError(
            f"--out {target}: holds earlier twinslice output; add --force to replace it "
            "or choose another --out"
        )
    return target
