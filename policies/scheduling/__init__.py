"""Tailored orchestration schedulers of the level-one DAs (seed 000, Sec. III.C.3 Fig. 4, Sec. IV).

Public API: grouping users by QoE model structure, the branching dueling Q-network (BDQN) and its
trainer, the DAs' group-level emulator, the user-level allocators (SLSQP, multiple-choice knapsack
DP, round robin) and ``orchestrate``, one whole group + user scheduling step.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): importing
    # one submodule (e.g. a parameter dataclass for config validation) stays cheap
    from policies.scheduling.bdqn import (
        BDQNAgent,
        BDQNConfig,
        BranchingDuelingQNetwork,
        ReplayBuffer,
        TrainingLog,
        epsilon_at,
        epsilon_greedy,
        load_network,
        q_values,
        save_network,
        train_bdqn,
    )
    from policies.scheduling.emulator import (
        GroupEmulator,
        allocate_from_actions,
        equal_user_split,
        proportional_compute,
        rollout_returns,
        scale_to_capacity,
        shares_from_actions,
    )
    from policies.scheduling.grouping import (
        GROUP_FEATURES,
        USER_STATE_FEATURES,
        Grouping,
        average_group_state,
        encode_group_state,
        group_by_structure,
    )
    from policies.scheduling.knapsack import (
        BitrateAllocation,
        allocate_bitrates,
        multiple_choice_knapsack,
    )
    from policies.scheduling.orchestrate import (
        Allocation,
        Scheduler,
        branch_labels,
        load_scheduler,
        network_config,
        orchestrate,
        save_scheduler,
        train_scheduler,
        user_level_split,
    )
    from policies.scheduling.params import EmulatorParams, SchedulerParams
    from policies.scheduling.round_robin import round_robin_allocation, round_robin_units
    from policies.scheduling.slsqp import (
        SlsqpAllocation,
        ela_aware_value,
        maximise_weighted_utility,
    )

_EXPORTS: dict[str, str] = {
    "BDQNAgent": "policies.scheduling.bdqn",
    "BDQNConfig": "policies.scheduling.bdqn",
    "BranchingDuelingQNetwork": "policies.scheduling.bdqn",
    "ReplayBuffer": "policies.scheduling.bdqn",
    "TrainingLog": "policies.scheduling.bdqn",
    "epsilon_at": "policies.scheduling.bdqn",
    "epsilon_greedy": "policies.scheduling.bdqn",
    "load_network": "policies.scheduling.bdqn",
    "q_values": "policies.scheduling.bdqn",
    "save_network": "policies.scheduling.bdqn",
    "train_bdqn": "policies.scheduling.bdqn",
    "GroupEmulator": "policies.scheduling.emulator",
    "allocate_from_actions": "policies.scheduling.emulator",
    "equal_user_split": "policies.scheduling.emulator",
    "proportional_compute": "policies.scheduling.emulator",
    "rollout_returns": "policies.scheduling.emulator",
    "scale_to_capacity": "policies.scheduling.emulator",
    "shares_from_actions": "policies.scheduling.emulator",
    "GROUP_FEATURES": "policies.scheduling.grouping",
    "USER_STATE_FEATURES": "policies.scheduling.grouping",
    "Grouping": "policies.scheduling.grouping",
    "average_group_state": "policies.scheduling.grouping",
    "encode_group_state": "policies.scheduling.grouping",
    "group_by_structure": "policies.scheduling.grouping",
    "BitrateAllocation": "policies.scheduling.knapsack",
    "allocate_bitrates": "policies.scheduling.knapsack",
    "multiple_choice_knapsack": "policies.scheduling.knapsack",
    "Allocation": "policies.scheduling.orchestrate",
    "Scheduler": "policies.scheduling.orchestrate",
    "branch_labels": "policies.scheduling.orchestrate",
    "load_scheduler": "policies.scheduling.orchestrate",
    "network_config": "policies.scheduling.orchestrate",
    "orchestrate": "policies.scheduling.orchestrate",
    "save_scheduler": "policies.scheduling.orchestrate",
    "train_scheduler": "policies.scheduling.orchestrate",
    "user_level_split": "policies.scheduling.orchestrate",
    "EmulatorParams": "policies.scheduling.params",
    "SchedulerParams": "policies.scheduling.params",
    "round_robin_allocation": "policies.scheduling.round_robin",
    "round_robin_units": "policies.scheduling.round_robin",
    "SlsqpAllocation": "policies.scheduling.slsqp",
    "ela_aware_value": "policies.scheduling.slsqp",
    "maximise_weighted_utility": "policies.scheduling.slsqp",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """Importing submodule ``orchestrate`` must not hide the function of that name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return  # as with eager imports: the exported function wins over the submodule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "GROUP_FEATURES",
    "USER_STATE_FEATURES",
    "Allocation",
    "BDQNAgent",
    "BDQNConfig",
    "BitrateAllocation",
    "BranchingDuelingQNetwork",
    "EmulatorParams",
    "GroupEmulator",
    "Grouping",
    "ReplayBuffer",
    "Scheduler",
    "SchedulerParams",
    "SlsqpAllocation",
    "TrainingLog",
    "allocate_bitrates",
    "allocate_from_actions",
    "average_group_state",
    "branch_labels",
    "ela_aware_value",
    "encode_group_state",
    "epsilon_at",
    "epsilon_greedy",
    "equal_user_split",
    "group_by_structure",
    "load_network",
    "load_scheduler",
    "maximise_weighted_utility",
    "multiple_choice_knapsack",
    "network_config",
    "orchestrate",
    "proportional_compute",
    "q_values",
    "rollout_returns",
    "round_robin_allocation",
    "round_robin_units",
    "save_network",
    "save_scheduler",
    "scale_to_capacity",
    "shares_from_actions",
    "train_bdqn",
    "train_scheduler",
    "user_level_split",
]
