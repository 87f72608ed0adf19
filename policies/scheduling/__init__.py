"""Tailored orchestration schedulers of the level-one DAs (seed 000, Sec. III.C.3 Fig. 4, Sec. IV).

Public API: grouping users by QoE model structure, the branching dueling Q-network (BDQN) and its
trainer, the DAs' group-level emulator, the user-level allocators (SLSQP, multiple-choice knapsack
DP, round robin) and ``orchestrate``, one whole group + user scheduling step.
"""

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
