"""Reproduce Fig. 6 of seed 003 through the digital twins: scratch vs transfer vs meta learning.

Seed 003, Sec. IV: PPO models for task 1 (mu(k) = 5 MHz) trained over 500 epochs of 10
episodes (K = 75 slots): PPO-random (from scratch), PPO-TL (transferred from a model trained on
task 2, mu = 7 MHz) and PPO-ML (a meta model trained over tasks whose mu(k) is uniform over
{5, 6, 7} MHz, then adapted). Panel (a): average total reward per episode; panel (b): policy
entropy.

Here every scheme is a **scenario setting** of the ``highway-cav`` preset (``meta.init`` =
``scratch`` / ``transfer`` / ``meta``) and runs through the twins' Mesa-free cores, driven by
:mod:`policies.twins.driver` exactly as :mod:`agents.twins` drives them, every model and
gradient travelling as a message:

1. ``meta`` only -- offline planning stage (seed III.C.1): ``vehicles.clusters`` task PLVNs,
   each with its own random mu pattern, report one epoch of data (all SP) to their edge twins,
   which build their emulation models and register their attributes with the cloud twin;
   the cloud twin then runs ``meta.offline_iterations`` meta-training rounds: each samples
   ``meta.tasks_per_round`` PLVNs from its category list, ships the meta model (``meta_model``,
   purpose "train"), the edge twins emulate, adapt, emulate again and send the adaptation-loss
   gradient (or Reptile direction) back (``meta_update``), the cloud twin steps its
   :class:`~policies.meta.MetaLearner` (``meta.algorithm``).
2. ``transfer`` only -- the PLVN of task ``meta.transfer_source`` (task 2) trains from scratch
   through its edge twin for the same number of epochs (the "TL source" curve).
3. The task-1 PLVN comes online and reports; its edge twin initialises an individual model by
   ``meta.init`` (fetch of the meta model from the cloud twin / a ``transfer_request`` to the
   source twin / a fresh network), dispatches it, and adapts it for ``meta.online_adaptation_steps``
   steps, one per report of the PLVN (``twin_ops.report_period_s`` = 10 episodes of 75 s).
   The curve is what the PLVN earned in each epoch with the model it had.

The stages are functions of their own (:func:`build_rig`, :func:`offline_meta_training`,
:func:`meta_model`), and :func:`policy_slot_reward` evaluates any model in a task PLVN's world
(the learner-property tests of issue 13 use them; ``docs/twins.md``).

The ML scheme runs once per meta algorithm: ``maml`` (the authors' MAML-PPO) and ``reptile``
(seed footnote 1), unless ``--set meta.algorithm=...`` picks one. ``--set`` changes any other
key of the scenario (``vehicles.cav_pairs``, ``cav.*``, ``ppo.*``, ``meta.*``, ``twin_ops.*``,
``plvn.drift_*``); ``meta.init`` and ``scenario.seed`` are the figure's design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from model.config import ScenarioConfig, load_scenario, section_to_dict
from model.rng import RandomStreams
from policies.rl.cav_env import cav_slot, greedy_action, initial_state, random_task, task_pattern
from policies.rl.cav_params import CavParams
from policies.rl.ppo import make_policy
from policies.rl.ppo_net import Params, params_of
from policies.twins.attributes import ROOT
from policies.twins.driver import TaskPLVN, TwinNetwork, fixed_attributes
from policies.twins.emulator import model_error
from policies.twins.twin_cloud import CloudTwinCore
from policies.twins.twin_edge import EdgeTwinCore, TwinSettings
from policies.twins.twin_learning import actor_params
from policies.twins.twin_payloads import ModelShipment
from policies.twins.twin_plvn import drifted_cav

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

PRESET = "highway-cav"
SCHEMES = ("PPO-random", "PPO-TL", "PPO-ML (maml)", "PPO-ML (reptile)")
SOURCE = "PPO-random (task 2, TL source)"
INIT_OF = {"PPO-random": "scratch", "PPO-TL": "transfer", "PPO-ML": "meta"}
#: Keys the figure sets per run; ``--set`` refuses them (runs.reproduce.cli keeps a copy).
DESIGN_KEYS = ("meta.init", "scenario.seed")
#: The seed's Fig. 6 as settings of the preset (each can be changed with --set).
FIG6_SETTINGS: dict[str, Any] = {
    "vehicles.clusters": 20,  # meta-training task PLVNs in the cloud twin's category list
    "meta.online_adaptation_steps": 500,  # epochs (seed Sec. IV)
    "twin_ops.report_period_s": 750.0,  # one report = one epoch of 10 episodes x 75 slots
    "twin_ops.emulation_slots": 75,  # emulated episodes as long as the PLVN's (K)
    "twin_ops.emulation_episodes": 10,  # the seed's 10 episodes per batch
    "twin_ops.epochs_per_step": 1,  # one PPO update per epoch, as PPO-random
    "twin_ops.hybrid_data": False,  # all three schemes learn from the PLVN's true data only
    "twin_ops.max_category_level": 0,  # one meta model over the category list (seed Sec. IV)
    "twin_ops.buffer_slots": 7500,  # the twin keeps 10 epochs of data for its emulation model
}
QUICK_SETTINGS: dict[str, Any] = {
    "vehicles.clusters": 3,
    "meta.online_adaptation_steps": 4,
    "meta.offline_iterations": 2,
    "meta.tasks_per_round": 2,
    "twin_ops.report_period_s": 150.0,  # 2 episodes per epoch
    "twin_ops.emulation_episodes": 2,
}


@dataclass(frozen=True, slots=True)
class SchemeRun:
    """One scheme, one seed: the PLVN's curves and what the twins did."""

    reward: np.ndarray  # (epochs,)
    entropy: np.ndarray  # (epochs,)
    source_reward: np.ndarray | None  # PPO-TL: the source task's curve
    source_entropy: np.ndarray | None
    meta_losses: list[float]  # per closed meta round
    messages: dict[str, int]
    message_bytes: dict[str, int]
    emulator: list[dict[str, Any]]  # per epoch of the task-1 twin: model error, drift score
    events: dict[str, int]
    seconds: float


