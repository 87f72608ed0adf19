"""Per-user sums of the video service over a reporting window, and the features built from
them (rebuffering per minute, quality, throughput, swipe and switch rates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from model.services.video import VideoSlot


@dataclass(slots=True)
class VideoWindowStats:
    """Per-user sums over a reporting window (e.g. the MOS feedback window)."""

    elapsed_s: float
    played_s: np.ndarray
    rebuffer_s: np.ndarray
    startup_s: np.ndarray
    quality_s: np.ndarray
    bits: np.ndarray
    requests: np.ndarray
    switches: np.ndarray
    throughput_bit_s: np.ndarray

    @classmethod
    def empty(cls, n_users: int) -> VideoWindowStats:
        """A window with nothing accumulated yet."""
        return cls(0.0, *(np.zeros(n_users) for _ in range(8)))

    def add(self, slot: VideoSlot, throughput_bps: np.ndarray, dt_s: float) -> None:
        """Accumulate one slot (the throughput is the one passed to ``step_video``)."""
        self.elapsed_s += dt_s
        self.played_s += slot.played_s
        self.rebuffer_s += slot.rebuffer_s
        self.startup_s += slot.startup_s
        self.quality_s += slot.quality_s
        self.bits += slot.bits
        self.requests += slot.requests
        self.switches += slot.switches
        self.throughput_bit_s += np.asarray(throughput_bps, dtype=float) * dt_s

    def features(self) -> dict[str, np.ndarray]:
        """Window features: rebuffer (s per minute), quality Q, throughput (bit/s), rates.

        R is normalised per minute of window so that MOS does not depend on the window length.
        Q is the play-time-weighted mean quality (0 when nothing was played).
        """
        minutes = max(self.elapsed_s, 1e-12) / 60.0
        with np.errstate(invalid="ignore", divide="ignore"):
            quality = np.where(self.played_s > 0, self.quality_s / self.played_s, 0.0)
        return {
            "rebuffer": self.rebuffer_s / minutes,
            "quality": quality,
            "throughput": self.throughput_bit_s / max(self.elapsed_s, 1e-12),
            "swipe_rate": self.requests / minutes,
            "switch_rate": self.switches / minutes,
            "played_fraction": self.played_s / max(self.elapsed_s, 1e-12),
        }

    def reset(self) -> None:
        """Start a new window."""
        self.elapsed_s = 0.0
        for arr in (
            self.played_s,
            self.rebuffer_s,
            self.startup_s,
            self.quality_s,
            self.bits,
            self.requests,
            self.switches,
            self.throughput_bit_s,
        ):
            arr[:] = 0.0
