"""Module, Parameter and the containers: registration, traversal, modes, moves, state_dict, repr."""

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.scale = nn.Parameter(tm.ones(1))
        self.bn = nn.BatchNorm1d(3)
        self.register_buffer("steps", tm.zeros(()))
        self.register_buffer("cache", tm.zeros(2), persistent=False)
        self.fc2 = nn.Linear(3, 2, bias=False)
        self.not_a_param = tm.zeros(5)

    def forward(self, x):
        return self.fc2(self.bn(self.fc1(x)) * self.scale)


def snapshot(model):
    return {k: v.numpy(force=True).copy() for k, v in model.state_dict().items()}


def assert_same(model, snap):
    now = snapshot(model)
    assert now.keys() == snap.keys()
    for k in snap:
        np.testing.assert_array_equal(now[k], snap[k])
        assert now[k].dtype == snap[k].dtype


# --- Parameter ----------------------------------------------------------------------------------
def test_parameter_is_a_tensor_that_requires_grad_and_shares_the_array():
    t = tm.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, tm.Tensor) and p.requires_grad and p.is_leaf
    assert p.array is t.array
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter([1.0, 2.0]).shape == (2,)
    assert nn.Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    out = p * 2  # ops on a Parameter give plain tensors
    assert type(out) is tm.Tensor


def test_parameter_of_integer_data_is_refused():
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(tm.tensor([1, 2]))


# --- registration and traversal -----------------------------------------------------------------
def test_registration_by_assignment_in_insertion_order():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == [
        "scale",
        "fc1.weight",
        "fc1.bias",
        "bn.weight",
        "bn.bias",
        "fc2.weight",
    ]
    assert [n for n, _ in m.named_buffers()] == [
        "steps",
        "cache",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]
    assert [n for n, _ in m.named_children()] == ["fc1", "bn", "fc2"]
    assert list(m.children()) == [m.fc1, m.bn, m.fc2]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert list(m.modules())[0] is m
    assert len(list(m.parameters())) == 6
    assert len(list(m.parameters(recurse=False))) == 1
    assert m.fc2.bias is None
    assert "not_a_param" not in dict(m.named_parameters())
    assert m.get_submodule("bn") is m.bn


def test_state_dict_order_matches_pytorch_and_skips_non_persistent_and_none():
    m = Net()
    assert list(m.state_dict()) == [
        "scale",
        "steps",
        "fc1.weight",
        "fc1.bias",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
        "fc2.weight",
    ]
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not any(v.requires_grad for v in sd.values())
    assert sd["bn.num_batches_tracked"].dtype == tm.int64


def test_shared_parameter_is_listed_once():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    m[1].weight = m[0].weight
    assert len(list(m.parameters())) == 3


def test_reassignment_and_deletion():
    m = nn.Module()
    m.w = nn.Parameter(tm.zeros(2))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = tm.zeros(2)
    m.w = None
    assert list(m.parameters()) == []
    m.sub = nn.Linear(1, 1)
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3
    del m.sub
    assert list(m.children()) == []
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = m.missing


def test_assigning_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tm.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_register_buffer_validation():
    m = nn.Module()
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", tm.zeros(1))
    m.register_buffer("b", tm.zeros(1))
    m.b = tm.ones(1)  # re-assigning a buffer keeps it a buffer
    assert list(m.state_dict()) == ["b"]
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.b = 1.0


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tm.zeros(1))


# --- modes, grads, apply, moves -----------------------------------------------------------------
def test_train_eval_propagate():
    m = Net()
    assert m.training and m.bn.training
    assert m.eval() is m
    assert not m.training and not m.bn.training and not m.fc1.training
    m.train()
    assert all(mod.training for mod in m.modules())
    with pytest.raises(ValueError):
        m.train("yes")


def test_zero_grad_to_none_and_to_zero():
    m = Net()
    m(tm.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.numpy(force=True)).sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_apply_visits_children_then_self():
    m = Net()
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Net"]

    def init_linear(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)

    m.apply(init_linear)
    assert np.all(m.fc1.weight.numpy(force=True) == 0.5) and np.all(
        m.fc2.weight.numpy(force=True) == 0.5
    )


def test_to_moves_in_place_and_returns_self(device):
    m = Net()
    params = list(m.parameters())
    m(tm.randn(5, 4)).sum().backward()
    assert m.to(device) is m
    assert list(m.parameters()) == params  # same objects: optimizers keep working
    for t in [*m.parameters(), *m.buffers()]:
        assert t.device == tm.backend.parse_device(device)
    assert all(p.grad.device == p.device for p in m.parameters())
    out = m(tm.randn(5, 4, device=device))
    assert out.device == tm.backend.parse_device(device)
    m.double()
    assert m.fc1.weight.dtype == tm.float64 and m.fc1.weight.grad.dtype == tm.float64
    assert m.bn.num_batches_tracked.dtype == tm.int64  # integer buffers are never cast
    m.float().cpu()
    assert m.fc1.weight.dtype == tm.float32 and m.fc1.weight.device == "cpu"


def test_to_rejects_bad_arguments_before_changing_anything():
    m = Net()
    with pytest.raises(ValueError, match="Invalid device"):
        m.to("tpu")
    with pytest.raises(TypeError, match="floating point"):
        m.to(tm.int32)
    assert m.fc1.weight.dtype == tm.float32