def scenario_for(scheme_init: str, seed_offset: int, quick: bool,
                 overrides: Mapping[str, Any] = (), algorithm: str | None = None
                 ) -> ScenarioConfig:
    """The preset with the figure's settings, the user's ``--set`` values and the scheme."""
    values: dict[str, Any] = {**FIG6_SETTINGS, **(QUICK_SETTINGS if quick else {})}
    values.update(dict(overrides))
    base = load_scenario(PRESET, values)
    values["meta.init"] = scheme_init
    values["scenario.seed"] = base.seed + seed_offset
    if algorithm is not None:
        values["meta.algorithm"] = algorithm
    return load_scenario(PRESET, values)


def episodes_per_epoch(cfg: ScenarioConfig) -> int:
    """Episodes of a PLVN between two reports (``report_period_s`` / (K slot_s))."""
    k = cfg.cav.slots_per_episode * cfg.scenario.slot_s
    return max(1, int(round(cfg.twin_ops.report_period_s / k)))


@dataclass(slots=True)
class TwinRig:
    """The twins' cores of one Fig. 6 run, wired by a :class:`TwinNetwork` (see the module doc).

    Every random stream is named after its user and drawn from ``cfg.seed``.
    """

    cfg: ScenarioConfig
    streams: RandomStreams
    module: Any
    cloud: CloudTwinCore
    settings: TwinSettings
    net: TwinNetwork
    episodes: int
    attrs: dict[str, Any]
    names: dict[str, int]

    def add(self, plvn: int, mu: np.ndarray, individual: bool,
            twin_settings: TwinSettings | None = None) -> None:
        """A task PLVN and its edge twin core."""
        cfg, streams = self.cfg, self.streams
        self.net.edges[plvn] = EdgeTwinCore(plvn, self.module, twin_settings or self.settings,
                                            streams.get(f"edge-twin-{plvn}"),
                                            streams.torch_generator(f"edge-twin-{plvn}"),
                                            individual)
        self.net.plvns[plvn] = TaskPLVN(plvn, mu, cfg.cav, self.module, self.episodes,
                                        cfg.ppo.action_threshold,
                                        streams.get(f"plvn-perception-{plvn}"),
                                        streams.torch_generator(f"plvn-policy-{plvn}"),
                                        self.attrs)

    def epoch(self, plvn: int) -> Any:
        """One epoch of PLVN ``plvn`` and its report to the twin (with all that follows)."""
        report, log = self.net.plvns[plvn].run_epoch(self.cfg.scenario.slot_s)
        self.net.report(plvn, report)
        return log


