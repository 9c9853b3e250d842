"""L-BFGS: a trajectory derived by hand on a quadratic, the strong-Wolfe line search, PyTorch
cross-checks on Rosenbrock's function, state round trips and bad arguments."""

import numpy as np
import pytest

import tinygrad_mom as tm

A = np.diag([1.0, 4.0])  # f(θ) = ½ θᵀAθ, ∇f = Aθ


def quadratic_closure(opt, p):
    def closure():
        opt.zero_grad()
        loss = 0.5 * (p * tm.tensor(np.diag(A)) * p).sum()
        loss.backward()
        return loss

    return closure


def test_trajectory_by_hand_on_a_quadratic():
    p = tm.tensor([1.0, 1.0], dtype=tm.float64, requires_grad=True)
    opt = tm.optim.LBFGS([p], lr=1, max_iter=3)  # max_eval = 3 * 5 // 4 = 3
    loss = opt.step(quadratic_closure(opt, p))
    assert loss.item() == pytest.approx(2.5)  # the first closure's loss: ½(1 + 4)

    theta0 = np.array([1.0, 1.0])
    g0 = A @ theta0
    d0 = -g0  # first iteration: steepest descent
    t0 = min(1.0, 1.0 / np.abs(g0).sum())  # first step of all: min(1, 1/‖g‖₁)·lr
    theta1 = theta0 + t0 * d0
    g1 = A @ theta1
    y, s = g1 - g0, t0 * d0
    rho = 1.0 / (y @ s)
    h_diag = (y @ s) / (y @ y)
    q = -g1  # two-loop recursion with one curvature pair
    alpha = rho * (s @ q)
    q = q - alpha * y
    d1 = h_diag * q
    beta = rho * (y @ d1)
    d1 = d1 + s * (alpha - beta)
    theta2 = theta1 + 1.0 * d1  # t = lr after the first iteration
    # the third evaluation (at θ2) reaches max_eval: the step ends there
    np.testing.assert_allclose(p.numpy(force=True), theta2, rtol=1e-14)
    state = opt.state[0]
    assert state["func_evals"] == 3 and state["n_iter"] == 2
    np.testing.assert_allclose(state["d"], d1, rtol=1e-14)


def test_strong_wolfe_converges_on_a_quadratic():
    p = tm.tensor([3.0, -2.0], dtype=tm.float64, requires_grad=True)
    opt = tm.optim.LBFGS([p], line_search_fn="strong_wolfe")
    loss = None
    for _ in range(3):
        loss = opt.step(quadratic_closure(opt, p))
    # it stops once the loss changes by less than tolerance_change (1e-9)
    assert loss.item() < 1e-9
    np.testing.assert_allclose(p.numpy(force=True), [0.0, 0.0], atol=1e-4)


def test_changing_each_option_changes_the_result():
    def run(**kw):
        p = tm.tensor([1.0, 1.0], dtype=tm.float64, requires_grad=True)
        opt = tm.optim.LBFGS([p], **kw)
        opt.step(quadratic_closure(opt, p))
        return p.numpy(force=True).copy()

    base = run(max_iter=3)
    # (on this quadratic the strong-Wolfe search accepts the same steps: it is checked by the
    # convergence and PyTorch tests instead)
    for kw in ({"lr": 0.5}, {"max_iter": 2}, {"tolerance_grad": 10.0}, {"max_eval": 2}):
        assert not np.allclose(run(**{"max_iter": 3, **kw}), base), kw


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[2]) ** 2 \
        + 100 * (x[3] - x[2] ** 2) ** 2


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_matches_torch_on_rosenbrock(line_search_fn):
    torch = pytest.importorskip("torch", reason="torch is not installed: cross-check skipped")
    x0 = np.array([-1.2, 1.0, 0.5, -0.3])
    lr = 1 if line_search_fn else 0.1
    tx, ox = torch.tensor(x0, requires_grad=True), tm.tensor(x0, requires_grad=True)
    kw = dict(lr=lr, max_iter=7, history_size=5, line_search_fn=line_search_fn)
    t_opt, o_opt = torch.optim.LBFGS([tx], **kw), tm.optim.LBFGS([ox], **kw)

    def t_closure():
        t_opt.zero_grad()
        loss = rosenbrock(tx)
        loss.backward()
        return loss

    def o_closure():
        o_opt.zero_grad()
        loss = rosenbrock(ox)
        loss.backward()
        return loss

    for _ in range(3):  # Rosenbrock amplifies rounding: three steps are compared
        t_loss, o_loss = t_opt.step(t_closure), o_opt.step(o_closure)
        assert o_loss.item() == pytest.approx(t_loss.item(), rel=1e-9)
        np.testing.assert_allclose(
            ox.numpy(force=True), tx.detach().numpy(force=True), rtol=1e-9, atol=1e-11
        )
        assert o_opt.state[0]["func_evals"] == t_opt.state[tx]["func_evals"]
        assert o_opt.state[0]["n_iter"] == t_opt.state[tx]["n_iter"]


def test_state_survives_a_file_round_trip(tmp_path):
    def make():
        p = tm.tensor([-1.2, 1.0, 0.5, -0.3], dtype=tm.float64, requires_grad=True)
        return p, tm.optim.LBFGS([p], max_iter=4, history_size=3)

    def closure_for(opt, p):
        def closure():
            opt.zero_grad()
            loss = rosenbrock(p)
            loss.backward()
            return loss
        return closure

    p, opt = make()
    opt.step(closure_for(opt, p))
    tm.save(opt.state_dict(), tmp_path / "lbfgs.safetensors")
    q, opt2 = make()
    q.array[...] = p.array
    opt2.load_state_dict(tm.load(tmp_path / "lbfgs.safetensors"))
    opt.step(closure_for(opt, p))
    opt2.step(closure_for(opt2, q))
    np.testing.assert_array_equal(p.numpy(force=True), q.numpy(force=True))


def test_bad_arguments():
    p = tm.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        tm.optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(TypeError, match="max_iter"):
        tm.optim.LBFGS([p], max_iter=2.5)
    with pytest.raises(ValueError, match="learning rate"):
        tm.optim.LBFGS([p], lr=-1)
    with pytest.raises(ValueError, match="parameter groups"):
        tm.optim.LBFGS([{"params": [p]}, {"params": [tm.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        tm.optim.LBFGS([p]).step()
