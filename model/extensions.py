"""Services, digital agents and twins plugged into the world, chosen by the scenario.

``build_extensions(model)`` returns None for a bare world (``scenario.service = "none"`` or
no DAs), otherwise an object with the hooks the model calls: extra fields of users' reports,
extra per-slot model reporters and extra per-user snapshot columns.
"""

from __future__ import annotations

from typing import Any


def build_extensions(model: Any) -> Any:
    """The extensions the scenario asks for (None for the bare world)."""
    return None
