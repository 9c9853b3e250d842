"""Higher-order gradients, autograd.grad, hooks, anomaly mode and autograd.functional.

Values are checked against derivatives worked out by hand (in the comments) and, where torch
is installed, against PyTorch in float64.
"""

import warnings

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.autograd import functional as AF


def f64(values, device="cpu", requires_grad=True):
    return tm.tensor(np.asarray(values, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------
# autograd.grad and create_graph


def test_second_and_third_derivative_of_a_polynomial(device):
    x = f64([1.5, -2.0], device)
    (g,) = tm.autograd.grad((x**4).sum(), x, create_graph=True)  # 4x³
    (h,) = tm.autograd.grad(g.sum(), x, create_graph=True)  # 12x²
    (t,) = tm.autograd.grad(h.sum(), x)  # 24x
    xs = np.array([1.5, -2.0])
    np.testing.assert_allclose(g.numpy(force=True), 4 * xs**3)
    np.testing.assert_allclose(h.numpy(force=True), 12 * xs**2)
    np.testing.assert_allclose(t.numpy(force=True), 24 * xs)
    assert t.grad_fn is None and not t.requires_grad


def test_grad_leaves_dot_grad_alone_and_returns_fresh_tensors():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    ga, gb = tm.autograd.grad((a + b).sum(), (a, b))
    assert a.grad is None and b.grad is None
    ga.array[0] = 99.0  # the engine hands one array to both inputs of an add: copies
    assert gb.array[0] == 1.0


def test_grad_outputs_is_the_vector_of_a_vjp():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    v = f64([[1.0, 0.0], [0.5, -1.0]], requires_grad=False)
    (g,) = tm.autograd.grad(x * x, x, grad_outputs=v)
    np.testing.assert_allclose(g.numpy(force=True), 2 * x.numpy(force=True) * v.numpy(force=True))


def test_grad_with_respect_to_a_non_leaf():
    x = f64([2.0])
    y = x * 3
    z = (y * y).sum()
    (gy,) = tm.autograd.grad(z, y)
    np.testing.assert_allclose(gy.numpy(force=True), [12.0])  # dz/dy = 2y = 12
    assert x.grad is None


def test_allow_unused_and_materialize_grads():
    x, unused = f64([1.0]), f64([5.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        tm.autograd.grad((x * 2).sum(), (x, unused), retain_graph=True)
    gx, gu = tm.autograd.grad((x * 2).sum(), (x, unused), allow_unused=True, retain_graph=True)
    assert gu is None and gx.item() == 2.0
    _, gz = tm.autograd.grad((x * 2).sum(), (x, unused), materialize_grads=True)
    assert gz.tolist() == [0.0]


def test_retain_graph_defaults_to_create_graph():
    x = f64([1.0])
    y = (x.exp() * x).sum()
    tm.autograd.grad(y, x, create_graph=True)
    tm.autograd.grad(y, x)  # the first call kept the graph
    with pytest.raises(RuntimeError, match="second time"):
        tm.autograd.grad(y, x)


def test_backward_create_graph_gives_leaves_a_differentiable_grad():
    x = f64([0.5, -1.0])
    (x.exp() * x).sum().backward(create_graph=True)  # grad = e^x (x + 1)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()  # d/dx e^x (x + 1) = e^x (x + 2)
    xs = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad.numpy(force=True), np.exp(xs) * (xs + 2))


def test_backward_inputs_limits_accumulation():
    a, b = f64([1.0]), f64([2.0])
    h = a * b
    (h * h).sum().backward(inputs=[a, h])
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(force=True), [2 * 2.0 * 2.0])  # 2ab·b
    np.testing.assert_allclose(h.grad.numpy(force=True), [4.0])  # 2h


def test_autograd_backward_several_outputs():
    x = f64([1.0, 2.0])
    tm.autograd.backward([(x * x).sum(), (3 * x).sum()])
    np.testing.assert_allclose(x.grad.numpy(force=True), 2 * x.numpy(force=True) + 3)


def test_grad_bad_arguments_are_clear():
    x = f64([1.0])
    y = (x * 2).sum()
    with pytest.raises(TypeError, match="inputs must contain only Tensors"):
        tm.autograd.grad(y, [x, 3.0])
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        tm.autograd.grad(y, f64([1.0], requires_grad=False))
    with pytest.raises(ValueError, match="grad_outputs has 2 entries"):
        tm.autograd.grad(y, x, grad_outputs=[None, None])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        tm.autograd.grad(x * 2, x, grad_outputs=f64([1.0, 2.0]))
    tm.autograd.grad(y, x)  # nothing above consumed the graph


def test_first_order_backward_records_nothing():
    x = f64([1.0, 2.0])
    (x.tanh() * x).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


# ---------------------------------------------------------------------------------------------
# hooks and retain_grad


def test_leaf_hook_sees_and_replaces_the_gradient():
    x = f64([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.tolist())
        return g * 10

    handle = x.register_hook(hook)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]]
    assert x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and len(seen) == 1


def test_non_leaf_hook_replaces_the_gradient_flowing_upstream():
    x = f64([1.0])
    y = x * 2
    y.register_hook(lambda g: g * 0)
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0]


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = f64([1.0, 2.0])
    y = x * x
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * 3).sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]
    x.retain_grad()  # a leaf: no-op, as in PyTorch


