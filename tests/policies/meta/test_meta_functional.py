"""MAML / FOMAML / Reptile against closed forms and finite differences (seed 003, Sec. II)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from policies.meta import (
    MetaLearner,
    MetaParams,
    Params,
    adapt,
    adaptation_loss_converged,
    average_params,
    forward,
    maml_meta_gradient,
    params_nbytes,
    params_of,
    reptile_direction,
)

torch.set_num_threads(1)


def _linear(d: int, seed: int) -> nn.Linear:
    """A bias-free float64 linear model with weights from a local generator."""
    lin = nn.Linear(d, 1, bias=False, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(1, d, generator=gen, dtype=torch.float64))
    return lin


def _lsq(module: nn.Module, x: Tensor, y: Tensor):
    """0.5 * mean squared residual of a linear model: Hessian = X^T X / n."""

    def loss(p: Params) -> Tensor:
        return 0.5 * torch.mean((forward(module, p, x) - y) ** 2)

    return loss


def _lsq_data(n: int, d: int, seed: int) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    return x, y


def _fd_grad(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function of a flat vector."""
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return grad


@pytest.fixture()
def quad_problem():
    d, alpha = 3, 0.3
    module = _linear(d, seed=0)
    xs, ys = _lsq_data(8, d, seed=1)
    xq, yq = _lsq_data(8, d, seed=2)
    return module, _lsq(module, xs, ys), _lsq(module, xq, yq), xs, ys, xq, yq, alpha


def test_params_of_detached_leaf_copies() -> None:
    module = _linear(4, seed=3)
    p = params_of(module)
    assert set(p) == {"weight"}
    assert p["weight"].is_leaf and p["weight"].requires_grad
    with torch.no_grad():
        p["weight"].add_(1.0)
    assert not torch.equal(p["weight"], module.weight)


@pytest.mark.parametrize("first_order", [False, True])
def test_adapt_is_gradient_descent_closed_form(quad_problem, first_order: bool) -> None:
    module, support, _, xs, ys, _, _, alpha = quad_problem
    p = params_of(module)
    adapted = adapt(module, p, support, steps=3, lr=alpha, first_order=first_order)
    w = p["weight"].detach().T  # (d, 1)
    h, b = xs.T @ xs / len(xs), xs.T @ ys / len(xs)
    for _ in range(3):
        w = w - alpha * (h @ w - b)
    torch.testing.assert_close(adapted["weight"].detach(), w.T)
    assert support(adapted) < support(p)


def test_maml_second_order_matches_closed_form_and_fd(quad_problem) -> None:
    """grad_theta Lq(theta') = (I - a Hs)^k Hq (theta' - wq*) for k SGD steps on a quadratic."""
    module, support, query, xs, ys, xq, yq, alpha = quad_problem
    k = 2
    p = params_of(module)
    adapted = adapt(module, p, support, steps=k, lr=alpha, first_order=False)
    g = maml_meta_gradient(p, query(adapted))["weight"].reshape(-1).numpy()

    hs = (xs.T @ xs / len(xs)).numpy()
    hq, bq = (xq.T @ xq / len(xq)).numpy(), (xq.T @ yq / len(xq)).numpy().ravel()
    w_adapted = adapted["weight"].detach().reshape(-1).numpy()
    jac = np.linalg.matrix_power(np.eye(len(hs)) - alpha * hs, k)
    closed = jac.T @ (hq @ w_adapted - bq)
    np.testing.assert_allclose(g, closed, rtol=1e-10, atol=1e-12)

    def adapted_query_loss(theta: np.ndarray) -> float:
        q = {"weight": torch.as_tensor(theta.reshape(1, -1)).requires_grad_(True)}
        return float(query(adapt(module, q, support, k, alpha, first_order=True)).detach())

    fd = _fd_grad(adapted_query_loss, p["weight"].detach().reshape(-1).numpy())
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_maml_second_order_matches_fd_on_nonlinear_net() -> None:
    """Hessian-vector terms through a tanh network, two inner steps, float64."""
    gen = torch.Generator().manual_seed(7)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        for prm in net.parameters():
            prm.copy_(torch.randn(prm.shape, generator=gen, dtype=torch.float64) * 0.7)
    xs, ys = _lsq_data(6, 2, seed=8)
    xq, yq = _lsq_data(6, 2, seed=9)
    support, query = _lsq(net, xs, ys), _lsq(net, xq, yq)
    p = params_of(net)
    names = list(p)
    shapes = [p[n].shape for n in names]
    sizes = [p[n].numel() for n in names]

    def unflatten(theta: np.ndarray) -> Params:
        chunks = np.split(theta, np.cumsum(sizes)[:-1])
        return {
            n: torch.as_tensor(c.reshape(s)).requires_grad_(True)
            for n, c, s in zip(names, chunks, shapes, strict=True)
        }

    def adapted_query_loss(theta: np.ndarray) -> float:
        a = adapt(net, unflatten(theta), support, 2, 0.5, first_order=True)
        return float(query(a).detach())

    g = maml_meta_gradient(p, query(adapt(net, p, support, 2, 0.5, first_order=False)))
    g_flat = np.concatenate([g[n].reshape(-1).numpy() for n in names])
    theta0 = np.concatenate([p[n].detach().reshape(-1).numpy() for n in names])
    np.testing.assert_allclose(g_flat, _fd_grad(adapted_query_loss, theta0), rtol=1e-5, atol=1e-8)


