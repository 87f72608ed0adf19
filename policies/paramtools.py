"""Declaring and checking parameter dataclasses (shared by every params module).

A parameter is a dataclass field whose metadata carries its documentation and its allowed
``range`` (inclusive, applied to each element of a tuple) or ``choices``. The scenario loader
(``model.configtools``) reads the same metadata to validate TOML input.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any


def param(
    default: Any, doc: str, *, span: tuple | None = None, choices: tuple | None = None
) -> Any:
    """A dataclass field with its doc and its allowed range (``span``) or ``choices``."""
    meta: dict[str, object] = {"doc": doc}
    if span is not None:
        meta["range"] = span
    if choices is not None:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


def validate_fields(obj: object) -> None:
    """Check every dataclass field of ``obj`` against its metadata "range" / "choices".

    Tuple-valued fields are checked element by element and must not be empty.

    Raises:
        ValueError: naming the offending field.
    """
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        items = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and not value:
            raise ValueError(f"{f.name} must not be empty")
        for item in items:
            if "choices" in f.metadata and item not in f.metadata["choices"]:
                raise ValueError(f"{f.name}={item!r} not in {f.metadata['choices']}")
            if "range" in f.metadata:
                lo, hi = f.metadata["range"]
                if isinstance(item, bool) or not lo <= item <= hi:
                    raise ValueError(f"{f.name}={item!r} outside [{lo}, {hi}]")