def build_rig(cfg: ScenarioConfig) -> TwinRig:
    """The cloud twin core and an empty network of task PLVNs for ``cfg``."""
    streams = RandomStreams(cfg.seed)
    n = cfg.cav.n_pairs
    module = make_policy(n * 6, n, cfg.ppo, streams.torch_generator(
        "twin-architecture", threads=cfg.scenario.torch_threads))
    cloud = CloudTwinCore(module, params_of(module), cfg.twins, cfg.meta, cfg.twin_ops,
                          streams.get("cloud-twin"))
    settings = TwinSettings(cfg.twins, cfg.meta, cfg.twin_ops, cfg.cav, cfg.ppo)
    m = cfg.vehicles.clusters
    names = {"task1": m, "task2": m + 1}
    return TwinRig(cfg, streams, module, cloud, settings, TwinNetwork(cloud, {}, {}, names),
                   episodes_per_epoch(cfg), fixed_attributes(cfg.cav), names)


def offline_meta_training(rig: TwinRig, tick: Callable[[], None] = lambda: None) -> int:
    """Seed III.C.1, offline planning: ``vehicles.clusters`` task PLVNs (each with its own
    random mu pattern) report one epoch (all SP) to their edge twins, then the cloud twin runs
    up to ``meta.offline_iterations`` meta-training rounds over them.

    Returns:
        The number of rounds run (fewer when the adaptation loss converged, seed Sec. II).
    """
    cfg = rig.cfg
    for i in range(cfg.vehicles.clusters):
        rig.add(i, random_task(cfg.cav, rig.streams.get(f"plvn-task-{i}")), False)
        rig.epoch(i)
    rounds = 0
    for r in range(cfg.meta.offline_iterations):
        if rig.net.tick(float(r)) == 0:
            break  # converged (seed Sec. II) or nothing to train
        rounds += 1
        tick()
    return rounds


def meta_model(rig: TwinRig) -> Params:
    """The cloud twin's super model as meta-trained so far (its initial network before any
    round); from ``twin_ops.serve_after_rounds`` rounds on, the tree serves this model."""
    return rig.cloud.learners[ROOT].state_dict()


@torch.no_grad()
def policy_slot_reward(rig: TwinRig, params: Params | None, plvns: Sequence[int],
                       episodes: int, stream: str) -> float:
    """Mean per-slot reward of ``params`` acting in PLVNs ``plvns``' worlds (their own mu).

    ``params=None``: the PLVNs run all SP, the default mode (the baseline; it earns 0).

    Each PLVN is evaluated by a fresh :class:`TaskPLVN` on the same world (CAV parameters and
    mu pattern) with fresh streams named after ``stream`` (the twins' streams are untouched;
    two calls with the same ``stream`` see the same worlds: common random numbers); decisions
    are sampled from the Gaussian policy as a PLVN does.
    """
    cfg, total = rig.cfg, []
    for plvn in plvns:
        world = rig.net.plvns[plvn]
        probe = TaskPLVN(plvn, world.mu, world.cav, rig.module, episodes,
                         cfg.ppo.action_threshold, rig.streams.fresh(f"{stream}-world-{plvn}"),
                         rig.streams.torch_generator(f"{stream}-policy-{plvn}"), rig.attrs)
        if params is not None:
            probe.install(ModelShipment("individual", ROOT, 0, actor_params(params)))
        _, log = probe.run_epoch(cfg.scenario.slot_s)
        total.append(log.reward / world.cav.slots_per_episode)
    return float(np.mean(total))