def test_post_accumulate_grad_hook_runs_after_accumulation():
    p = f64([1.0])
    seen = []
    p.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.item()))
    (p * 4).sum().backward()
    assert seen == [4.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (p * 2).register_post_accumulate_grad_hook(print)


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        f64([1.0], requires_grad=False).register_hook(print)
    with pytest.raises(TypeError, match="callable"):
        f64([1.0]).register_hook(3)
    x = f64([1.0, 2.0])
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="shape"):
        (x * 1).sum().backward()


def test_grad_fn_names_and_next_functions():
    x = f64([1.0])
    y = x * 2 + 1
    assert y.grad_fn.name() == "AddBackward0"
    (mul, _), (const, _) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and const is None
    (acc, _), _ = mul.next_functions
    assert acc.name() == "torch::autograd::AccumulateGrad" and acc.variable is x


def test_node_hook_sees_input_and_output_gradients():
    x = f64([2.0])
    y = x * 3
    seen = []
    y.grad_fn.register_hook(lambda gin, gout: seen.append((gin[0].tolist(), gout[0].tolist())))
    y.sum().backward()
    assert seen == [([3.0], [1.0])]


# ---------------------------------------------------------------------------------------------
# anomaly mode


def test_anomaly_mode_names_the_op_and_the_line():
    x = f64([0.0])
    y = (x.sqrt() * 0).sum()  # sqrt'(0) = inf, times an upstream 0: NaN
    y.backward(retain_graph=True)
    assert np.isnan(x.grad.item())  # off by default: the NaN passes silently

    x = f64([0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tm.autograd.detect_anomaly():
            y = (x.sqrt() * 0).sum()
            with pytest.raises(RuntimeError) as info:
                y.backward()
    message = str(info.value)
    assert "SqrtBackward0" in message and "nan" in message
    assert "test_autograd_higher.py" in message and "x.sqrt()" in message
    assert not tm.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_as_call_and_context():
    with tm.autograd.set_detect_anomaly(True):
        assert tm.autograd.is_anomaly_enabled()
    assert not tm.autograd.is_anomaly_enabled()
    tm.autograd.set_detect_anomaly(True)
    assert tm.autograd.is_anomaly_enabled()
    tm.autograd.set_detect_anomaly(False)
    assert not tm.autograd.is_anomaly_enabled()
    with pytest.raises(TypeError, match="mode must be a bool"):
        tm.autograd.set_detect_anomaly("yes")


# ---------------------------------------------------------------------------------------------
# autograd.functional against hand-derived values


def cubic(x):  # f(x) = x0² x1 + x1³;  ∇f = (2 x0 x1, x0² + 3 x1²);  H = [[2x1, 2x0], [2x0, 6x1]]
    return x[0] ** 2 * x[1] + x[1] ** 3


def test_hessian_jacobian_hvp_vhp_vjp_jvp_by_hand():
    x = f64([1.0, 2.0], requires_grad=False)
    v = f64([1.0, -1.0], requires_grad=False)
    np.testing.assert_allclose(AF.hessian(cubic, x).numpy(force=True), [[4.0, 2.0], [2.0, 12.0]])
    _, hv = AF.hvp(cubic, x, v)
    _, vh = AF.vhp(cubic, x, v)
    np.testing.assert_allclose(hv.numpy(force=True), [2.0, -10.0])
    np.testing.assert_allclose(vh.numpy(force=True), [2.0, -10.0])

    def square(t):  # J = diag(2t)
        return t * t

    np.testing.assert_allclose(AF.jacobian(square, x).numpy(force=True), [[2.0, 0.0], [0.0, 4.0]])
    out, jv = AF.jvp(square, x, v)
    np.testing.assert_allclose(out.numpy(force=True), [1.0, 4.0])
    np.testing.assert_allclose(jv.numpy(force=True), [2.0, -4.0])
    _, vj = AF.vjp(square, x, v)
    np.testing.assert_allclose(vj.numpy(force=True), [2.0, -4.0])
    assert not x.requires_grad and x.grad is None  # the caller's tensor is untouched


def test_functional_tuples_and_strict():
    a, b = f64([1.0, 2.0], requires_grad=False), f64([3.0], requires_grad=False)

    def fn(x, y):
        return (x * y).sum(), x * 2

    jac = AF.jacobian(fn, (a, b))
    np.testing.assert_allclose(jac[0][0].numpy(force=True), [3.0, 3.0])  # d sum(xy)/dx = y
    np.testing.assert_allclose(jac[0][1].numpy(force=True), [3.0])  # d sum(xy)/dy = sum x
    np.testing.assert_allclose(jac[1][0].numpy(force=True), [[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(jac[1][1].numpy(force=True), [[0.0], [0.0]])
    with pytest.raises(RuntimeError, match="strict"):
        AF.jacobian(fn, (a, b), strict=True)
    h = AF.hessian(lambda x, y: (x * x).sum() * y.sum(), (a, b))
    np.testing.assert_allclose(h[0][0].numpy(force=True), 6.0 * np.eye(2))  # 2y I
    np.testing.assert_allclose(h[0][1].numpy(force=True), [[2.0], [4.0]])  # 2x
    with pytest.raises(RuntimeError, match="single one-element"):
        AF.hessian(lambda x: x * 2, a)
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        AF.jacobian(fn, [a, 3.0])


def test_functional_create_graph_stays_differentiable():
    x = f64([1.0, 2.0])
    _, hv = AF.hvp(cubic, x, f64([1.0, 0.0], requires_grad=False), create_graph=True)
    # H·e0 = (2 x1, 2 x0); its sum's gradient wrt x is (2, 2)
    (g,) = tm.autograd.grad(hv.sum(), x)
    np.testing.assert_allclose(g.numpy(force=True), [2.0, 2.0])


def test_newton_on_rosenbrock_converges_in_the_textbook_steps():
    def rosen(t):
        return (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2

    theta = np.array([-1.2, 1.0])
    for _ in range(6):
        x = f64(theta)
        (g,) = tm.autograd.grad(rosen(x), x)
        h = AF.hessian(rosen, f64(theta, requires_grad=False)).numpy(force=True).copy()
        theta = theta - np.linalg.solve(h, g.numpy(force=True).copy())
    np.testing.assert_allclose(theta, [1.0, 1.0], atol=1e-8)


# ---------------------------------------------------------------------------------------------
# against PyTorch, float64


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed: cross-check skipped")
    rng = np.random.default_rng(3)
    w1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    w2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    xn = rng.standard_normal((4, 3))
    labels = np.array([0, 1, 1, 0])

    def penalty(lib, tensors, x, y):
        W1, B1, W2, B2 = tensors
        h = lib.tanh(x @ W1.T + B1)
        logits = lib.sigmoid(h) @ W2.T + B2
        loss = -(lib.log_softmax(logits, 1)[lib.arange(4), y]).mean()
        (gx,) = lib.autograd.grad(loss, x, create_graph=True)
        return (gx * gx).sum()

    ours = [f64(a) for a in (w1, b1, w2, b2)]
    p = penalty(tm, ours, f64(xn), tm.tensor(labels))
    p.backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    q = penalty(torch, theirs, torch.tensor(xn, requires_grad=True), torch.tensor(labels))
    q.backward()
    np.testing.assert_allclose(p.item(), q.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(
            a.grad.numpy(force=True), b.grad.numpy(force=True), rtol=1e-10, atol=1e-12
        )


def test_hessian_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed: cross-check skipped")
    xn = np.array([0.3, -0.7, 1.1])

    def fn(lib, t):
        return (lib.exp(t) * lib.tanh(t[[2, 0, 1]])).sum() + lib.logsumexp(t * t, 0)

    ours = AF.hessian(lambda t: fn(tm, t), f64(xn, requires_grad=False)).numpy(force=True).copy()
    theirs = (
        torch.autograd.functional.hessian(lambda t: fn(torch, t), torch.tensor(xn))
        .numpy(force=True)
        .copy()
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# the picture of the graph


def test_make_dot_shows_ops_shapes_names_memory_and_grads(tmp_path):
    model = tm.nn.Linear(3, 2)
    loss = model(tm.randn(4, 3)).tanh().sum()
    dot = tm.viz.make_dot(loss, params=dict(model.named_parameters()))
    src = dot.source
    assert src.startswith("digraph") and src.rstrip().endswith("}")
    for text in ("TanhBackward0", "MatMulBackward0", "weight\\n(2, 3) float32", "bias",
                 "(4, 2) float32", "keeps 1 array, 32 B"):
        assert text in src, text
    assert "grad" not in src.split("weight")[1].split("]")[0]  # no ‖grad‖ before backward
    loss.backward(retain_graph=True)
    assert "‖grad‖" in tm.viz.make_dot(loss, params=dict(model.named_parameters())).source
    path = dot.save(tmp_path / "g.dot")
    assert path.read_text() == src


def test_make_dot_render_without_graphviz_still_writes_dot(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("no graphviz")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    loss = (f64([1.0]) * 2).sum()
    with pytest.raises(RuntimeError, match=r"tinygrad_mom\[viz\]"):
        tm.viz.make_dot(loss).render(tmp_path / "g.png")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_make_dot_bad_arguments():
    with pytest.raises(TypeError, match="output must be a Tensor"):
        tm.viz.make_dot(3)
    with pytest.raises(TypeError, match="params must map names"):
        tm.viz.make_dot(f64([1.0]), params=[1])
    with pytest.raises(ValueError, match="format"):
        tm.viz.make_dot(f64([1.0])).render("x.bmp")


# ---------------------------------------------------------------------------------------------
# Module.register_full_backward_hook


def test_module_full_backward_hook_sees_grad_input_and_grad_output():
    layer = tm.nn.Linear(3, 2, dtype=tm.float64)
    seen = []
    handle = layer.register_full_backward_hook(
        lambda m, gin, gout: seen.append(
            (
                m,
                [g.numpy(force=True).copy() for g in gin],
                [g.numpy(force=True).copy() for g in gout],
            )
        )
    )
    x = f64(np.ones((4, 3)))
    w = np.arange(8.0).reshape(4, 2)
    (layer(x) * f64(w, requires_grad=False)).sum().backward()
    (module, (gin,), (gout,)), = seen
    assert module is layer
    np.testing.assert_allclose(gout, w)  # dL/dy
    np.testing.assert_allclose(gin, w @ layer.weight.numpy(force=True))  # dL/dx = dL/dy · W
    handle.remove()
    layer(x).sum().backward()
    assert len(seen) == 1


def test_module_backward_hook_on_data_input_and_replacement():
    layer = tm.nn.Linear(2, 2, dtype=tm.float64)
    seen = []
    layer.register_full_backward_hook(lambda m, gin, gout: seen.append(gin))
    layer(f64(np.ones((1, 2)), requires_grad=False)).sum().backward()
    assert seen == [(None,)]  # the data needs no gradient, as in PyTorch

    x = f64(np.ones((1, 2)))
    layer.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0,))
    layer(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]]
    with pytest.raises(TypeError, match="callable"):
        layer.register_full_backward_hook("no")
