"""Typed, immutable configuration sections: validation and coercion.

Every section of a scenario is a frozen dataclass whose fields carry their constraints in
``field(metadata=...)``:

* ``"range": (lo, hi)`` – inclusive numeric bounds (also applied to every element of a tuple);
* ``"choices": (...)`` – the allowed values of a string (or of each element of a tuple);
* ``"doc": "..."`` – what the field means, with the seed section it comes from;
* ``"from": "section.key"`` – not a key of its own: the value is copied from that key of
  another section (one key per quantity; :func:`model.config.config_from_dict` fills it).

:func:`build_section` turns a plain mapping (parsed TOML) into such a dataclass, rejecting
unknown keys, wrong types and out-of-range values with a :class:`ConfigError` whose message is
one line naming the key and what is allowed. Nothing here knows about networks.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A scenario key, type or value that is not allowed (message: one line naming the key)."""


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        inner = args[0].__name__ if args else "value"
        return f"list of {inner}"
    return getattr(tp, "__name__", str(tp))


def _coerce_scalar(value: Any, tp: type, key: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f"{key}: must be a finite number, got {value}")
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - section authors use simple types only
        raise ConfigError(f"{key}: unsupported field type {tp!r}")
    raise ConfigError(f"{key}: expected {tp.__name__}, got {type(value).__name__} {value!r}")


def _check_constraints(value: Any, meta: Mapping[str, Any], key: str) -> None:
    rng = meta.get("range")
    if rng is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = rng
        if not (lo <= value <= hi):
            raise ConfigError(f"{key}: {value} is out of range; allowed {lo} .. {hi}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {allowed}")


def coerce_value(value: Any, tp: Any, meta: Mapping[str, Any], key: str) -> Any:
    """Coerce ``value`` to the annotated type ``tp`` and check the field's constraints."""
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {type(value).__name__}")
        args = typing.get_args(tp)
        elem_types = [args[0]] * len(value) if (len(args) == 2 and args[1] is Ellipsis) else args
        if len(elem_types) != len(value):
            raise ConfigError(f"{key}: expected {len(elem_types)} values, got {len(value)}")
        items = []
        for i, (item, et) in enumerate(zip(value, elem_types, strict=True)):
            coerced = _coerce_scalar(item, et, f"{key}[{i}]")
            _check_constraints(coerced, meta, f"{key}[{i}]")
            items.append(coerced)
        return tuple(items)
    coerced = _coerce_scalar(value, tp, key)
    _check_constraints(coerced, meta, key)
    return coerced


def build_section(cls: type, data: Mapping[str, Any] | None, prefix: str) -> Any:
    """Build the frozen dataclass ``cls`` from ``data``, validating every key.

    Args:
        cls: a dataclass type whose fields carry ``range``/``choices`` metadata.
        data: the parsed TOML table (missing keys take the dataclass defaults).
        prefix: the dotted name of the section, used in error messages.

    Raises:
        ConfigError: on an unknown key, a wrong type or a value out of range.
    """
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        allowed = ", ".join(sorted(n for n, f in fields.items() if "from" not in f.metadata))
        raise ConfigError(f"{prefix}.{unknown[0]}: unknown key; allowed keys: {allowed}")
    for name in sorted(data):
        if "from" in fields[name].metadata:
            raise ConfigError(f"{prefix}.{name}: not a key of its own; set "
                              f"{fields[name].metadata['from']}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = coerce_value(value, hints[name], fields[name].metadata, f"{prefix}.{name}")
    try:
        section = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix}: {exc}") from None
    check = getattr(section, "check", None)
    if callable(check):
        problem = check()
        if problem:
            raise ConfigError(f"{prefix}.{problem}")
    # Defaults are validated too, so a bad default in a section cannot slip through.
    for name, f in fields.items():
        if name not in kwargs:
            coerce_value(getattr(section, name), hints[name], f.metadata, f"{prefix}.{name}")
    return section


def section_to_dict(section: Any) -> dict[str, Any]:
    """Plain-data view of a section (tuples become lists, for TOML/JSON writers)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        if "from" in f.metadata:  # a copy of another section's key, not a key here
            continue
        value = getattr(section, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def describe_section(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, doc) per field: used by ``twinslice keys`` and the docs."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "from" in meta:
            continue
        allowed = meta.get("choices") or meta.get("range") or ""
        doc = meta.get("doc", "")
        if allowed:
            doc = f"{doc} [allowed: {allowed}]"
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append((f.name, _describe(hints[f.name]), default, doc))
    return rows