def run_scheme(cfg: ScenarioConfig, tick: Callable[[], None] = lambda: None,
               rig: TwinRig | None = None) -> SchemeRun:
    """Run one scheme of Fig. 6 (``cfg.meta.init``) through the twin cores; see the module doc.

    ``rig``: an empty :func:`build_rig` of ``cfg`` to run in (the caller keeps the twins, e.g.
    to evaluate their models afterwards); a fresh one by default.
    """
    t0 = time.perf_counter()
    rig = build_rig(cfg) if rig is None else rig
    cav, init, meta, cloud, net = cfg.cav, cfg.meta.init, cfg.meta, rig.cloud, rig.net
    settings, names, add, epoch = rig.settings, rig.names, rig.add, rig.epoch
    epochs = meta.online_adaptation_steps
    if init == "meta":  # offline planning stage: data collection, then meta-training rounds
        offline_meta_training(rig, tick)
    src_r = src_e = None
    if init == "transfer":
        if meta.transfer_source != "task2":
            raise ValueError(f"meta.transfer_source={meta.transfer_source!r}: Fig. 6 has one "
                             "source task, 'task2'")
        src = names["task2"]
        add(src, task_pattern("task2", cav), True,
            replace(settings, meta=replace(meta, init="scratch")))
        epoch(src)  # data collection under the default mode; the twin then starts its model
        src_logs = []
        for _ in range(epochs):
            src_logs.append(epoch(src))
            tick()
        src_r = np.array([lg.reward for lg in src_logs])
        src_e = np.array([lg.entropy for lg in src_logs])
    target = names["task1"]
    add(target, task_pattern("task1", cav), True, settings)
    plvn, twin = net.plvns[target], net.edges[target]
    epoch(target)
    logs, emu = [], []
    drifted = False
    for e in range(epochs):
        if cfg.plvn.drift_kind != "none" and plvn.time_s >= cfg.plvn.drift_at_s and not drifted:
            plvn.drift(drifted_cav(plvn.cav, cfg.plvn),
                       cfg.plvn.drift_mu_offset_mhz if cfg.plvn.drift_kind == "radio" else 0.0)
            drifted = True
        logs.append(epoch(target))
        _, mu_hat, sigma_hat, _ = twin._radio_model()
        score = twin.last_score
        emu.append({"epoch": e + 1, "time_s": plvn.time_s,
                    **model_error(twin.emulator, plvn.cav, mu_hat, sigma_hat, plvn.mu),
                    "drift_z": None if score is None else score.worst()[1],
                    "emulator_drifts": twin.emulator_drifts})
        tick()
    events: dict[str, int] = {}
    for core in net.edges.values():
        for ev in core.drain_events():
            events[ev.event] = events.get(ev.event, 0) + 1
    for _, ev in cloud.drain_events():
        events[f"cloud:{ev.event}"] = events.get(f"cloud:{ev.event}", 0) + 1
    return SchemeRun(np.array([lg.reward for lg in logs]), np.array([lg.entropy for lg in logs]),
                     src_r, src_e, [float(r["loss"]) for r in cloud.round_log],
                     dict(net.counts), dict(net.bytes), emu, events, time.perf_counter() - t0)


def greedy_oracle_reward(
    cav: CavParams, task: str, episodes: int, rng: np.random.Generator
) -> float:
    """Mean episode reward of the myopic per-slot oracle (a reference line, not a scheme)."""
    state = initial_state(np.tile(task_pattern(task, cav), (episodes, 1)), cav, rng)
    total = np.zeros(episodes)
    for _ in range(cav.slots_per_episode):
        reward, state, _ = cav_slot(state, greedy_action(state, cav), cav, rng)
        total += reward
    return float(total.mean())


