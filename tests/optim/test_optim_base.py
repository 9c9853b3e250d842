"""The Optimizer contract: param groups, index-keyed lazy state, step, state_dict, validation."""

import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.backend import get_array_module

ALL = {
    "SGD": {"lr": 0.05, "momentum": 0.9},
    "Adam": {"lr": 0.05},
    "AdamW": {"lr": 0.05},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.1},
    "Adadelta": {},
    "Adamax": {"lr": 0.05},
    "NAdam": {"lr": 0.05},
    "RAdam": {"lr": 0.05},
}


def params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [tm.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in [(3, 2), (4,), ()]]


def loss_fn(ps):
    total = None
    for i, p in enumerate(ps):
        term = ((p * p) * float(i + 1)).sum() + (p * 0.3).sum()
        total = term if total is None else total + term
    return total


def train(opt, ps, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(ps).backward()
        opt.step()


# --- construction ---------------------------------------------------------------------------
def test_param_groups_have_pytorch_shape():
    a, b = tm.zeros(2, requires_grad=True), tm.zeros(3, requires_grad=True)
    opt = tm.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert len(opt.param_groups) == 2
    g0, g1 = opt.param_groups
    assert g0["params"][0] is a and len(g0["params"]) == 1
    assert g1["params"][0] is b and g1["lr"] == 0.5 and g0["lr"] == 0.1
    assert g1["momentum"] == 0.9 and g0["nesterov"] is False
    assert set(opt.defaults) >= {"lr", "momentum", "dampening", "weight_decay", "nesterov"}
    c = tm.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0


def test_per_group_lr_is_used():
    a, b = tm.ones(2, requires_grad=True), tm.ones(2, requires_grad=True)
    opt = tm.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = tm.ones(2), tm.ones(2)
    opt.step()
    np.testing.assert_allclose(a.numpy(force=True), 0.9, rtol=1e-6)
    np.testing.assert_allclose(b.numpy(force=True), 0.0, atol=1e-7)


def test_bad_params_arguments():
    p = tm.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        tm.optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        tm.optim.SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        tm.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        tm.optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        tm.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        tm.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate"):
        tm.optim.SGD([p, p], lr=0.1)
    opt = tm.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [tm.zeros(1, requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1


INVALID = [
    ("SGD", {"lr": -0.1}, "learning rate: -0.1"),
    ("SGD", {"lr": float("nan")}, "learning rate: nan"),
    ("SGD", {"momentum": -0.5}, "momentum value: -0.5"),
    ("SGD", {"momentum": float("nan")}, "momentum value: nan"),
    ("SGD", {"weight_decay": -1e-4}, "weight_decay value: -0.0001"),
    ("SGD", {"nesterov": True}, "Nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov"),
    ("SGD", {"dampening": 2.0}, "dampening value: 2.0"),
    ("Adam", {"lr": -1.0}, "learning rate: -1.0"),
    ("Adam", {"betas": (1.0, 0.999)}, "beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, "beta parameter at index 1: -0.1"),
    ("Adam", {"betas": (0.9, float("nan"))}, "beta parameter at index 1: nan"),
    ("Adam", {"eps": -1e-8}, "epsilon value: -1e-08"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay value: -0.1"),
    ("AdamW", {"betas": (0.9, 1.5)}, "index 1: 1.5"),
    ("AdamW", {"weight_decay": float("nan")}, "weight_decay value: nan"),
    ("RMSprop", {"alpha": -0.1}, "alpha value: -0.1"),
    ("RMSprop", {"eps": -1.0}, "epsilon value: -1.0"),
    ("RMSprop", {"momentum": -1.0}, "momentum value: -1.0"),
    ("RMSprop", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
    ("Adagrad", {"lr_decay": -1.0}, "lr_decay value: -1.0"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value value: -1.0"),
    ("Adagrad", {"eps": -1.0}, "epsilon value: -1.0"),
    ("Adagrad", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
    ("Adadelta", {"rho": 1.5}, "rho value: 1.5"),
    ("Adadelta", {"eps": -1.0}, "epsilon value: -1.0"),
    ("Adadelta", {"lr": float("nan")}, "learning rate: nan"),
    ("Adadelta", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
    ("Adamax", {"betas": (-0.1, 0.9)}, "index 0: -0.1"),
    ("Adamax", {"eps": -1.0}, "epsilon value: -1.0"),
    ("Adamax", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
    ("NAdam", {"momentum_decay": -1.0}, "momentum_decay value: -1.0"),
    ("NAdam", {"betas": (0.9, 1.0)}, "index 1: 1.0"),
    ("NAdam", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
    ("RAdam", {"betas": (1.1, 0.9)}, "index 0: 1.1"),
    ("RAdam", {"eps": float("nan")}, "epsilon value: nan"),
    ("RAdam", {"weight_decay": -1.0}, "weight_decay value: -1.0"),
]


@pytest.mark.parametrize("name,kw,msg", INVALID)
def test_invalid_hyperparameters(name, kw, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        getattr(tm.optim, name)([tm.zeros(2, requires_grad=True)], **kw)


def test_every_optimizer_has_invalid_cases():
    assert {n for n, _, _ in INVALID} == set(ALL)


# --- state and step -------------------------------------------------------------------------
def test_state_is_lazy_and_keyed_by_index():
    a, b, c = (tm.ones(n, requires_grad=True) for n in (2, 3, 1))
    opt = tm.optim.Adam([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    assert len(opt.state) == 0
    c.grad = tm.ones(1)
    opt.step()
    assert list(opt.state.keys()) == [2]  # c is the third parameter overall
    assert opt.state[c] is opt.state[2] and opt.state[2]["step"] == 1
    assert a not in opt.state and c in opt.state
    np.testing.assert_array_equal(a.numpy(force=True), 1.0)  # grad None: left alone


@pytest.mark.parametrize("name", list(ALL))
def test_noop_step_when_all_grads_none(name):
    ps = params()
    before = [p.numpy(force=True).copy() for p in ps]
    opt = getattr(tm.optim, name)(ps, **ALL[name])
    assert opt.step() is None
    for p, b in zip(ps, before, strict=True):
        np.testing.assert_array_equal(p.numpy(force=True), b)
    assert len(opt.state) == 0


@pytest.mark.parametrize("name", list(ALL))
def test_scalar_and_empty_parameters(name):
    s = tm.tensor(np.array(1.5), requires_grad=True)
    e = tm.tensor(np.zeros((0, 3)), requires_grad=True)
    opt = getattr(tm.optim, name)([s, e], **ALL[name])
    for _ in range(3):
        s.grad = tm.tensor(np.array(2.0 * s.item()))
        e.grad = tm.tensor(np.zeros((0, 3)))
        opt.step()
    assert s.shape == () and e.shape == (0, 3)
    assert abs(s.item()) < 1.5 and math.isfinite(s.item())


@pytest.mark.parametrize("name", list(ALL))
def test_updates_in_place_without_touching_grad_or_dtype(name):
    ps = params(np.float32)
    opt = getattr(tm.optim, name)(ps, **ALL[name], weight_decay=0.01)
    arrays = [p.array for p in ps]
    train(opt, ps, 1)
    state_arrays = {(i, k): v for i, s in opt.state.items() for k, v in s.items()
                    if isinstance(v, np.ndarray)}
    grads = [p.grad.numpy(force=True).copy() for p in ps]
    opt.step()
    for p, a, g in zip(ps, arrays, grads, strict=True):
        assert p.array is a and p.dtype == np.float32
        np.testing.assert_array_equal(p.grad.numpy(force=True), g)  # the gradient is never written
    for (i, k), v in state_arrays.items():
        assert opt.state[i][k] is v and v.dtype == np.float32


def test_zero_grad():
    ps = params()
    opt = tm.optim.SGD(ps, lr=0.1)
    loss_fn(ps).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy(force=True).any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_step_returns_closure_loss_with_grad_enabled():
    ps = params()
    opt = tm.optim.SGD(ps, lr=0.1)

    def closure():
        opt.zero_grad()
        assert tm.is_grad_enabled()
        loss = loss_fn(ps)
        loss.backward()
        return loss

    with tm.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, tm.Tensor) and loss.item() == pytest.approx(loss_fn(params()).item())
    assert loss_fn(ps).item() < loss.item()


def test_step_hooks():
    ps = params()
    opt = tm.optim.SGD(ps, lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o, a, k)))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o, a, k)))
    train(opt, ps, 1)
    assert [c[0] for c in calls] == ["pre", "post"] and calls[0][1] is opt
    assert calls[0][2] == () and calls[0][3] == {}
    h1.remove()
    h2.remove()
    train(opt, ps, 1)
    assert len(calls) == 2

    # a pre-hook may replace the arguments, e.g. swap in another closure
    def swap(o, args, kwargs):
        return (), {"closure": lambda: 42}

    opt.register_step_pre_hook(swap)
    assert opt.step(lambda: 0) == 42


# --- state_dict -----------------------------------------------------------------------------
def _plain(obj):
    if isinstance(obj, dict):
        return all(_plain(k) and _plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(_plain(v) for v in obj)
    return isinstance(obj, (np.ndarray, int, float, bool, str, type(None)))


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_round_trip_continues_bit_exactly(name):
    kw = ALL[name]

    def make(ps):
        return getattr(tm.optim, name)([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}], **kw)

    ps = params(np.float32)
    opt = make(ps)
    train(opt, ps, 3)
    sd = opt.state_dict()
    assert _plain(sd)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 1, 2}
    saved_params = [p.numpy(force=True).copy() for p in ps]
    train(opt, ps, 4)
    reference = [p.numpy(force=True).copy() for p in ps]

    fresh = [tm.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = make(fresh)
    opt2.param_groups[1]["lr"] = 123.0  # load restores the saved hyper-parameters
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.02
    train(opt2, fresh, 4)
    for a, b in zip(fresh, reference, strict=True):
        np.testing.assert_array_equal(a.numpy(force=True), b)


def test_state_dict_is_a_copy():
    ps = params()
    opt = tm.optim.Adam(ps, lr=0.1)
    train(opt, ps, 1)
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"][...] = 99.0
    assert not (opt.state[0]["exp_avg"] == 99.0).any()
    opt.load_state_dict(sd)
    sd["state"][0]["exp_avg"][...] = 7.0
    assert (opt.state[0]["exp_avg"] == 99.0).all()


def test_load_state_dict_validates_before_changing_anything():
    ps = params()
    opt = tm.optim.Adam(ps, lr=0.1)
    train(opt, ps, 2)
    good = opt.state_dict()
    before = opt.state_dict()

    other = tm.optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    smaller = tm.optim.Adam(ps[:2], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(smaller.state_dict())
    bad_shape = opt.state_dict()
    bad_shape["param_groups"][0]["lr"] = 0.5
    bad_shape["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad_shape)
    bad_hyper = opt.state_dict()
    bad_hyper["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="learning rate"):
        opt.load_state_dict(bad_hyper)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i in before["state"]:
        for k, v in before["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][k], v)
    opt.load_state_dict(good)


def test_load_state_dict_moves_to_param_device_and_dtype(device):
    p = tm.tensor(np.ones(3, dtype=np.float32), requires_grad=True, device=device)
    opt = tm.optim.SGD([p], lr=0.1, momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": np.full(3, 0.5)}},  # float64 host array
          "param_groups": [{**{k: v for k, v in opt.param_groups[0].items() if k != "params"},
                            "params": [0]}]}
    opt.load_state_dict(sd)
    buf = opt.state[0]["momentum_buffer"]
    assert get_array_module(buf) is get_array_module(p.array) and buf.dtype == np.float32
    p.grad = tm.tensor(np.ones(3, dtype=np.float32), device=device)
    opt.step()
    np.testing.assert_allclose(p.numpy(force=True), 1 - 0.1 * (0.9 * 0.5 + 1), rtol=1e-6)


# --- pluggable ------------------------------------------------------------------------------
class SignSGD(tm.optim.Optimizer):
    """θ ← θ − lr·sign(b), b ← μb + g: signSGD with momentum (a user-defined optimizer)."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def update(self, p, g, state, group):
        xp = get_array_module(p)
        if "buf" not in state:
            state["buf"] = xp.zeros_like(p)
        state["buf"] *= group["momentum"]
        state["buf"] += g
        p -= group["lr"] * xp.sign(state["buf"])


def test_user_defined_optimizer_works_with_groups_schedulers_and_state_dict():
    a, b = tm.zeros(2, requires_grad=True), tm.zeros(1, requires_grad=True)
    opt = SignSGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0, momentum=0.5)
    sched = tm.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    with pytest.raises(ValueError, match="learning rate: -1"):
        SignSGD([a], lr=-1.0)
    for _ in range(2):
        a.grad, b.grad = tm.tensor([1.0, -1.0]), tm.tensor([2.0])
        opt.step()
        sched.step()
    # lr 1 then 0.5 for group 0; 0.5 then 0.25 for group 1
    np.testing.assert_allclose(a.numpy(force=True), [-1.5, 1.5])
    np.testing.assert_allclose(b.numpy(force=True), [-0.75])
    sd, ssd = opt.state_dict(), sched.state_dict()
    opt2 = SignSGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0, momentum=0.5)
    sched2 = tm.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    opt2.load_state_dict(sd)
    sched2.load_state_dict(ssd)
    np.testing.assert_array_equal(opt2.state[0]["buf"], [1.5, -1.5])
    assert sched2.get_last_lr() == [0.25, 0.125] and opt2.param_groups[1]["lr"] == 0.125
    assert "SignSGD" in opt2.describe()


def test_base_update_not_implemented():
    p = tm.zeros(1, requires_grad=True)
    opt = tm.optim.Optimizer([p], {"lr": 0.1})
    p.grad = tm.ones(1)
    with pytest.raises(NotImplementedError, match="update"):
        opt.step()


# --- describe -------------------------------------------------------------------------------
def test_describe_sgd_nesterov_weight_decay():
    p = tm.zeros(4, requires_grad=True)
    text = tm.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4).describe()
    assert "g ← g + 0.0005·θ" in text
    assert "b ← 0.9·b + g" in text
    assert "g ← g + 0.9·b   (nesterov)" in text
    assert "θ ← θ − 0.1·g" in text
    assert "4 elements" in text


@pytest.mark.parametrize("name", list(ALL))
def test_describe_every_optimizer_shows_its_numbers(name):
    p = tm.zeros(2, requires_grad=True)
    opt = getattr(tm.optim, name)([{"params": [p], "lr": 0.123}], **{**ALL[name], "lr": 0.5})
    text = opt.describe()
    assert "θ ← θ" in text and "0.123" in text


def test_describe_adamw_and_amsgrad():
    p = tm.zeros(2, requires_grad=True)
    text = tm.optim.AdamW([p], lr=0.01, weight_decay=0.1, amsgrad=True).describe()
    assert "θ ← θ − 0.001·θ" in text and "v̂ ← max(v̂, v)" in text


# --- behaviour on problems ------------------------------------------------------------------
CONVERGE = {
    "SGD": {"lr": 0.01, "momentum": 0.9, "nesterov": True},
    "Adam": {"lr": 0.05},
    "AdamW": {"lr": 0.05, "weight_decay": 0.0},
    "RMSprop": {"lr": 0.01},
    "Adagrad": {"lr": 0.5},
    "Adadelta": {"lr": 1.0, "rho": 0.95},
    "Adamax": {"lr": 0.05},
    "NAdam": {"lr": 0.05},
    "RAdam": {"lr": 0.05},
}


@pytest.mark.parametrize("name", list(CONVERGE))
def test_converges_on_ill_conditioned_quadratic(name):
    """f(θ) = ½ Σ cᵢθᵢ² with condition number 100."""
    c = np.array([100.0, 10.0, 1.0])
    p = tm.tensor(np.array([1.0, -1.0, 1.0]), requires_grad=True)
    opt = getattr(tm.optim, name)([p], **CONVERGE[name])
    for _ in range(600):
        opt.zero_grad()
        (tm.tensor(c) * p * p * 0.5).sum().backward()
        opt.step()
    assert np.abs(p.numpy(force=True)).max() < 1e-3, p.numpy(force=True)


@pytest.mark.parametrize("name,kw,steps", [
    ("SGD", {"lr": 1e-3, "momentum": 0.9}, 6000),
    ("Adam", {"lr": 0.02}, 4000),
    ("RMSprop", {"lr": 1e-3, "momentum": 0.9}, 4000),
    ("NAdam", {"lr": 0.02}, 4000),
])
def test_converges_on_rosenbrock(name, kw, steps):
    """f(x, y) = (1 − x)² + 100(y − x²)² from (−1.5, 2); minimum at (1, 1)."""
    p = tm.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = getattr(tm.optim, name)([p], **kw)
    x, y = p[0], p[1]
    ((1 - x) ** 2 + 100 * (y - x * x) ** 2).backward()  # autograd agrees with the formula below
    np.testing.assert_allclose(
        p.grad.numpy(force=True), [-2 * 2.5 - 400 * -1.5 * (2 - 2.25), 200 * -0.25]
    )
    for _ in range(steps):
        x, y = p.numpy(force=True).copy()  # the analytic gradient keeps this test fast
        p.grad = tm.tensor(np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]))
        opt.step()
    np.testing.assert_allclose(p.numpy(force=True), [1.0, 1.0], atol=2e-2)


@pytest.mark.parametrize("name,kw", [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.01}), ("Adagrad", {"lr": 0.1}), ("Adamax", {"lr": 0.1}),
    ("NAdam", {"lr": 0.1}), ("RAdam", {"lr": 0.1}), ("Adadelta", {}),
])
def test_coupled_weight_decay_equals_l2_in_the_loss(name, kw):
    """weight_decay = λ gives the same steps as adding (λ/2)‖θ‖² to the loss."""
    lam = 0.3
    ps1, ps2 = params(), params()
    o1 = getattr(tm.optim, name)(ps1, weight_decay=lam, **kw)
    o2 = getattr(tm.optim, name)(ps2, **kw)
    for _ in range(5):
        o1.zero_grad()
        loss_fn(ps1).backward()
        o1.step()
        o2.zero_grad()
        penalty = sum(((p * p).sum() for p in ps2[1:]), (ps2[0] * ps2[0]).sum())
        (loss_fn(ps2) + penalty * (lam / 2)).backward()
        o2.step()
    for a, b in zip(ps1, ps2, strict=True):
        np.testing.assert_allclose(a.numpy(force=True), b.numpy(force=True), rtol=1e-12, atol=1e-14)


def test_repr_lists_groups():
    text = repr(tm.optim.SGD([tm.zeros(1, requires_grad=True)], lr=0.1))
    assert "Parameter Group 0" in text and "lr: 0.1" in text
