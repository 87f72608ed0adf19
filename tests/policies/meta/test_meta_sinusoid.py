"""Sinusoid few-shot regression: meta training gives a better initial point (Finn 2017)."""

from __future__ import annotations

import numpy as np
import torch

from policies.meta import MetaLearner
from policies.meta.sinusoid import (
    SinusoidParams,
    make_mlp,
    meta_train,
    mse_loss_fn,
    sample_batch,
    sample_task,
)

torch.set_num_threads(1)
CFG = SinusoidParams()


def _post_adaptation_mse(learner: MetaLearner, seed: int, n_tasks: int = 100) -> float:
    """Mean query MSE after one K-shot adaptation step, over fresh tasks."""
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(n_tasks):
        task = sample_task(rng, CFG)
        support = mse_loss_fn(learner.module, *sample_batch(task, rng, CFG.shots, CFG))
        query = mse_loss_fn(learner.module, *sample_batch(task, rng, 100, CFG))
        adapted = learner.adapt(support, steps=1)
        with torch.no_grad():
            errors.append(float(query(adapted)))
    return float(np.mean(errors))


def test_task_distribution_ranges() -> None:
    rng = np.random.default_rng(0)
    tasks = [sample_task(rng, CFG) for _ in range(500)]
    amps = np.array([t.amplitude for t in tasks])
    phases = np.array([t.phase for t in tasks])
    assert amps.min() >= 0.1 and amps.max() <= 5.0 and phases.min() >= 0 and phases.max() <= np.pi
    x, y = sample_batch(tasks[0], rng, 10, CFG)
    assert x.shape == (10, 1) and y.shape == (10, 1)
    assert float(x.abs().max()) <= 5.0
    np.testing.assert_allclose(y.numpy(), tasks[0](x.numpy()), rtol=1e-6, atol=1e-6)


def test_make_mlp_seeded_and_leaves_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a = make_mlp((40, 40), torch.Generator().manual_seed(3))
    b = make_mlp((40, 40), torch.Generator().manual_seed(3))
    c = make_mlp((40, 40), torch.Generator().manual_seed(4))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert [p.shape for p in a.parameters()] == [(40, 1), (40,), (40, 40), (40,), (1, 40), (1,)]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)
    bound = 1 / np.sqrt(40)
    assert float(a[2].weight.detach().abs().max()) <= bound
    assert float(a[2].bias.detach().abs().max()) <= bound


def test_adaptation_lowers_loss_on_sinusoid() -> None:
    rng = np.random.default_rng(1)
    net = make_mlp(CFG.hidden, torch.Generator().manual_seed(1))
    learner = MetaLearner(net, "maml", inner_lr=0.01)
    task = sample_task(rng, CFG)
    support = mse_loss_fn(net, *sample_batch(task, rng, CFG.shots, CFG))
    losses = [float(support(learner.adapt(support, steps=s)).detach()) for s in (0, 1, 5, 20)]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_meta_trained_init_beats_random_init_after_one_step() -> None:
    """MAML (Finn 2017 settings, short run) vs the same network untrained: >= 2x lower MSE."""
    meta = MetaLearner(
        make_mlp(CFG.hidden, torch.Generator().manual_seed(0)),
        "maml",
        inner_lr=0.01,
        inner_steps=1,
        meta_lr=0.01,
    )
    random = MetaLearner(
        make_mlp(CFG.hidden, torch.Generator().manual_seed(0)), "maml", inner_lr=0.01
    )
    history = meta_train(meta, np.random.default_rng(0), iterations=300, tasks_per_round=10)
    assert np.mean(history[-20:]) < np.mean(history[:20])
    meta_mse = _post_adaptation_mse(meta, seed=5)
    random_mse = _post_adaptation_mse(random, seed=5)
    assert 2.0 * meta_mse <= random_mse


def test_meta_training_is_deterministic() -> None:
    def run(seed: int) -> dict[str, torch.Tensor]:
        learner = MetaLearner(
            make_mlp((8,), torch.Generator().manual_seed(0)), "fomaml", inner_lr=0.01, meta_lr=0.01
        )
        meta_train(learner, np.random.default_rng(seed), iterations=5, tasks_per_round=2)
        return learner.state_dict()

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert any(not torch.equal(a[n], c[n]) for n in a)