def _frame(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Long table (epoch, scheme, seed, reward, entropy); epochs count from 1."""
    rows = []
    for scheme, (reward, entropy) in curves.items():
        epochs, seeds = reward.shape
        rows.append(
            pd.DataFrame(
                {
                    "epoch": np.repeat(np.arange(1, epochs + 1), seeds),
                    "scheme": scheme,
                    "seed": np.tile(np.arange(seeds), epochs),
                    "reward": reward.ravel(),
                    "entropy": entropy.ravel(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along axis 0 (shorter windows at the start)."""
    c = np.cumsum(np.asarray(x, float), axis=0)
    out = c.copy()
    out[window:] = c[window:] - c[:-window]
    counts = np.minimum(np.arange(1, len(x) + 1), window).reshape(-1, *([1] * (x.ndim - 1)))
    return out / counts


def _at(curve: np.ndarray, epoch: int) -> float | None:
    """Seed-mean value at a 1-based epoch, or None if the run is shorter."""
    return float(curve[epoch - 1].mean()) if epoch <= len(curve) else None


def summarise(curves: dict[str, tuple[np.ndarray, np.ndarray]], oracle: float) -> dict[str, Any]:
    """Rewards at epochs 10 / 50 / final, convergence speed and the seed's claims.

    "final" is the mean of the last 10% of epochs (at least 1); convergence is the first epoch
    at which a scheme's seed-mean reward, smoothed over ``max(1, epochs // 50)`` epochs,
    reaches 90% of PPO-random's final reward (``final - 0.1 |final|`` if that is negative).
    """
    epochs = len(curves["PPO-random"][0])
    tail, window = max(1, epochs // 10), max(1, epochs // 50)
    final_random = float(curves["PPO-random"][0][-tail:].mean())
    threshold = final_random - 0.1 * abs(final_random)
    out: dict[str, Any] = {
        "threshold_90pct_random_final": threshold,
        "greedy_oracle_reward_task1": oracle,
        "schemes": {},
    }
    for scheme, (reward, entropy) in curves.items():
        smooth = _smooth(reward.mean(axis=1), window)
        hit = np.flatnonzero(smooth >= threshold)
        out["schemes"][scheme] = {
            "reward_epoch_1": _at(reward, 1),
            "reward_epoch_10": _at(reward, 10),
            "reward_epoch_50": _at(reward, 50),
            "reward_final": float(reward[-tail:].mean()),
            "reward_final_per_seed": reward[-tail:].mean(axis=0).tolist(),
            "entropy_epoch_1": _at(entropy, 1),
            "entropy_final": float(entropy[-tail:].mean()),
            "epochs_to_90pct_random_final": int(hit[0]) + 1 if hit.size else None,
        }
    s = out["schemes"]
    inf = float("inf")
    speed = {k: s[k]["epochs_to_90pct_random_final"] or inf for k in s}
    claims: dict[str, bool] = {}
    for ml in (k for k in s if k.startswith("PPO-ML")):
        claims.update({
            f"{ml} converges faster than PPO-random": speed[ml] < speed["PPO-random"],
            f"{ml} converges faster than TL": speed[ml] < speed.get("PPO-TL", inf),
            f"{ml} final within 5% of random final": abs(s[ml]["reward_final"] - final_random)
            <= 0.05 * abs(final_random),
            f"TL final below {ml} final": "PPO-TL" in s
            and s["PPO-TL"]["reward_final"] < s[ml]["reward_final"],
            f"TL initial entropy below {ml} initial entropy": "PPO-TL" in s
            and (s["PPO-TL"]["entropy_epoch_1"] or 0.0) < (s[ml]["entropy_epoch_1"] or 0.0),
        })
    out["claims"] = claims
    return out


def plot_fig6(curves: dict[str, tuple[np.ndarray, np.ndarray]], oracle: float, path: Path) -> None:
    """Two panels, seed mean (smoothed) with a +-1 std band across seeds."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = len(curves["PPO-random"][0])
    window = max(1, epochs // 50)
    x = np.arange(1, epochs + 1)
    for scheme in curves:
        for ax, data in zip(axes, curves[scheme], strict=True):
            sm = _smooth(data, window)
            mean, std = sm.mean(axis=1), sm.std(axis=1)
            (line,) = ax.plot(x, mean, label=scheme)
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    axes[0].axhline(oracle, color="grey", ls="--", lw=1, label="myopic oracle")
    axes[0].set(
        xlabel="training epoch",
        ylabel="average total reward per episode",
        title=f"(a) reward (moving average over {window} epochs)",
    )
    axes[1].set(
        xlabel="training epoch", ylabel="policy entropy (nats per pair)", title="(b) policy entropy"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)




def _curves(runs: dict[str, list[SchemeRun]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(epochs, seeds) reward and entropy arrays per curve."""
    out = {k: (np.stack([r.reward for r in v], axis=1), np.stack([r.entropy for r in v], axis=1))
           for k, v in runs.items()}
    if "PPO-TL" in runs:
        tl = runs["PPO-TL"]
        out[SOURCE] = (np.stack([r.source_reward for r in tl], axis=1),  # type: ignore[misc]
                       np.stack([r.source_entropy for r in tl], axis=1))  # type: ignore[misc]
    return out


def reproduce_fig6(
    out_dir: Path, quick: bool = False, seeds: int = 3, progress: bool = True,
    overrides: Mapping[str, Any] | tuple[tuple[str, Any], ...] = (),
) -> dict:
    """Run the Fig. 6 experiment; write fig6.png, fig6.csv, emulator.csv, summary.json.

    Args:
        out_dir: Output folder (created).
        quick: 4 epochs of 2 episodes, 2 meta rounds over 3 task PLVNs (for tests).
        seeds: Independent seeds (``scenario.seed`` + 0, 1, ...) per scheme.
        progress: Show a tqdm progress bar.
        overrides: ``--set`` values (dotted keys); :data:`DESIGN_KEYS` are refused.

    Returns:
        The summary written to summary.json.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    overrides = dict(overrides)
    bad = sorted(set(overrides) & set(DESIGN_KEYS))
    if bad:
        raise ValueError(f"--set {bad[0]}: fig6 sets it per run")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    algorithms = ((overrides.pop("meta.algorithm"),) if "meta.algorithm" in overrides
                  else ("maml", "reptile"))
    plan: list[tuple[str, str, str | None]] = [("PPO-random", "scratch", None),
                                              ("PPO-TL", "transfer", None)]
    plan += [(f"PPO-ML ({a})", "meta", a) for a in algorithms]
    first = scenario_for("meta", 0, quick, overrides, algorithms[0])
    epochs = first.meta.online_adaptation_steps
    per_seed = sum(2 * epochs if init == "transfer" else epochs
                   + (first.meta.offline_iterations if init == "meta" else 0)
                   for _, init, _ in plan)
    runs: dict[str, list[SchemeRun]] = {name: [] for name, _, _ in plan}
    with tqdm(total=per_seed * seeds, desc="fig6", disable=not progress) as bar:
        for s in range(seeds):
            for name, init, alg in plan:
                cfg = scenario_for(init, s, quick, overrides, alg)
                runs[name].append(run_scheme(cfg, lambda: bar.update(1)))
    oracle_cfg = scenario_for("meta", 0, quick, overrides, algorithms[0])
    oracle = greedy_oracle_reward(oracle_cfg.cav, "task1", 20 if quick else 200,
                                  RandomStreams(oracle_cfg.seed).get("fig6-oracle"))
    curves = _curves(runs)
    _frame(curves).to_csv(out_dir / "fig6.csv", index=False)
    emu_rows = [{"scheme": name, "seed": s, **row} for name, rs in runs.items()
                for s, r in enumerate(rs) for row in r.emulator]
    pd.DataFrame(emu_rows).to_csv(out_dir / "emulator.csv", index=False)
    plot_fig6(curves, oracle, out_dir / "fig6.png")
    summary = summarise(curves, oracle)
    summary.update({
        "mode": "quick" if quick else "full",
        "preset": PRESET,
        "seeds": seeds,
        "scenario_seed": first.seed,
        "overrides": {k: v for k, v in overrides.items()},
        "epochs": epochs,
        "episodes_per_epoch": episodes_per_epoch(first),
        "slots_per_episode": first.cav.slots_per_episode,
        "cav_pairs": first.cav.n_pairs,
        "algorithms": list(algorithms),
        "timing_s": {name: [round(r.seconds, 2) for r in rs] for name, rs in runs.items()},
        "meta_training": {
            name: {"rounds": [len(r.meta_losses) for r in rs],
                   "first_loss": [r.meta_losses[0] if r.meta_losses else None for r in rs],
                   "last_loss": [r.meta_losses[-1] if r.meta_losses else None for r in rs]}
            for name, rs in runs.items() if name.startswith("PPO-ML")},
        "messages": {name: rs[0].messages for name, rs in runs.items()},
        "message_bytes": {name: rs[0].message_bytes for name, rs in runs.items()},
        "twin_events": {name: rs[0].events for name, rs in runs.items()},
        "config": {sec: section_to_dict(getattr(first, sec))
                   for sec in ("cav", "ppo", "meta", "twin_ops")},
    })
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