# --- containers ---------------------------------------------------------------------------------
def test_sequential_indexing_len_iteration_slicing():
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and list(s) == layers
    assert s[0] is layers[0] and s[-1] is layers[2]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    with pytest.raises(IndexError, match="out of range"):
        s[3]
    x = tm.randn(5, 3)
    np.testing.assert_allclose(
        s(x).numpy(force=True), layers[2](layers[1](layers[0](x))).numpy(force=True)
    )
    named = nn.Sequential(OrderedDict([("conv", nn.Identity()), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["conv", "act"]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and [n for n, _ in s.named_children()] == ["0", "1", "2", "3"]
    del s[1]
    assert len(s) == 3


def test_module_list_registers_and_indexes():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    holder = nn.Module()
    holder.blocks = ml
    assert len(list(holder.parameters())) == 6
    assert [n for n, _ in holder.named_parameters()][:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert ml[-1] is list(ml)[2]
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert isinstance(ml[0], nn.Tanh) and len(ml) == 5
    ml += [nn.Identity()]
    assert len(ml) == 6
    del ml[0]
    assert isinstance(ml[0], nn.Linear)
    with pytest.raises(IndexError):
        ml[10]


def test_identity_and_flatten():
    x = tm.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused=1)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)


# --- state_dict / load_state_dict ---------------------------------------------------------------
def test_state_dict_round_trip_is_exact():
    tm.manual_seed(1)
    a = Net()
    a(tm.randn(8, 4))  # moves the running stats and num_batches_tracked
    tm.manual_seed(2)
    b = Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    missing, unexpected = result
    assert missing == [] and unexpected == []
    assert_same(b, snapshot(a))
    x = tm.randn(3, 4)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).numpy(force=True), b(x).numpy(force=True))


def test_load_state_dict_copies_in_place_and_accepts_numpy_arrays():
    m = Net()
    weight = m.fc1.weight
    sd = {
        k: v.numpy(force=True).copy() + 1 if v.dtype.kind == "f" else v.numpy(force=True).copy()
        for k, v in m.state_dict().items()
    }
    m.load_state_dict(sd)
    assert m.fc1.weight is weight  # the same Parameter object, new values
    np.testing.assert_array_equal(m.fc1.weight.numpy(force=True), sd["fc1.weight"])
    sd["fc1.weight"][...] = 7  # no aliasing with the source
    assert not np.any(m.fc1.weight.numpy(force=True) == 7)


def test_state_dict_shares_memory_like_pytorch():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    with tm.no_grad():
        m.weight.fill_(3.0)
    assert np.all(sd["weight"].numpy(force=True) == 3.0)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda sd: sd.pop("fc1.bias"), 'Missing key\\(s\\) in state_dict: "fc1.bias"'),
        (
            lambda sd: sd.__setitem__("extra.w", tm.zeros(1)),
            'Unexpected key\\(s\\) in state_dict: "extra.w"',
        ),
        (lambda sd: sd.__setitem__("fc1.weight", tm.zeros(4, 3)), "size mismatch for fc1.weight"),
        (
            lambda sd: sd.__setitem__("bn.running_var", tm.zeros(3, dtype=tm.float64)),
            "dtype mismatch for bn.running_var",
        ),
        (
            lambda sd: sd.__setitem__("bn.num_batches_tracked", tm.zeros((), dtype=tm.float32)),
            "dtype mismatch for bn.num_batches_tracked",
        ),
        (lambda sd: sd.__setitem__("scale", [1.0]), 'parameter named "scale"'),
    ],
)
def test_load_state_dict_errors_leave_the_model_untouched(corrupt, message):
    tm.manual_seed(3)
    source = Net()
    sd = OrderedDict(
        (
            k,
            tm.Tensor(
                v.numpy(force=True).copy() + 1
                if v.dtype.kind == "f"
                else v.numpy(force=True).copy()
            ),
        )
        for k, v in source.state_dict().items()
    )
    corrupt(sd)
    target = Net()
    before = snapshot(target)
    with pytest.raises(RuntimeError, match=message):
        target.load_state_dict(sd)
    assert_same(target, before)  # the valid keys were not loaded either


def test_load_state_dict_reports_every_error_at_once():
    m = Net()
    sd = m.state_dict()
    sd.pop("scale")
    sd["fc2.weight"] = tm.zeros(9)
    sd["bogus"] = tm.zeros(1)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    text = str(info.value)
    assert '"scale"' in text and "fc2.weight" in text and '"bogus"' in text and "Net" in text


def test_load_state_dict_non_strict_returns_keys_but_still_checks_shapes():
    m = Net()
    sd = m.state_dict()
    sd.pop("fc1.bias")
    sd["extra"] = tm.zeros(1)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["fc1.bias"] and unexpected == ["extra"]
    sd["fc1.weight"] = tm.zeros(1, 1)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        m.load_state_dict(sd, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


# --- repr ---------------------------------------------------------------------------------------
def test_repr_is_pytorch_like_with_parameter_count():
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8, 2),
    )
    text = repr(m)
    assert text.splitlines()[0] == "Sequential("
    assert (
        "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)" in text
    )
    assert (
        "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
        in text
    )
    assert "  (2): ReLU()" in text
    assert "  (4): Linear(in_features=8, out_features=2, bias=True)" in text
    total = 3 * 8 * 9 + 16 + 8 * 2 + 2
    assert text.splitlines()[-1] == f"Total parameters: {total:,}"
    m[0].weight.requires_grad_(False)
    assert repr(m).splitlines()[-1] == f"Total parameters: {total:,} (trainable: {total - 216:,})"
    nested = repr(Net())
    assert "(bn): BatchNorm1d(3," in nested and nested.count("Total parameters") == 1


def test_deepcopy_gives_an_independent_model():
    import copy

    m = Net()
    clone = copy.deepcopy(m)
    assert clone.fc1.weight is not m.fc1.weight and isinstance(clone.fc1.weight, nn.Parameter)
    assert_same(clone, snapshot(m))
    clone(tm.randn(4, 4)).sum().backward()
    assert m.fc1.weight.grad is None
