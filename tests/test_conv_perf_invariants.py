"""What the fast conv/pool paths must keep: exact results on many geometries and layouts, float32
throughout (no hidden float64 upcasts), no gradient work that is not asked for, no graph under
no_grad. The reference is a direct loop over kernel offsets in float64, written for clarity."""

import itertools

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import conv, ops
from tinygrad_mom.tensor import Function

# ----------------------------------------------------------------------------------------------
# straightforward references (float64, NCHW, one loop over kernel offsets)


def _pad(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), p[0], p[1]), constant_values=value)


def ref_conv(x, w, b, stride, pads, dilation, gy):
    """Output and (gx, gw, gb) of a cross-correlation, by an explicit loop over (a, b)."""
    x, w, gy = x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64)
    xp_ = _pad(x, pads)
    o, c, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    out = np.zeros(gy.shape)
    gxp = np.zeros_like(xp_)
    gw = np.zeros_like(w)
    for a, bb in itertools.product(range(kh), range(kw)):
        r0, c0 = a * dilation[0], bb * dilation[1]
        rows = slice(r0, r0 + stride[0] * (ho - 1) + 1, stride[0])
        cols = slice(c0, c0 + stride[1] * (wo - 1) + 1, stride[1])
        patch = xp_[:, :, rows, cols]  # (N, C, Ho, Wo)
        out += np.einsum("nchw,oc->nohw", patch, w[:, :, a, bb])
        gw[:, :, a, bb] = np.einsum("nohw,nchw->oc", gy, patch)
        gxp[:, :, rows, cols] += np.einsum("nohw,oc->nchw", gy, w[:, :, a, bb])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    h, wd = x.shape[2:]
    gx = gxp[:, :, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + wd]
    return out, gx, gw, gy.sum(axis=(0, 2, 3))


def ref_pool(x, kernel, stride, pad, mode, gy):
    """Max (first maximum gets the gradient) or average pooling, one window at a time."""
    x = x.astype(np.float64)
    value = -np.inf if mode == "max" else 0.0
    xp_ = _pad(x, ((pad[0], pad[0]), (pad[1], pad[1])), value)
    n, c, ho, wo = gy.shape
    out = np.zeros(gy.shape)
    gxp = np.zeros_like(xp_)
    for i, j in itertools.product(range(ho), range(wo)):
        r, q = i * stride[0], j * stride[1]
        win = xp_[:, :, r : r + kernel[0], q : q + kernel[1]].reshape(n, c, -1)
        if mode == "max":
            k = win.argmax(axis=2)  # numpy's argmax returns the first maximum
            out[:, :, i, j] = np.take_along_axis(win, k[..., None], 2)[..., 0]
            gwin = np.zeros_like(win)
            np.put_along_axis(gwin, k[..., None], gy[:, :, i, j][..., None], 2)
        else:
            out[:, :, i, j] = win.mean(axis=2)
            gwin = np.repeat(gy[:, :, i, j][..., None] / win.shape[2], win.shape[2], 2)
        gxp[:, :, r : r + kernel[0], q : q + kernel[1]] += gwin.reshape(n, c, *kernel)
    h, w = x.shape[2:]
    return out, gxp[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w]


# ----------------------------------------------------------------------------------------------
# layouts: contiguous NCHW, channels-last (what a conv returns), and a strided slice


def _layout(a: np.ndarray, layout: str) -> tm.Tensor:
    if layout == "nchw":
        arr = np.ascontiguousarray(a)
    elif layout == "nhwc":
        arr = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    else:  # a non-contiguous view: every other column of a wider array
        wide = np.zeros((*a.shape[:3], 2 * a.shape[3]), a.dtype)
        wide[..., ::2] = a
        arr = wide[..., ::2]
    np.testing.assert_array_equal(arr, a)
    return tm.Tensor._wrap(arr, requires_grad=True)


