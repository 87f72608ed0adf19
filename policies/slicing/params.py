"""Parameters of the level-two DAs' slicing policies (seed 000, Sec. III.D and Sec. IV).

One frozen dataclass, mounted by the lead as a section of the typed scenario config. Where the
seed gives a number it is the default and the field doc cites the section; every other default
is a documented standard choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from policies.paramtools import validate_fields as validate_params

MECHANISMS = ("game", "greedy", "kelly", "proportional-demand")
GAME_VARIANTS = ("congestion-potential", "capacity-coupled")
DYNAMICS = ("auto", "sequential", "damped-simultaneous")
# What "auto" means per mechanism (``dynamics_of``): each the dynamics measured to reach a
# certified equilibrium in every window of the presets (docs in ``dynamics_of``).
DEFAULT_DYNAMICS = {"game": "sequential", "kelly": "damped-simultaneous"}
PLAYER_ORDERS = ("fixed", "shuffled")
GAIN_CURVES = ("log", "saturating", "sigmoid")
GROUP_WEIGHTS = ("uniform", "ela")
PRICE_RULES = ("fixed", "worst-case", "market-clearing")
RRM_MAXIMA = ("grant", "pool")


@dataclass(frozen=True, slots=True)
class SlicingParams:
    """Configuration of demand abstraction, slice window and slice adjustment."""

    mechanism: str = field(
        default="game",
        metadata={
            "choices": MECHANISMS,
            "doc": "how slices are set each window: best-response slicing game (seed III.D.2), "
            "greedy by marginal QoE gain (seed III.D.1; the solver of the Sec. IV case study "
            "and of the w/o-DA benchmark), proportional-share bidding (Kelly 1997), or "
            "demand-proportional scaling",
        },
    )
    game_variant: str = field(
        default="congestion-potential",
        metadata={
            "choices": GAME_VARIANTS,
            "doc": "congestion price p_k = c_k * load_k (an exact potential game) or fixed "
            "unit prices with the capacity left by the others as the feasible set (a "
            "generalised game whose potential is the sum of utilities)",
        },
    )
    dynamics: str = field(
        default="auto",
        metadata={
            "choices": DYNAMICS,
            "doc": "Gauss-Seidel best response, or damped simultaneous (Jacobi) best response "
            "x <- (1 - eta) x + eta BR(x); auto = the mechanism's default: sequential for the "
            "game (an exact potential game: sequential best response climbs the potential), "
            "damped simultaneous for kelly (sequential best response in bids can cycle)",
        },
    )
    player_order: str = field(
        default="fixed",
        metadata={
            "choices": PLAYER_ORDERS,
            "doc": "order of sequential updates: by group index, or a fresh permutation each "
            "round drawn from the policy's Generator",
        },
    )
    gain_curve: str = field(
        default="log",
        metadata={
            "choices": GAIN_CURVES,
            "doc": "family of the groups' QoE-gain-vs-resource curves a*g(x/d): log(1+u) "
            "(concave), 1-exp(-u) (concave, saturating), or a sigmoid (non-concave, as the "
            "parameterised sigmoids of short-video satisfaction; see notes/video-qoe.md)",
        },
    )
    sigmoid_steepness: float = field(
        default=6.0,
        metadata={
            "range": (0.1, 100.0),
            "doc": "steepness s of the sigmoid curve sigma(s(u - 1)), midpoint at the demand",
        },
    )
    group_weight: str = field(
        default="ela",
        metadata={
            "choices": GROUP_WEIGHTS,
            "doc": "player weight w_i: 1, or the group's mean ELA / ela_reference so groups "
            "with stricter ELAs weigh more (seed III.D.2: 'groups with diverse ELA')",
        },
    )
    ela_reference: float = field(
        default=4.0,
        metadata={
            "range": (1.0, 5.0),
            "doc": "ELA that has weight 1; 4 is the centre of the seed's ELA ~ U[3, 5] (Sec. IV)",
        },
    )
    epsilon: float = field(
        default=1e-6,
        metadata={
            "range": (0.0, 1.0),
            "doc": "stop best-response dynamics once the Nash gap (largest possible gain of a "
            "unilateral deviation, in QoE units) is at most epsilon",
        },
    )
    max_rounds: int = field(
        default=200,
        metadata={
            "range": (1, 100_000),
            "doc": "best-response rounds per slice window (a round of messages costs well under "
            "a slot on the campus; kelly's damped rounds needed up to 98, measured)",
        },
    )
    damping: float = field(
        default=0.5,
        metadata={
            "range": (0.0, 1.0),
            "doc": "eta of damped simultaneous best response; in the capacity-coupled game it is "
            "capped at 1/n so every iterate stays within capacity",
        },
    )
    damping_backoff: float = field(
        default=0.8,
        metadata={
            "range": (0.0, 1.0),
            "doc": "damped simultaneous best response multiplies eta by this whenever a round "
            "raised the Nash gap (backtracking step control, as in diminishing-step "
            "best-response dynamics of concave games); 1 keeps eta constant. Measured on "
            "campus-video with mechanism=kelly: constant eta = 0.5 fell into a limit cycle in 2 "
            "of 5 windows; with the backoff (and damping_min) all 5 reached the equilibrium "
            "(docs/slicing.md)",
        },
    )
    damping_min: float = field(
        default=0.1,
        metadata={
            "range": (0.0, 1.0),
            "doc": "the backtracking of damping_backoff never takes eta below this (so the "
            "dynamics keep moving)",
        },
    )
    price_coefficients: tuple[float, ...] = field(
        default=(0.0,),
        metadata={
            "range": (0.0, 1e9),
            "doc": "c_k per resource pool (one value is broadcast): congestion price at full "
            "load, or the fixed unit price of the capacity-coupled game (QoE units per "
            "resource unit)",
        },
    )
    price_rule: str = field(
        default="market-clearing",
        metadata={
            "choices": PRICE_RULES,
            "doc": "congestion game only: keep c_k as given ('fixed'); raise it to "
            "max_i w_i sup G'_ik ('worst-case': no equilibrium and no sequential best-response "
            "iterate from a feasible start exceeds capacity); or raise it to the price at "
            "which the equilibrium load equals capacity ('market-clearing', concave curves; "
            "the sigmoid falls back to 'worst-case')",
        },
    )
    kelly_reserve_bid: float = field(
        default=1e-9,
        metadata={
            "range": (0.0, 1.0),
            "doc": "operator's reserve bid in proportional share so a lone bidder's best "
            "response exists (Kelly's sup is not attained at zero competition)",
        },
    )
    greedy_quanta: int = field(
        default=200,
        metadata={
            "range": (1, 1_000_000),
            "doc": "greedy slicing hands each pool out in this many equal quanta",
        },
    )
    grid_points: int = field(
        default=513,
        metadata={
            "range": (3, 100_000),
            "doc": "grid of non-concave best responses and certificates (then refined by root "
            "finding) and of the grid-DP optimum",
        },
    )
    resource_kinds: tuple[str, ...] = field(
        default=("comm", "compute"),
        metadata={
            "doc": "resource kinds, in the order of the demand records (seed III.C.2 also names "
            "caching and sensing)"
        },
    )
    local_kinds: tuple[str, ...] = field(
        default=("comm",),
        metadata={
            "doc": "kinds pooled per base station (radio); the others form one shared pool "
            "(the edge server of seed Sec. IV)"
        },
    )
    window_stages_min: tuple[float, ...] = field(
        default=(3.0, 6.0, 9.0, 12.0, 15.0),
        metadata={
            "range": (0.01, 1e6),
            "doc": "slice window sizes in minutes, shortest first (seed Sec. IV: five stages, "
            "W in {3, 6, 9, 12, 15} min)",
        },
    )
    stage_thresholds: tuple[float, ...] = field(
        default=(0.2, 0.4, 0.6, 0.8),
        metadata={
            "range": (0.0, 1.0),
            "doc": "increasing cuts of the dynamics index in [0, 1) between stages (one fewer "
            "than stages); equal-width by default, tuned online by QoE feedback",
        },
    )
    dynamics_weights: tuple[float, ...] = field(
        default=(1.0, 1.0, 1.0),
        metadata={
            "range": (0.0, 1e6),
            "doc": "weights of (variability of B and C, their rate of change, handover rate) "
            "in the dynamics index",
        },
    )
    variability_scale: float = field(
        default=0.1,
        metadata={
            "range": (1e-9, 1e6),
            "doc": "std of B, C (range [1, 2], seed Sec. IV) that maps to half dynamics",
        },
    )
    rate_scale: float = field(
        default=0.05,
        metadata={
            "range": (1e-9, 1e6),
            "doc": "mean |dB/dt|, |dC/dt| per minute that maps to half dynamics",
        },
    )
    handover_scale: float = field(
        default=0.1,
        metadata={
            "range": (1e-9, 1e6),
            "doc": "handovers per user per minute that map to half dynamics",
        },
    )
    ela_target_ratio: float = field(
        default=0.9,
        metadata={
            "range": (0.0, 1.0),
            "doc": "ELA achievable ratio (seed Fig. 5a) below which thresholds shift down, so "
            "windows shorten; 0.9 is a common experience-agreement target",
        },
    )
    feedback_step: float = field(
        default=0.05,
        metadata={"range": (0.0, 1.0), "doc": "threshold shift per QoE feedback"},
    )
    feedback_hysteresis: float = field(
        default=0.05,
        metadata={
            "range": (0.0, 1.0),
            "doc": "thresholds shift up (longer windows, less reconfiguration) only once the "
            "ratio exceeds target + hysteresis",
        },
    )
    threshold_bounds: tuple[float, ...] = field(
        default=(0.05, 0.95),
        metadata={"range": (0.0, 1.0), "doc": "(low, high) limits of tuned thresholds"},
    )

    rrm_maximum: str = field(
        default="grant",
        metadata={
            "choices": RRM_MAXIMA,
            "doc": "rRMPolicyMaxRatio of a slice (3GPP TS 28.541 RRMPolicyRatio) given its "
            "grant g: 'grant' = max g (the slice never exceeds what the game gave it; what an "
            "idle slice leaves goes only to users outside every slice), 'pool' = max 1 (idle "
            "capacity is shared among active slices in proportion to their headroom)",
        },
    )
    rrm_dedicated_fraction: float = field(
        default=0.0,
        metadata={
            "range": (0.0, 1.0),
            "doc": "rRMPolicyDedicatedRatio as a fraction of the minimum: dedicated resources "
            "are held for the slice even when it is idle (0: the whole minimum is prioritised, "
            "usable by others while the slice has no traffic)",
        },
    )
    rrm_floor_share: float = field(
        default=0.05,
        metadata={
            "range": (0.0, 1.0),
            "doc": "guaranteed floor of every slice in a pool the game sliced, as a share of the "
            "pool: a slice the game gave less (even 0) still gets this minimum (and maximum) "
            "while its users have traffic, taken pro rata from the others' minima. Our default "
            "5 % (3 ELA tiers: at most 15 % of a cell) is a guaranteed-bit-rate-like floor: "
            "about one 0.5 Mbit/s rung at 2 bit/s/Hz for a few users of a 10 MHz cell, so no "
            "user with a video is starved by a grant of 0; set 0 for 'a zero grant means zero'",
        },
    )

    def __post_init__(self) -> None:
        validate_params(self)
        if len(self.stage_thresholds) != len(self.window_stages_min) - 1:
            raise ValueError("stage_thresholds must have one entry fewer than window_stages_min")
        if list(self.stage_thresholds) != sorted(self.stage_thresholds):
            raise ValueError("stage_thresholds must be non-decreasing")
        if list(self.window_stages_min) != sorted(self.window_stages_min):
            raise ValueError("window_stages_min must be shortest first")
        if len(self.dynamics_weights) != 3 or sum(self.dynamics_weights) <= 0.0:
            raise ValueError("dynamics_weights needs three weights with a positive sum")
        lo_hi = self.threshold_bounds
        if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1]:
            raise ValueError("threshold_bounds must be (low, high) with low <= high")
        if not set(self.local_kinds) <= set(self.resource_kinds):
            raise ValueError("local_kinds must be a subset of resource_kinds")


def dynamics_of(params: SlicingParams) -> SlicingParams:
    """``params`` with ``dynamics="auto"`` resolved to the mechanism's default dynamics.

    game: sequential — the congestion-potential game is an exact potential game, and every
    sequential best response raises the potential, so the dynamics converge (Monderer and
    Shapley 1996). kelly: damped simultaneous — proportional share in bids is not a potential
    game, and sequential best response was measured to cycle with period 3 in 2 of 4 windows
    of campus-video (issue 11); damped simultaneous with a constant eta = 0.5 fell into a limit
    cycle in 2 of 5 windows of the default campus-video run, and with the backtracking step
    (``damping_backoff`` 0.5 on every rise of the gap, never below ``damping_min`` 0.1) reached
    the equilibrium in all 5 (17-98 rounds).
    """
    if params.dynamics != "auto":
        return params
    return replace(params, dynamics=DEFAULT_DYNAMICS.get(params.mechanism, "sequential"))
