"""Config sections owned by services and policies, mounted into the scenario config.

Each entry maps a TOML table name to the frozen parameter dataclass that reads it. Keeping the
list here (not in ``model.config``) lets policies define their own parameters next to the code
that uses them without ``model.config`` importing every policy.
"""

from __future__ import annotations

SERVICE_SECTIONS: dict[str, type] = {}
