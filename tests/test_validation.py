"""The shared argument checks, and an attack on every hyper-parameter of the public API.

Each bad value (a string, None, a list, a bool given as a number, NaN, the string 'False'
given as a flag) must raise TypeError/ValueError naming the argument, never a raw comparison
error, and never be silently accepted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import _validation as V
from tinygrad_mom import nn, optim
from tinygrad_mom.optim import lr_scheduler as S

BAD_NUMBERS = ["0.1", None, [0.1], True, {"a": 1}]


# --- the helpers  ---
def test_number_in_accepts_reals_and_returns_float():
    assert V.number_in("x", 1, 0.0) == 1.0 and isinstance(V.number_in("x", 1, 0.0), float)
    assert V.number_in("x", np.float32(0.5), 0.0, 1.0) == 0.5
    assert V.number_in("x", np.int64(3)) == 3.0
    assert V.number_in("x", math.inf, allow_inf=True) == math.inf


@pytest.mark.parametrize("bad", BAD_NUMBERS + [np.bool_(True), b"1", 1j])
def test_number_in_rejects_non_numbers_with_type_error(bad):
    with pytest.raises(TypeError, match=r"momentum must be a real number, but got .*\("):
        V.number_in("momentum", bad, 0.0)


@pytest.mark.parametrize(
    ("value", "kw"),
    [(math.nan, {}), (math.inf, {}), (-1.0, {"low": 0.0}), (0.0, {"low": 0.0, "low_open": True}),
     (1.0, {"high": 1.0, "high_open": True}), (2.0, {"high": 1.0})],
)
def test_number_in_range_errors_name_the_argument_and_the_range(value, kw):
    with pytest.raises(ValueError, match=r"Invalid eps value: .* \(expected"):
        V.number_in("eps", value, **kw)


def test_int_at_least():
    assert V.int_at_least("n", np.int64(3), 1) == 3 and type(V.int_at_least("n", 3, 1)) is int
    assert V.int_at_least("n", None, 1, none_ok=True) is None
    for bad in (True, 1.0, "1", None, [1]):
        with pytest.raises(TypeError, match="n must be an int"):
            V.int_at_least("n", bad, 1)
    with pytest.raises(ValueError, match=r"Invalid n value: 0 \(expected an int >= 1\)"):
        V.int_at_least("n", 0, 1)
    assert V.int_in("k", 2, 1, 3) == 2
    with pytest.raises(ValueError, match="1 <= k <= 3"):
        V.int_in("k", 4, 1, 3)


def test_flag_accepts_only_real_bools():
    assert V.flag("f", True) is True and V.flag("f", np.bool_(False)) is False
    for bad in ("False", "True", 0, 1, None, [True]):
        with pytest.raises(TypeError, match=r"f must be a bool \(True or False\)"):
            V.flag("f", bad, where="X")


def test_one_of_and_tensor_arg():
    assert V.one_of("mode", "min", ("min", "max")) == "min"
    with pytest.raises(ValueError, match="Invalid mode value: 'mean'"):
        V.one_of("mode", "mean", ("min", "max"))
    with pytest.raises(TypeError, match="mode must be one of"):
        V.one_of("mode", 3, ("min", "max"))
    with pytest.raises(TypeError, match=r"f: x must be a Tensor, but got \[1.0\] \(list\)"):
        V.tensor_arg("x", [1.0], "f")
    t = tm.zeros(2)
    assert V.tensor_arg("x", t) is t


# --- every optimizer  ---
OPTIMIZERS = {
    optim.SGD: (["lr", "momentum", "dampening", "weight_decay"], ["nesterov", "maximize"]),
    optim.Adam: (["lr", "eps", "weight_decay"], ["amsgrad", "maximize", "decoupled_weight_decay"]),
    optim.AdamW: (["lr", "eps", "weight_decay"], ["amsgrad", "maximize"]),
    optim.RMSprop: (["lr", "alpha", "eps", "weight_decay", "momentum"], ["centered", "maximize"]),
    optim.Adagrad: (["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
                    ["maximize"]),
    optim.Adadelta: (["lr", "rho", "eps", "weight_decay"], ["maximize"]),
    optim.Adamax: (["lr", "eps", "weight_decay"], ["maximize"]),
    optim.NAdam: (["lr", "eps", "weight_decay", "momentum_decay"],
                  ["maximize", "decoupled_weight_decay"]),
    optim.RAdam: (["lr", "eps", "weight_decay"], ["maximize", "decoupled_weight_decay"]),
    optim.LBFGS: (["lr", "tolerance_grad", "tolerance_change"], []),
}


def _param():
    return tm.zeros(3, requires_grad=True)


def test_every_exported_optimizer_is_attacked():
    exported = [getattr(optim, n) for n in dir(optim)]
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, optim.Optimizer)}
    assert classes - {optim.Optimizer} <= set(OPTIMIZERS)


@pytest.mark.parametrize("cls", list(OPTIMIZERS), ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=repr)
def test_optimizer_numeric_hyper_parameters_reject_non_numbers(cls, bad):
    for name in OPTIMIZERS[cls][0]:
        with pytest.raises(TypeError, match=rf"{name} must be a real number"):
            cls([_param()], **{name: bad})
        if name != "lr":
            with pytest.raises(ValueError, match=rf"Invalid {name}\w* value: nan"):
                cls([_param()], **{name: math.nan})


@pytest.mark.parametrize("cls", list(OPTIMIZERS), ids=lambda c: c.__name__)
def test_optimizer_flags_reject_strings_and_ints(cls):
    for name in OPTIMIZERS[cls][1]:
        for bad in ("False", 0, None):
            with pytest.raises(TypeError, match=rf"{cls.__name__}: {name} must be a bool"):
                cls([_param()], lr=0.1, momentum=0.9, **{name: bad}) if cls is optim.SGD \
                    else cls([_param()], **{name: bad})


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam, optim.RAdam])
def test_betas_are_checked_entry_by_entry(cls):
    for bad, error in (("ab", TypeError), ((0.9,), ValueError), ((0.9, "0.99"), TypeError),
                       ((True, 0.99), TypeError), ((0.9, math.nan), ValueError), (None, TypeError)):
        with pytest.raises(error, match="beta"):
            cls([_param()], betas=bad)


def test_param_group_overrides_and_loaded_groups_are_checked_too():
    opt = optim.SGD([_param()], lr=0.1)
    with pytest.raises(TypeError, match="nesterov must be a bool"):
        opt.add_param_group({"params": [_param()], "nesterov": "False"})
    sd = opt.state_dict()
    sd["param_groups"][0]["momentum"] = "0.9"
    with pytest.raises(TypeError, match="momentum must be a real number"):
        opt.load_state_dict(sd)
    assert opt.param_groups[0]["momentum"] == 0.0


# --- every scheduler  ---
def _opt():
    return optim.SGD([_param()], lr=0.1, momentum=0.9)


SCHEDULERS = [
    (S.StepLR, {"step_size": 2}, ["gamma"], ["step_size", "last_epoch"], []),
    (S.MultiStepLR, {"milestones": [1, 2]}, ["gamma"], [], []),
    (S.ExponentialLR, {"gamma": 0.9}, ["gamma"], [], []),
    (S.CosineAnnealingLR, {"T_max": 3}, ["eta_min"], ["T_max"], []),
    (S.LinearLR, {}, ["start_factor", "end_factor"], ["total_iters"], []),
    (S.ExponentialDecay, {"decay_steps": 2, "decay_rate": 0.5}, ["decay_rate"], ["decay_steps"],
     ["staircase"]),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10},
     ["max_lr", "pct_start", "div_factor", "final_div_factor", "base_momentum", "max_momentum"],
     ["total_steps"], ["three_phase", "cycle_momentum"]),
    (S.ReduceLROnPlateau, {}, ["factor", "threshold", "eps", "min_lr"], ["patience", "cooldown"],
     []),
]


@pytest.mark.parametrize("spec", SCHEDULERS, ids=lambda s: s[0].__name__)
def test_scheduler_arguments_reject_bad_types(spec):
    cls, base, numbers, ints, flags = spec
    for name in numbers:
        for bad in BAD_NUMBERS:
            if name in ("max_lr", "min_lr", "base_momentum", "max_momentum") \
                    and isinstance(bad, list):
                continue  # a list is a per-group value there
            with pytest.raises(TypeError, match=rf"{name} must be a real number"):
                cls(_opt(), **{**base, name: bad})
    for name in ints:
        for bad in (True, 2.0, "2") + ((None,) if name != "total_steps" else ()):
            with pytest.raises(TypeError, match=rf"{name} must be an int"):
                cls(_opt(), **{**base, name: bad})
    for name in flags:
        for bad in ("False", 0):
            with pytest.raises(TypeError, match=rf"{name} must be a bool"):
                cls(_opt(), **{**base, name: bad})


def test_multisteplr_milestones_are_ints():
    with pytest.raises(TypeError, match=r"milestones\[1\] must be an int"):
        S.MultiStepLR(_opt(), [1, "2"])
    with pytest.raises(TypeError, match="milestones must be a list"):
        S.MultiStepLR(_opt(), "12")


def test_a_failed_scheduler_constructor_leaves_the_optimizer_alone():
    opt = _opt()
    before = [dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups]
    with pytest.raises(TypeError):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10, three_phase="no")
    after = [dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups]
    assert after == before


# --- layers, init, functional  ---
@pytest.mark.parametrize(
    ("make", "name", "error"),
    [
        (lambda v: nn.BatchNorm1d(3, eps=v), "eps", TypeError),
        (lambda v: nn.BatchNorm2d(3, momentum=v), "momentum", TypeError),
        (lambda v: nn.BatchNorm1d(3, affine="False" if v is None else v), "affine", TypeError),
        (lambda v: nn.Linear(2, 2, bias="False" if v is None else v), "bias", TypeError),
        (lambda v: nn.Linear(True, 2), "in_features", TypeError),
        (lambda v: nn.LeakyReLU(v), "negative_slope", TypeError),
        (lambda v: nn.Dropout(v), "probability", TypeError),
        (lambda v: nn.CrossEntropyLoss(label_smoothing=v), "label_smoothing", TypeError),
        (lambda v: nn.CrossEntropyLoss(ignore_index=v), "ignore_index", TypeError),
        (lambda v: nn.AvgPool2d(2, divisor_override=v if v is not None else 1.5),
         "divisor_override", TypeError),
    ],
)
def test_layer_arguments_reject_bad_types(make, name, error):
    for bad in ("a", None, [1.0], True):
        if name == "momentum" and bad is None:
            continue  # BatchNorm's momentum=None is PyTorch's cumulative average
        if name in ("affine", "bias") and bad is True:
            continue
        with pytest.raises(error, match=name):
            make(bad)


def test_init_functions_check_their_numbers_and_dtypes():
    w = tm.zeros(3, 3)
    with pytest.raises(TypeError, match="val must be a number"):
        nn.init.constant_(w, "a")
    with pytest.raises(TypeError, match="std must be a real number"):
        nn.init.normal_(w, std="1")
    with pytest.raises(TypeError, match="b must be a real number"):
        nn.init.uniform_(w, 0.0, None)
    with pytest.raises(TypeError, match="gain must be a real number"):
        nn.init.xavier_uniform_(w, gain="2")
    ints = tm.zeros(3, 3, dtype=tm.int64)
    for fn in (nn.init.normal_, nn.init.uniform_, nn.init.kaiming_uniform_,
               nn.init.xavier_normal_):
        with pytest.raises(TypeError, match="floating point"):
            fn(ints)
    assert np.all(ints.numpy(force=True) == 0)
    nn.init.constant_(ints, 7)
    assert np.all(ints.numpy(force=True) == 7)
    with pytest.raises(TypeError, match="tensor must be a Tensor"):
        nn.init.zeros_(np.zeros(3))


def test_pooling_rejects_negative_padding_and_int_average():
    with pytest.raises(ValueError, match="padding must be non-negative"):
        nn.MaxPool2d(3, padding=-1)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        nn.functional.max_pool2d(tm.zeros(1, 1, 4, 4), 3, padding=-1)
    with pytest.raises(TypeError, match="floating point"):
        nn.AvgPool2d(2)(tm.zeros(1, 1, 4, 4, dtype=tm.int64))


def test_batchnorm_counts_a_batch_only_after_it_passed_every_check():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(TypeError):
        bn(tm.zeros(4, 3, dtype=tm.float64))  # dtype differs from the float32 layer
    assert int(bn.num_batches_tracked.item()) == 0
    bn(tm.randn(4, 3))
    assert int(bn.num_batches_tracked.item()) == 1
    cumulative = nn.BatchNorm1d(3, momentum=None)
    x = tm.randn(5, 3)
    cumulative(x)  # the first batch's statistics replace the initial ones (factor 1/1)
    np.testing.assert_allclose(
        cumulative.running_mean.numpy(force=True), x.numpy(force=True).mean(0), rtol=1e-5
    )


def test_data_arguments():
    ds = tm.data.TensorDataset(tm.zeros(4, 2))
    with pytest.raises(ValueError, match="Invalid seed value: -1"):
        tm.data.random_split(ds, [2, 2], seed=-1)
    with pytest.raises(TypeError, match=r"datasets\[0\] must define __getitem__"):
        tm.data.ConcatDataset([5])
    with pytest.raises(TypeError, match="datasets must be a list"):
        tm.data.ConcatDataset(5)
