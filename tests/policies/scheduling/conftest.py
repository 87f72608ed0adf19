"""Shared fixtures of the scheduling tests: one torch thread (the machine is shared)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread():
    torch.set_num_threads(1)
