"""Names of the meta-learning algorithms and outer optimisers (torch-free).

Kept apart from :mod:`policies.meta.functional` so that validating a scenario's ``[meta]``
section (:mod:`policies.meta.params`) does not import torch.
"""

from __future__ import annotations

ALGORITHMS: tuple[str, ...] = ("maml", "fomaml", "reptile")
OUTER_OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
INIT_SCHEMES: tuple[str, ...] = ("scratch", "transfer", "meta")
