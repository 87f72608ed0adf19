"""The slicing controller's window records, kept importable here: they live in
:mod:`policies.slicing.window_state` (Mesa-free)."""

from __future__ import annotations

from policies.slicing.window_state import Registry, WindowOutcome, WindowState

__all__ = ["Registry", "WindowOutcome", "WindowState"]