def test_first_order_semantics(quad_problem) -> None:
    """FOMAML = d/d theta Lq(theta + delta) with the inner displacement delta held fixed.

    It equals the query gradient at the adapted point and differs from the true (finite
    difference) MAML gradient only by the dropped Jacobian term: |fo - fd| <= |I - J| |fo|.
    """
    module, support, query, xs, _, _, _, alpha = quad_problem
    p = params_of(module)
    adapted = adapt(module, p, support, steps=1, lr=alpha, first_order=True)
    fo = maml_meta_gradient(p, query(adapted))["weight"].reshape(-1).numpy()
    theta0 = p["weight"].detach().reshape(-1).numpy()
    delta = adapted["weight"].detach().reshape(-1).numpy() - theta0

    def shifted_query(theta: np.ndarray) -> float:
        return float(query({"weight": torch.as_tensor((theta + delta).reshape(1, -1))}))

    np.testing.assert_allclose(fo, _fd_grad(shifted_query, theta0), rtol=1e-6, atol=1e-9)

    def adapted_query_loss(theta: np.ndarray) -> float:
        q = {"weight": torch.as_tensor(theta.reshape(1, -1)).requires_grad_(True)}
        return float(query(adapt(module, q, support, 1, alpha, first_order=True)).detach())

    fd = _fd_grad(adapted_query_loss, theta0)
    hs = (xs.T @ xs / len(xs)).numpy()
    gap = np.linalg.norm(alpha * hs, 2) * np.linalg.norm(fo)
    assert np.linalg.norm(fo - fd) <= gap + 1e-8
    assert np.linalg.norm(fo - fd) > 1e-6  # the approximation is really first order here


def test_reptile_direction_and_sgd_update_move_towards_adapted(quad_problem) -> None:
    module, support, query, *_ = quad_problem
    learner = MetaLearner(
        module, "reptile", inner_lr=0.3, inner_steps=3, meta_lr=0.5, outer_optimizer="sgd"
    )
    before = learner.state_dict()
    direction, _ = learner.task_update(support, query)
    adapted = adapt(module, learner.clone(), support, 3, 0.3, first_order=True)
    torch.testing.assert_close(direction["weight"], adapted["weight"].detach() - before["weight"])
    torch.testing.assert_close(reptile_direction(before, adapted)["weight"], direction["weight"])
    learner.meta_update([direction])
    after = learner.state_dict()
    torch.testing.assert_close(after["weight"], before["weight"] + 0.5 * direction["weight"])
    assert torch.norm(after["weight"] - adapted["weight"]) < torch.norm(
        before["weight"] - adapted["weight"]
    )


@pytest.mark.parametrize("algorithm", ["maml", "fomaml"])
def test_meta_update_is_sgd_on_average_gradient(quad_problem, algorithm: str) -> None:
    module, support, query, *_ = quad_problem
    _, support2, query2, *_ = quad_problem  # same task twice: the mean equals each gradient
    learner = MetaLearner(module, algorithm, 0.3, 1, meta_lr=0.1, outer_optimizer="sgd")
    before = learner.state_dict()
    g1, q1 = learner.task_update(support, query)
    g2, _ = learner.task_update(support2, query2)
    torch.testing.assert_close(average_params([g1, g2])["weight"], g1["weight"])
    learner.meta_update([g1, g2])
    torch.testing.assert_close(
        learner.state_dict()["weight"], before["weight"] - 0.1 * g1["weight"]
    )
    assert learner.task_update(support, query)[1] < q1  # one meta step lowers the query loss


def test_learner_adapt_leaves_meta_params_untouched(quad_problem) -> None:
    module, support, *_ = quad_problem
    learner = MetaLearner(module, "maml", inner_lr=0.3, inner_steps=1)
    before = learner.state_dict()
    adapted = learner.adapt(support, steps=5)
    assert adapted["weight"].is_leaf and adapted["weight"].requires_grad
    torch.testing.assert_close(learner.state_dict()["weight"], before["weight"])
    assert support(adapted) < support(learner.params)


def test_state_dict_roundtrip_and_size() -> None:
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    learner = MetaLearner(net, "fomaml")
    other = MetaLearner(nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)), "fomaml")
    other.load_state_dict(learner.state_dict())
    for n in learner.params:
        torch.testing.assert_close(other.params[n], learner.params[n])
    assert params_nbytes(learner.params) == 4 * (3 * 5 + 5 + 5 * 2 + 2)
    with pytest.raises(KeyError):
        other.load_state_dict({"0.weight": torch.zeros(5, 3)})


def test_from_params_and_validation() -> None:
    learner = MetaLearner.from_params(nn.Linear(1, 1), MetaParams(algorithm="reptile"))
    assert learner.algorithm == "reptile" and learner.inner_lr == MetaParams().inner_lr
    with pytest.raises(ValueError, match="algorithm"):
        MetaParams(algorithm="sgd")
    with pytest.raises(ValueError, match="inner_lr"):
        MetaParams(inner_lr=-1.0)
    with pytest.raises(ValueError):
        MetaLearner(nn.Linear(1, 1), "maml", outer_optimizer="rmsprop")
    with pytest.raises(ValueError):
        adapt(nn.Linear(1, 1), {}, lambda p: torch.zeros(()), steps=-1, lr=0.1, first_order=True)


def test_adaptation_loss_converged() -> None:
    assert not adaptation_loss_converged([1.0, 1.0, 1.0], window=2, tol=0.1)
    assert adaptation_loss_converged([5.0, 5.0, 1.0, 1.0, 1.0, 1.0], window=2, tol=0.01)
    assert not adaptation_loss_converged([1.0, 1.0, 2.0, 2.0], window=2, tol=0.5)
    assert adaptation_loss_converged([1.0, 1.0, 1.2, 1.2], window=2, tol=0.25)