CONV_CASES = [
    # (N, C, H, W, O, kh, kw, stride, padding, dilation, bias)
    (2, 3, 8, 8, 4, 3, 3, 1, 0, 1, True),
    (2, 3, 9, 7, 5, 3, 2, 2, 1, 1, True),
    (1, 4, 10, 10, 3, 3, 3, (2, 1), (1, 2), 2, False),
    (3, 2, 6, 6, 6, 1, 1, 1, 0, 1, True),
    (2, 5, 7, 9, 2, 5, 3, 1, "same", 1, True),
    (2, 3, 11, 11, 4, 3, 3, 3, 0, 1, True),
    (1, 1, 5, 5, 1, 5, 5, 1, 0, 1, True),
    (2, 8, 6, 6, 8, 2, 2, 2, 0, 1, False),
    (0, 3, 6, 6, 4, 3, 3, 1, 1, 1, True),  # empty batch
    # wide and few channels (kw·C < Wo): NCHW inputs take the transposed im2col
    (2, 3, 10, 20, 4, 3, 3, 1, 1, 1, True),
    (2, 1, 12, 17, 3, 3, 2, (1, 2), 0, 2, False),
    (2, 2, 9, 13, 5, 1, 1, 2, 1, 1, True),
]


def _pairs(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[:7])))
@pytest.mark.parametrize("layout", ["nchw", "nhwc", "strided"])
def test_conv2d_matches_direct_loop(case, layout):
    n, c, h, w, o, kh, kw, stride, padding, dilation, with_bias = case
    rng = np.random.default_rng(hash(case) % 2**32)
    xn = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wn = rng.standard_normal((o, c, kh, kw)).astype(np.float32)
    bn = rng.standard_normal(o).astype(np.float32) if with_bias else None
    x = _layout(xn, layout)
    wt = tm.Tensor(wn, requires_grad=True)
    bt = tm.Tensor(bn, requires_grad=True) if with_bias else None
    out = conv.conv2d(x, wt, bt, stride=stride, padding=padding, dilation=dilation)
    s, d = _pairs(stride), _pairs(dilation)
    pads = conv._padding(padding, (kh, kw), d, s)
    gy = rng.standard_normal(out.shape).astype(np.float32)
    ref_out, ref_gx, ref_gw, ref_gb = ref_conv(xn, wn, bn, s, pads, d, gy)
    out.backward(tm.Tensor(gy))
    assert out.dtype == x.grad.dtype == wt.grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(force=True), ref_out, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x.grad.numpy(force=True), ref_gx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad.numpy(force=True), ref_gw, rtol=1e-4, atol=1e-4)
    assert x.grad.shape == x.shape and wt.grad.shape == wt.shape
    if with_bias:
        np.testing.assert_allclose(bt.grad.numpy(force=True), ref_gb, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunk_bytes", [None, 1])
def test_transposed_im2col_for_nchw_few_channel_inputs(monkeypatch, chunk_bytes):
    """An NCHW input with kw·C < Wo keeps (K, rows) im2col rows; results match the loop, also
    when the batch is processed one sample per chunk."""
    if chunk_bytes is not None:
        monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(11)
    xn = rng.standard_normal((3, 3, 9, 16)).astype(np.float32)
    wn = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bn = rng.standard_normal(4).astype(np.float32)
    x, w, b = (tm.Tensor(a, requires_grad=True) for a in (xn, wn, bn))
    out = conv.conv2d(x, w, b, padding=1)
    cols = out._ctx.saved[0]
    assert cols.shape == (3 * 9 * 16, 28) and cols.T.flags.c_contiguous
    gy = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(tm.Tensor(gy))
    ref_out, ref_gx, ref_gw, ref_gb = ref_conv(xn, wn, bn, (1, 1), ((1, 1), (1, 1)), (1, 1), gy)
    for got, ref in ((out, ref_out), (x.grad, ref_gx), (w.grad, ref_gw), (b.grad, ref_gb)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(force=True), ref, rtol=1e-4, atol=1e-4)
    # a channels-last input of the same values takes the NHWC rows, with the same results
    xl = _layout(xn, "nhwc")
    out_l = conv.conv2d(xl, w, b, padding=1)
    assert out_l._ctx.saved[0].flags.c_contiguous
    np.testing.assert_allclose(out_l.numpy(force=True), out.numpy(force=True), rtol=1e-5, atol=1e-5)


def test_conv2d_float64_is_exact_to_double_precision():
    rng = np.random.default_rng(3)
    xn, wn, bn = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    x, w, b = (tm.Tensor(a, requires_grad=True) for a in (xn, wn, bn))
    out = conv.conv2d(x, w, b, stride=2, padding=1)
    gy = rng.standard_normal(out.shape)
    out.backward(tm.Tensor(gy))
    ref = ref_conv(xn, wn, bn, (2, 2), ((1, 1), (1, 1)), (1, 1), gy)
    for got, want in zip((out, x.grad, w.grad, b.grad), ref, strict=True):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.numpy(force=True), want, rtol=1e-12, atol=1e-12)


