"""``fused=True``: each update rule as one CuPy kernel, equal to the ``xp`` path.

Everywhere: the rules' statements, evaluated with NumPy (``FusedRule.evaluate_numpy``) through
the optimizers' fused branch, give the ``xp`` path's trajectory bit for bit (same operations in
the same order), and the argument is validated as PyTorch does. On a GPU: the compiled kernels
against the ``xp`` path on the same device (to rounding: the CUDA compiler contracts a·b + c
into fused multiply-adds).
"""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import optim
from tinygrad_mom.optim import fused
from tinygrad_mom.optim.optimizer import Optimizer

CASES = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    (optim.SGD, {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    (optim.Adam, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (optim.Adam, {"lr": 0.01, "betas": (0.3, 0.9), "maximize": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.AdamW, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3}),
    (optim.RMSprop, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "centered": True}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
    (optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    (optim.RMSprop, {"lr": 0.01, "alpha": 0.3, "centered": True, "maximize": True}),
    (optim.Adagrad, {"lr": 0.1}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1}),
    (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.5, "maximize": True}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, kw in CASES]


def _trajectory(cls, kwargs, device, dtype, steps=6):
    """Parameters after each step of ``cls`` on a fixed quadratic-ish loss (seeded data)."""
    rng = np.random.default_rng(0)
    params = [
        tm.tensor(rng.standard_normal(shape).astype(dtype), device=device, requires_grad=True)
        for shape in [(5, 3), (4,)]
    ]
    opt = cls(params, **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((p * p * p).sum() + (p * 0.5).sum()) for p in params)
        loss.backward()
        opt.step()
        out.append([p.numpy(force=True).copy() for p in params])
    return out, opt


@pytest.fixture
def numpy_fused(monkeypatch):
    """The fused branch on the CPU, its kernels evaluated with NumPy."""
    monkeypatch.setattr(fused, "check_fused_params", lambda name, params: None)
    monkeypatch.setattr(Optimizer, "_fused_ready", lambda self, p: None)
    monkeypatch.setattr(fused, "launch", lambda rule, a, s: rule.evaluate_numpy(a, s))


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_fused_statements_equal_the_xp_path_bit_for_bit(numpy_fused, cls, kwargs):
    reference, ref_opt = _trajectory(cls, kwargs, "cpu", np.float64)
    got, opt = _trajectory(cls, {**kwargs, "fused": True}, "cpu", np.float64)
    for a_step, b_step in zip(reference, got):
        for a, b in zip(a_step, b_step):
            np.testing.assert_array_equal(a, b)
    # the same state entries, so a checkpoint moves between fused and unfused optimizers
    ref_state, state = ref_opt.state_dict()["state"], opt.state_dict()["state"]
    assert ref_state.keys() == state.keys()
    for i in ref_state:
        assert ref_state[i].keys() == state[i].keys()
        for key in ref_state[i]:
            np.testing.assert_array_equal(ref_state[i][key], state[i][key])


def test_rule_source_declares_temporaries_once():
    rule = fused.adam_rule(amsgrad=True, decoupled=True, weight_decay=True, maximize=False,
                           beta1=0.9)  # fmt: skip
    lines = rule.source().splitlines()
    assert lines[0] == "p = p * decay;" and "T d = g;" in lines
    assert "vmax = max(vmax, v);" in lines and "T denom = sqrt(vmax) / sqrt_bc2 + eps;" in lines
    assert rule.outputs == ("p", "m", "v", "vmax") and rule.inputs == ("g",)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad])
def test_fused_true_on_cpu_parameters_is_a_clear_error(cls):
    p = tm.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"fused=True needs all parameters on a CUDA.*'cpu'"):
        cls([p], lr=0.1, fused=True)
    opt = cls([p], lr=0.1)  # default None: the xp path
    assert opt.defaults["fused"] is None and opt.param_groups[0]["fused"] is None
    with pytest.raises(RuntimeError, match="CUDA device"):
        opt.add_param_group({"params": [tm.ones(2, requires_grad=True)], "fused": True})
    assert len(opt.param_groups) == 1
    with pytest.raises(TypeError, match="fused must be None or a bool"):
        cls([p], lr=0.1, fused="yes")


def test_fused_sgd_supports_the_torch_momentum_form_only(numpy_fused):
    p = tm.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="momentum_style='torch' only"):
        optim.SGD([p], lr=0.1, momentum=0.9, momentum_style="classic", fused=True)


def test_fused_step_on_a_parameter_moved_to_the_cpu_raises_before_changing_it(monkeypatch):
    monkeypatch.setattr(fused, "check_fused_params", lambda name, params: None)
    p = tm.ones(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1, fused=True)
    p.grad = tm.ones(3)
    with pytest.raises(RuntimeError, match="parameter is on the CPU"):
        opt.step()
    assert p.tolist() == [1.0, 1.0, 1.0] and len(opt.state) == 0


# ----------------------------------------------------------------------------------------------
# on a GPU (skipped without one)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_gpu_fused_kernel_equals_the_xp_path(device, cls, kwargs, dtype):
    if device == "cpu":
        pytest.skip("the compiled kernels need a CUDA GPU")
    reference, _ = _trajectory(cls, kwargs, device, dtype)
    got, opt = _trajectory(cls, {**kwargs, "fused": True}, device, dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a_step, b_step in zip(reference, got):
        for a, b in zip(a_step, b_step):
            np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol)
    assert all(p.dtype == dtype for group in opt.param_groups for p in group["params"])


@pytest.mark.parametrize("dtype", [np.float16, np.int64])
def test_fused_needs_float32_or_float64(dtype):
    import types

    p = types.SimpleNamespace(is_cuda=True, dtype=np.dtype(dtype), device="cuda:0")
    with pytest.raises(RuntimeError, match="float32 and float64 parameters, got dtype"):
        fused.check_fused_params("Adam", [p])
    fused.check_fused_params("Adam", [types.SimpleNamespace(is_cuda=True, dtype=np.dtype("f4"))])
