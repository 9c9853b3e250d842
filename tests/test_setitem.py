"""Item assignment with PyTorch's autograd semantics, and the version counter that makes a
backward raise when something it saved was modified in place."""

import numpy as np
import pytest

import tinygrad_mom as tm

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RNG = np.random.default_rng(7)


def leaf(values, device):
    return tm.Tensor(np.asarray(values, dtype=np.float64), device=device, requires_grad=True)


def test_plain_assignments(device):
    x = tm.zeros(3, 4, device=device)
    x[0] = 1.0
    x[:, :2] *= 0
    x[1, 3] += 5
    x[tm.tensor([2, 2], device=device), tm.tensor([0, 1], device=device)] = tm.Tensor(
        [7.0, 8.0], device=device)
    x[range(2), [3, 2]] = -1.0
    x[x > 6] = 0
    assert x.tolist() == [[0, 0, 1, -1], [0, 0, -1, 5], [0, 0, 0, 0]]
    v = tm.zeros(3, dtype=tm.int64, device=device)
    for i in [0, 2, 2]:
        v[i] += 1
    assert v.tolist() == [1, 0, 2] and v.dtype == tm.int64
    onehot = tm.zeros(3, 4, device=device)
    onehot[range(3), tm.tensor([1, 0, 3], device=device)] = 1
    assert onehot.argmax(1).tolist() == [1, 0, 3]
    x[...] = tm.Tensor([[1.0, 2.0, 3.0, 4.0]], device=device)  # broadcast, leading 1 dropped
    assert x[2].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_leaf_that_requires_grad_raises_outside_no_grad(device):
    w = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 0.0
    assert w.tolist() == [1.0, 2.0]
    with tm.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0] and w.is_leaf and w.requires_grad


def _grads(lib, program, arrays):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = program(lib, *xs)
    g = np.random.default_rng(3).standard_normal(tuple(out.shape))
    (out * lib.tensor(g)).sum().backward()
    return out.detach().numpy(force=True), [x.grad.numpy(force=True) for x in xs]


def p_slice_imul(lib, x):
    y = x * 2
    y[:, :2] *= 0
    return y


def p_index_iadd(lib, x):
    y = x.exp()
    y = y * 1
    y[1] += 1
    y[0, 2] *= 3
    return y


def p_advanced_value(lib, x, v):
    y = x + 0
    y[range(2), [1, 3]] = v * 3
    return y.tanh()


def p_mask(lib, x):
    y = x * x
    y[y > 0.5] = 0
    return y


def p_into_buffer(lib, x, v):
    buf = lib.zeros(2, 4, dtype=x.dtype)
    buf[0] = v.sin()
    buf[1, 1:3] = x[0, :2]
    return buf * x


