"""Operating parameters of the twin protocol (seed 003, Sec. III.B-III.C, Fig. 5).

Timing of the messages between PLVNs, edge twins and the cloud twin, and the small learning
budget of each step. The seed gives none of these numbers; the defaults keep a 600 s highway
run to well under two minutes of one CPU core while every lifecycle stage happens several times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.meta.params import validate_fields

INMF = "cav-perception"  # the one intelligent network management function simulated


def _f(default: object, doc: str, rng: tuple[float, float] | None = None) -> Any:
    meta: dict[str, object] = {"doc": doc}
    if rng is not None:
        meta["range"] = rng
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class TwinOpsParams:
    """Edge/cloud twin operation (TOML section ``twin_ops``)."""

    report_period_s: float = _f(
        5.0, "PLVN -> edge twin trajectory report period (seed III.B: 'periodically')",
        (0.01, 1e6))
    buffer_slots: int = _f(300, "slots of true trajectory kept in an edge twin's data buffer",
                           (1, 10**7))
    emulation_slots: int = _f(
        15, "slots per emulated episode in the twin's emulation model (the PLVN's K is 75; "
        "short emulated episodes, many in parallel, keep each learning step cheap)",
        (1, 100_000))
    emulation_episodes: int = _f(8, "emulated episodes per batch of synthetic data (run in "
                                 "lock step)", (1, 10_000))
    epochs_per_step: int = _f(
        2, "PPO epochs per online adaptation step: the first on hybrid data (true + "
        "synthetic), the others on fresh synthetic data", (1, 10_000))
    min_true_slots: int = _f(
        1, "true slots under the latest dispatched model needed for the next online "
        "adaptation step (hybrid data, seed III.C.2)", (1, 100_000))
    meta_round_start_s: float = _f(15.0, "first meta-training round at this time", (0.0, 1e7))
    meta_round_period_s: float = _f(20.0, "the cloud twin opens a round this often",
                                    (0.01, 1e7))
    round_timeout_s: float = _f(
        4.0, "a round closes with the updates received so far after this long; later "
        "updates are counted as late and dropped", (0.0, 1e7))
    serve_after_rounds: int = _f(
        2, "meta-training rounds a new category's model gets before it is served", (1, 10**6))
    max_category_level: int = _f(
        3, "deepest category level that gets its own meta model", (0, 100))
    cycles_per_transition: float = _f(
        2e7, "edge CPU cycles per transition emulated or trained on; sets compute delays "
        "(chosen, not measured: ~0.1-1 s per learning step on a shared 50 Gcycle/s server)",
        (0.0, 1e15))
    compute_jitter: float = _f(
        1.0, "mean of the exponential extra factor on compute delays (other load on the "
        "edge server); makes stragglers", (0.0, 100.0))
    monitor_window: int = _f(3, "reports in the regret moving average of model monitoring",
                             (1, 100_000))
    monitor_threshold: float = _f(
        1.0, "relative rise of the monitored regret over its baseline that triggers "
        "individual model retraining (seed Sec. II: 'performance degradation')",
        (0.0, 1e6))
    regret_floor: float = _f(
        0.5, "added to the per-slot regret before the relative-rise test, so a near-zero "
        "baseline does not turn noise into retraining", (0.0, 1e6))
    retrain_on_category_change: bool = _f(
        True, "a PLVN whose category changes retrains its individual model (seed III.C.2)")
    refresh_after_versions: int = _f(
        10, "a cached meta model this many versions behind the cloud's is re-fetched "
        "(0: never)", (0, 10**9))

    hybrid_data: bool = _f(
        True, "online adaptation steps add synthetic (emulated) data to the PLVN's true "
        "transitions (seed III.C.2 'hybrid data collection mode'); false: true data only")
    prior_count: float = _f(
        1.0, "emulation model: Dirichlet pseudo-count per transition-matrix cell (1: "
        "Laplace's rule) and pseudo observations of each mu(k) at the overall mean",
        (1e-6, 1e6))
    prior_sigma_mhz: float = _f(
        0.5, "emulation model: prior guess of the radio's sigma (weight prior_count)",
        (1e-6, 1e3))
    emulator_min_samples: int = _f(
        300, "pair-transitions counted before the emulation model is tested for drift",
        (1, 10**9))
    emulator_drift_z: float = _f(
        6.0, "a report whose standardised surprise under the emulation model exceeds this "
        "signals a drift of the PLVN (about N(0,1) without drift; 6 keeps false alarms below "
        "1e-8 per report and chain)", (0.0, 1e6))
    retrain_on_emulator_drift: bool = _f(
        True, "a drift of the emulation model restarts the estimate and retrains the "
        "individual model from a re-fetched meta model (seed III.C.2)")

    def __post_init__(self) -> None:
        validate_fields(self)
