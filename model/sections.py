"""Config sections owned by services and policies, mounted into the scenario config.

Each entry maps a TOML table name to the frozen parameter dataclass that reads it. Keeping the
list here (not in ``model.config``) lets policies define their own parameters next to the code
that uses them without ``model.config`` importing every policy module by name.

Only parameter modules are imported here, and none of them imports torch, scipy or matplotlib:
validating a scenario (``twinslice keys``, any rejected input) must answer in well under a
second (issue 14; ``tests/runs/test_cli_startup.py`` checks ``sys.modules``).
"""

from __future__ import annotations

from agents.da_params import DaParams
from model.services.behaviour import BehaviourParams, MosParams
from model.services.video_params import VideoParams
from policies.meta.params import MetaParams
from policies.qoe.demand import DemandParams, SlaParams
from policies.qoe.emulation import EmulationParams
from policies.qoe.factors import FactorSelectionParams
from policies.qoe.models import GenericQoeParams, QoeFitParams
from policies.rl.cav_params import CavParams
from policies.rl.ppo_params import PPOParams
from policies.scheduling.params import EmulatorParams, SchedulerParams
from policies.slicing.params import SlicingParams
from policies.twins.params import TwinParams
from policies.twins.twin_params import TwinOpsParams
from policies.twins.twin_plvn import PlvnParams

SERVICE_SECTIONS: dict[str, type] = {
    "video": VideoParams,
    "behaviour": BehaviourParams,
    "mos": MosParams,
    "das": DaParams,
    "qoe_factors": FactorSelectionParams,
    "qoe_fit": QoeFitParams,
    "generic_qoe": GenericQoeParams,
    "emulation": EmulationParams,
    "demand": DemandParams,
    "sla": SlaParams,
    "scheduler": SchedulerParams,
    "scheduler_emulator": EmulatorParams,
    "slicing": SlicingParams,
    # seed 003: CAV perception, PPO, meta learning and the digital twins (model.vehicular_ext)
    "cav": CavParams,
    "ppo": PPOParams,
    "meta": MetaParams,
    "twins": TwinParams,
    "twin_ops": TwinOpsParams,
    "plvn": PlvnParams,
}