PROGRAMS = {
    "slice_imul": (p_slice_imul, [(2, 4)]),
    "index_iadd": (p_index_iadd, [(2, 4)]),
    "advanced_value": (p_advanced_value, [(2, 4), (2,)]),
    "mask": (p_mask, [(2, 4)]),
    "into_buffer": (p_into_buffer, [(2, 4), (4,)]),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_recorded_assignment_gradcheck(device, name):
    program, shapes = PROGRAMS[name]
    arrays = [RNG.uniform(0.2, 1.5, s) * RNG.choice([-1, 1], s) for s in shapes]
    if name == "mask":
        arrays = [np.array([[0.1, 0.9, -0.3, 1.2], [-1.1, 0.2, 0.4, -0.5]])]
    inputs = [leaf(a, device) for a in arrays]
    assert tm.gradcheck(lambda *xs: program(tm, *xs), inputs)
    assert tm.gradgradcheck(lambda *xs: program(tm, *xs), [leaf(a, device) for a in arrays])


@needs_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_recorded_assignment_matches_torch(name):
    program, shapes = PROGRAMS[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    ours, ours_g = _grads(tm, program, arrays)
    ref, ref_g = _grads(torch, program, arrays)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    for a, b in zip(ours_g, ref_g):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_assignment_replaces_the_graph_node(device):
    x = leaf([1.0, 2.0, 3.0], device)
    y = x * 2
    y[0] = 0.0
    assert not y.is_leaf and y.grad_fn.name() == "SetItemBackward0"
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
    buf = tm.zeros(3, device=device)
    buf[1] = x[2]
    assert buf.requires_grad and not buf.is_leaf


# ---------------------------------------------------------------------------------------------
# version counter: a modified saved value raises at backward, never a wrong gradient


def test_modified_input_saved_for_backward_raises(device):
    w = leaf([1.0, 2.0], device)
    x = tm.Tensor([3.0, 4.0], dtype=tm.float64, device=device)
    y = (x * w).sum()
    x[0] = 100.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*MulBackward0"):
        y.backward()


def test_modified_output_saved_for_backward_raises(device):
    x = leaf([0.5, 1.0], device)
    y = x.exp()
    y[1] = 0.0  # exp saved its output
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("modify", [
    lambda t: t.add_(1.0), lambda t: t.mul_(2.0), lambda t: t.zero_(), lambda t: t.fill_(3.0),
    lambda t: t.copy_(tm.ones(2, dtype=tm.float64)), lambda t: t.clamp_(0.0, 1.0),
    lambda t: t.__iadd__(1.0), lambda t: t.detach().__setitem__(0, 9.0),
    lambda t: t[:1].__imul__(2.0),
], ids=["add_", "mul_", "zero_", "fill_", "copy_", "clamp_", "iadd", "detached", "view"])
def test_every_inplace_write_bumps_the_version(modify):
    w = leaf([1.0, 2.0], "cpu")
    x = tm.Tensor([3.0, 4.0], dtype=tm.float64)
    y = (x * w).sum()
    modify(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_modification_before_the_op_or_after_backward_is_fine(device):
    w = leaf([1.0, 2.0], device)
    x = tm.Tensor([3.0, 4.0], dtype=tm.float64, device=device)
    x[0] = 5.0
    y = (x * w).sum()
    y.backward()
    assert w.grad.tolist() == [5.0, 4.0]
    x[1] = 0.0  # the graph is gone: nothing to protect


def test_assignment_into_a_view_of_a_live_tensor_raises(device):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    h = x * 1
    v = h.reshape(4)
    with pytest.raises(RuntimeError, match="view of memory that another tensor"):
        v[0] = 0.0
    assert h.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    w = (x * 1).reshape(4)  # the base is held by nothing else: allowed
    w[0] = 0.0
    w.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 1.0]]


BAD = [
    (ValueError, "cannot assign a value of shape", lambda: tm.zeros(2, 3).__setitem__(
        0, tm.ones(2))),
    (TypeError, "value must be", lambda: tm.zeros(2).__setitem__(0, "a")),
    (IndexError, "out of range", lambda: tm.zeros(2).__setitem__(5, 1.0)),
    (IndexError, "boolean mask", lambda: tm.zeros(2).__setitem__(tm.tensor([True]), 1.0)),
]


@pytest.mark.parametrize("exc, pattern, make", BAD, ids=[p for _, p, _ in BAD])
def test_bad_assignment_changes_nothing(exc, pattern, make):
    with pytest.raises(exc, match=pattern):
        make()


# ---------------------------------------------------------------------------------------------
# in-place methods inside a graph are recorded as an assignment of the whole tensor


def p_inplace_methods(lib, x, v):
    y = x * 1
    y.mul_(v)
    y.add_(v, alpha=2.0)
    y.sub_(0.5)
    y.div_(1.5)
    y.clamp_(-1.0, 1.0)
    buf = lib.zeros(3, dtype=x.dtype)
    buf.add_(v)  # a plain buffer meets a value that requires grad: recorded too
    buf += v * v
    z = y.sum(0)
    z.copy_(buf * 3)
    z.mul_(2.0)
    return z


def test_inplace_methods_gradcheck(device):
    x = leaf(RNG.uniform(0.1, 0.4, (2, 3)), device)
    v = leaf(RNG.uniform(0.1, 0.4, (3,)), device)
    assert tm.gradcheck(lambda a, b: p_inplace_methods(tm, a, b), [x, v])
    assert tm.gradgradcheck(lambda a, b: p_inplace_methods(tm, a, b),
                            [leaf(x.numpy(force=True), device), leaf(v.numpy(force=True), device)])


@needs_torch
def test_inplace_methods_match_torch():
    arrays = [RNG.uniform(0.1, 0.4, (2, 3)), RNG.uniform(0.1, 0.4, (3,))]
    ours, ours_g = _grads(tm, p_inplace_methods, arrays)
    ref, ref_g = _grads(torch, p_inplace_methods, arrays)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    for a, b in zip(ours_g, ref_g):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_zero_fill_and_random_fills_cut_the_gradient(device):
    x = leaf([1.0, 2.0], device)
    for fill in (lambda t: t.zero_(), lambda t: t.fill_(3.0), lambda t: t.uniform_(),
                 lambda t: t.normal_()):
        y = x * 2
        fill(y)
        assert y.grad_fn.name() == "SetItemBackward0"
        (y * x).sum().backward()
        # only through y*x
        np.testing.assert_array_equal(x.grad.numpy(force=True), y.detach().numpy(force=True))
        x.grad = None


@pytest.mark.parametrize("make_opt", [
    lambda ps: tm.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: tm.optim.Adam(ps, lr=0.1),
], ids=["SGD", "Adam"])
def test_an_optimizer_step_counts_as_an_inplace_write(make_opt):
    # PyTorch's classic GAN mistake: a graph built before step() is used after it. The second
    # layer's weight was saved (the first layer's gradient needs it) and then updated: raise,
    # never a gradient from the new weights.
    tm.manual_seed(0)
    model = tm.nn.Sequential(tm.nn.Linear(3, 4), tm.nn.Tanh(), tm.nn.Linear(4, 1))
    opt = make_opt(model.parameters())
    loss = (model(tm.randn(5, 3)) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    for _ in range(2):  # the usual loop, forward after each step, is unaffected
        opt.zero_grad()
        (model(tm.randn(5, 3)) ** 2).sum().backward()
        opt.step()


def test_an_optimizer_step_between_forward_and_backward_raises_in_torch_too():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(torch.randn(5, 3)) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
