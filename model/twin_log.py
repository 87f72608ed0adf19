"""Records of the vehicular extension: the twins' lifecycle log and one slot of every cluster."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from policies.twins.attributes import CategoryKey, key_str

TWIN_COLUMNS = ("time_s", "twin", "plvn", "event", "category", "details")


class TwinLog:
    """The lifecycle events of all twins, in the order they happened."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, int, int, str, str, str]] = []
        self.counts: Counter[str] = Counter()

    def add(
        self,
        time_s: float,
        twin: int | None,
        plvn: int | None,
        event: str,
        category: CategoryKey | None,
        details: str,
    ) -> None:
        cat = "" if category is None else key_str(category)
        self.rows.append(
            (
                float(time_s),
                -1 if twin is None else int(twin),
                -1 if plvn is None else int(plvn),
                event,
                cat,
                details,
            )
        )
        self.counts[event] += 1

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(TWIN_COLUMNS))


@dataclass(frozen=True, slots=True)
class SlotRecord:
    """What every cluster did in one slot (arrays over clusters)."""

    bandwidth: np.ndarray
    objects: np.ndarray
    distances: np.ndarray
    prev_mode: np.ndarray
    action: np.ndarray
    logprob: np.ndarray
    reward: np.ndarray
    version: np.ndarray
    vehicles: np.ndarray