POOL_CASES = [
    # (N, C, H, W, kernel, stride, padding)
    (2, 3, 8, 8, 2, None, 0),
    (2, 3, 13, 13, 2, None, 0),  # odd size: the last row and column are never read
    (2, 2, 9, 7, 3, 2, 1),  # overlapping windows with -inf / zero padding
    (1, 4, 10, 10, (3, 2), (1, 2), (1, 1)),
    (2, 2, 6, 6, 1, 1, 0),
    (1, 3, 7, 7, 7, None, 3),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("layout", ["nchw", "nhwc", "strided"])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_matches_window_loop(case, layout, mode):
    n, c, h, w, kernel, stride, padding = case
    rng = np.random.default_rng(hash(case) % 2**32)
    xn = rng.standard_normal((n, c, h, w)).astype(np.float32)
    x = _layout(xn, layout)
    fn = conv.max_pool2d if mode == "max" else conv.avg_pool2d
    out = fn(x, kernel, stride, padding)
    gy = rng.standard_normal(out.shape).astype(np.float32)
    k, p = _pairs(kernel), _pairs(padding)
    s = k if stride is None else _pairs(stride)
    ref_out, ref_gx = ref_pool(xn, k, s, p, mode, gy)
    out.backward(tm.Tensor(gy))
    assert out.dtype == x.grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(force=True), ref_out, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(force=True), ref_gx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_max_pool_backward_writes_every_element_of_unzeroed_memory(monkeypatch, case, layout):
    """Where backward skips zeroing (windows tiling the input), it must still write every
    element, including the strips past the last window of an odd size: allocate NaN-filled
    memory instead of empty memory and compare with the loop."""
    real_new = conv._new

    def nan_filled(xp, shape, dtype, channels_last, zero=True):
        out = real_new(xp, shape, dtype, channels_last, zero)
        if not zero:
            out[...] = np.nan
        return out

    monkeypatch.setattr(conv, "_new", nan_filled)
    n, c, h, w, kernel, stride, padding = case
    rng = np.random.default_rng(hash(case) % 2**31)
    xn = rng.standard_normal((n, c, h, w)).astype(np.float32)
    x = _layout(xn, layout)
    out = conv.max_pool2d(x, kernel, stride, padding)
    gy = rng.standard_normal(out.shape).astype(np.float32)
    k, p = _pairs(kernel), _pairs(padding)
    s = k if stride is None else _pairs(stride)
    out.backward(tm.Tensor(gy))
    _, ref_gx = ref_pool(xn, k, s, p, "max", gy)
    np.testing.assert_allclose(x.grad.numpy(force=True), ref_gx, rtol=1e-6, atol=1e-6)  # NaN fails


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(layout):
    # ReLU outputs are full of exact zeros: ties must follow PyTorch (first in row-major order).
    xn = np.array([[[[0, 0, 1, 1], [0, 0, 1, 0], [2, 1, 0, 0], [2, 2, 0, 3]]]], np.float32)
    x = _layout(xn, layout)
    conv.max_pool2d(x, 2).backward(tm.ones(1, 1, 2, 2))
    want = np.array([[[[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]]], np.float32)
    np.testing.assert_array_equal(x.grad.numpy(force=True), want)


def test_max_pool_propagates_nan_like_pytorch():
    xn = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    xn[0, 0, 0, 0] = np.nan
    out = conv.max_pool2d(tm.Tensor(xn), 2).numpy(force=True).copy()
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 1, 1])


def test_layouts_chain_through_a_network_like_the_seeds():
    """conv → relu → pool → conv → flatten: channels-last memory in the middle, same numbers."""
    rng = np.random.default_rng(5)
    xn = rng.standard_normal((3, 3, 12, 12)).astype(np.float32)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    x, a, b = tm.Tensor(xn), tm.Tensor(w1, requires_grad=True), tm.Tensor(w2, requires_grad=True)
    h = conv.max_pool2d(conv.conv2d(x, a).relu(), 2)
    out = conv.conv2d(h, b).reshape(3, -1)
    # The same computation on plain NCHW float64 arrays.
    r1 = np.maximum(
        ref_conv(xn, w1, None, (1, 1), ((0, 0),) * 2, (1, 1), np.zeros((3, 4, 10, 10)))[0], 0
    )
    r1p = r1.reshape(3, 4, 5, 2, 5, 2).max(axis=(3, 5))
    r2 = ref_conv(r1p, w2, None, (1, 1), ((0, 0),) * 2, (1, 1), np.zeros((3, 5, 3, 3)))[0]
    np.testing.assert_allclose(out.numpy(force=True), r2.reshape(3, -1), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


# ----------------------------------------------------------------------------------------------
# dtypes: float32 in, float32 everywhere (forward outputs, saved arrays, gradients)


def _seed_net_step(dtype):
    rng = np.random.default_rng(6)
    shapes = [(8, 3, 3, 3), (8,), (16, 8, 3, 3), (16,), (16, 16, 3, 3), (16,), (10, 64), (10,)]
    params = [
        tm.Tensor(rng.standard_normal(s).astype(dtype) * 0.1, requires_grad=True) for s in shapes
    ]
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    x = tm.Tensor(rng.standard_normal((4, 3, 22, 22)).astype(dtype))
    h = conv.max_pool2d(conv.conv2d(x, w1, b1).relu(), 2)
    h = conv.avg_pool2d(conv.conv2d(h, w2, b2, padding=1).relu(), 2, padding=0)
    h = conv.conv2d(h, w3, b3, stride=2).relu().reshape(4, -1)
    logits = h @ w4.T + b4
    loss = -ops.log_softmax(logits, 1)[np.arange(4), np.array([1, 2, 3, 0])].mean()
    return loss, params


def test_no_float64_anywhere_in_a_float32_training_step(monkeypatch):
    seen = []

    def spy(cls):
        fwd, bwd = cls.forward, cls.backward

        def forward(self, *arrays, **kw):
            out = fwd(self, *arrays, **kw)
            seen.append((cls.__name__, "forward", np.asarray(out).dtype))
            for s in getattr(self, "saved", ()) or ():
                if s is not None and hasattr(s, "dtype") and s.dtype.kind == "f":
                    seen.append((cls.__name__, "saved", s.dtype))
            return out

        def backward(self, gy):
            grads = bwd(self, gy)
            for g in grads if isinstance(grads, tuple) else (grads,):
                if g is not None:
                    seen.append((cls.__name__, "backward", g.dtype))
            return grads

        monkeypatch.setattr(cls, "forward", forward)
        monkeypatch.setattr(cls, "backward", backward)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in set(subclasses(Function)):
        if "forward" in vars(cls):
            spy(cls)
    loss, params = _seed_net_step(np.float32)
    loss.backward()
    float_dtypes = {d for _, _, d in seen if d.kind == "f"}
    assert float_dtypes == {np.dtype(np.float32)}, [s for s in seen if s[2] == np.float64]
    assert {"Conv2d", "MaxPool2d", "AvgPool2d", "MatMul", "ReLU", "LogSoftmax"} <= {
        name for name, _, _ in seen
    }
    assert all(p.grad.dtype == np.float32 for p in params)


def test_float64_step_stays_float64():
    loss, params = _seed_net_step(np.float64)
    loss.backward()
    assert loss.dtype == np.float64 and all(p.grad.dtype == np.float64 for p in params)


# ----------------------------------------------------------------------------------------------
# no work that is not needed


def test_first_conv_skips_the_input_gradient(monkeypatch):
    """An input that needs no gradient (the images) gets no col2im: no zeros of its shape."""
    x = tm.randn(2, 3, 9, 9)
    w = tm.randn(4, 3, 3, 3, requires_grad=True)
    out = conv.conv2d(x, w)
    padded_shapes = []
    real_zeros = np.zeros

    def zeros(shape, *a, **k):
        padded_shapes.append(tuple(shape) if not isinstance(shape, int) else (shape,))
        return real_zeros(shape, *a, **k)

    monkeypatch.setattr(np, "zeros", zeros)
    out.backward(tm.ones(*out.shape))
    assert x.grad is None and w.grad is not None
    assert (2, 9, 9, 3) not in padded_shapes


def test_no_graph_and_nothing_saved_under_no_grad():
    x = tm.randn(2, 3, 8, 8, requires_grad=True)
    w = tm.randn(4, 3, 3, 3, requires_grad=True)
    with tm.no_grad():
        out = conv.max_pool2d(conv.conv2d(x, w).relu(), 2)
    assert out.grad_fn is None and not out.requires_grad


def test_conv_backward_keeps_only_rows_and_weights():
    """Backward needs the im2col rows and the weight matrix: the input itself is not kept."""
    x = tm.randn(2, 3, 8, 8, requires_grad=True)
    w = tm.randn(4, 3, 3, 3, requires_grad=True)
    out = conv.conv2d(x, w)
    saved = out.grad_fn.saved
    assert len(saved) == 2 and not any(s is x.array for s in saved)
    out.sum().backward()
    assert not hasattr(out.grad_fn, "saved")  # freed after backward


# ----------------------------------------------------------------------------------------------
# the opt-in allocator setting


@pytest.mark.parametrize(
    ("bad", "error"), [(-1, ValueError), (1.5, TypeError), ("256", TypeError), (True, TypeError)]
)
def test_keep_freed_memory_rejects_bad_sizes_before_doing_anything(bad, error):
    with pytest.raises(error, match="max_mib"):
        tm.backend.keep_freed_memory(bad)


def test_keep_freed_memory_applies_in_a_fresh_process():
    # Process-wide and irreversible, so it runs in a child, not in the test session.
    import subprocess
    import sys

    code = (
        "import platform, tinygrad_mom as tm, numpy as np\n"
        "ok = tm.backend.keep_freed_memory(64)\n"
        "assert ok == (platform.libc_ver()[0] == 'glibc'), ok\n"
        "a = np.ones((1 << 22,), np.float32); del a\n"
        "print('ok')\n"
    )
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "ok"


def _channels_last(a) -> bool:
    return a.transpose(0, 2, 3, 1).flags.c_contiguous


def test_conv_relu_pool_chain_stays_channels_last():
    """No transposing copies between layers: every large array keeps the NHWC memory order."""
    x = tm.randn(2, 3, 10, 10)
    w1 = tm.randn(8, 3, 3, 3, requires_grad=True)
    w2 = tm.randn(4, 8, 3, 3, requires_grad=True)
    h = conv.conv2d(x, w1)
    r = h.relu()
    p = conv.max_pool2d(r, 2)
    a = conv.avg_pool2d(p, 1)
    out = conv.conv2d(a, w2)
    for t in (h, r, p, a, out):
        assert _channels_last(t.array), t.grad_fn
    assert _channels_last(p.grad_fn.idx)
    grads = {}
    for name, t in (("r", r), ("p", p)):
        t.grad_fn.backward = _recording(t.grad_fn.backward, grads, name)
    out.backward(tm.ones(*out.shape))
    assert all(_channels_last(g) for g in grads.values()) and set(grads) == {"r", "p"}


def _recording(backward, store, name):
    def wrapped(gy):
        result = backward(gy)
        store[name] = result[0] if isinstance(result, tuple) else result
        return result

    return wrapped
