"""conv2d / max_pool2d / avg_pool2d: forward against a direct loop, gradcheck, bad input."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.conv import avg_pool2d, conv2d, max_pool2d

RNG = np.random.default_rng(7)


def _pad_hw(x, pads, value=0.0):
    (pt, pb), (pl, pr) = pads
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=value)


def _pads(padding, kernel, dilation):
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in total)
    if padding == "valid":
        return (0, 0), (0, 0)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    return (p[0], p[0]), (p[1], p[1])


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def conv2d_reference(x, w, b, stride, padding, dilation):
    """Direct six-loop cross-correlation (no im2col), float64."""
    stride, dilation = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    xp = _pad_hw(x, _pads(padding, (kh, kw), dilation))
    n, c, h, wd = xp.shape
    ho = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, w.shape[0], ho, wo))
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for bb in range(kw):
                    patch = xp[
                        :, :, i * stride[0] + a * dilation[0], j * stride[1] + bb * dilation[1]
                    ]
                    out[:, :, i, j] += patch @ w[:, :, a, bb].T
    if b is not None:
        out += b[None, :, None, None]
    return out


def pool_reference(x, kernel, stride, padding, reduce):
    kernel = _pair(kernel)
    stride = kernel if stride is None else _pair(stride)
    p = _pair(padding)
    fill = -np.inf if reduce is np.max else 0.0
    xp = _pad_hw(x, ((p[0], p[0]), (p[1], p[1])), fill)
    ho = (xp.shape[2] - kernel[0]) // stride[0] + 1
    wo = (xp.shape[3] - kernel[1]) // stride[1] + 1
    out = np.zeros((*x.shape[:2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[
                :,
                :,
                i * stride[0] : i * stride[0] + kernel[0],
                j * stride[1] : j * stride[1] + kernel[1],
            ]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def distinct(shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 - n * 0.05 + RNG.uniform(0, 0.02, n)).reshape(shape)


def leaf(a, device):
    return tm.Tensor(a, dtype=tm.float64, device=device, requires_grad=True)


CONV_CASES = {
    "basic": dict(x=(2, 2, 5, 5), w=(3, 2, 3, 3), stride=1, padding=0, dilation=1),
    "stride2": dict(x=(1, 2, 6, 5), w=(2, 2, 3, 3), stride=2, padding=0, dilation=1),
    "stride_pair": dict(x=(1, 1, 6, 7), w=(2, 1, 2, 3), stride=(2, 1), padding=0, dilation=1),
    "padding1": dict(x=(2, 1, 4, 4), w=(2, 1, 3, 3), stride=1, padding=1, dilation=1),
    "padding_pair": dict(x=(1, 2, 4, 3), w=(1, 2, 3, 2), stride=1, padding=(2, 1), dilation=1),
    "dilation2": dict(x=(1, 2, 7, 7), w=(2, 2, 3, 3), stride=1, padding=0, dilation=2),
    "dilation_stride_pad": dict(
        x=(1, 1, 8, 8), w=(2, 1, 3, 2), stride=2, padding=1, dilation=(2, 1)
    ),
    "same_odd": dict(x=(1, 2, 5, 5), w=(2, 2, 3, 3), stride=1, padding="same", dilation=1),
    "same_even": dict(x=(1, 1, 5, 4), w=(2, 1, 4, 2), stride=1, padding="same", dilation=1),
    "same_dilated": dict(x=(1, 1, 6, 6), w=(1, 1, 3, 3), stride=1, padding="same", dilation=2),
    "valid": dict(x=(1, 1, 4, 4), w=(1, 1, 2, 2), stride=1, padding="valid", dilation=1),
    "1x1": dict(x=(2, 3, 3, 3), w=(4, 3, 1, 1), stride=1, padding=0, dilation=1),
}


def _conv_args(case):
    return {k: case[k] for k in ("stride", "padding", "dilation")}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv2d_forward(device, name, bias):
    case = CONV_CASES[name]
    x, w = RNG.standard_normal(case["x"]), RNG.standard_normal(case["w"])
    b = RNG.standard_normal(case["w"][0]) if bias else None
    expected = conv2d_reference(x, w, b, **_conv_args(case))
    for dtype, tol in [
        (np.float64, dict(rtol=1e-12, atol=1e-12)),
        (np.float32, dict(rtol=1e-5, atol=1e-5)),
    ]:
        out = conv2d(
            tm.Tensor(x.astype(dtype), device=device),
            tm.Tensor(w.astype(dtype), device=device),
            None if b is None else tm.Tensor(b.astype(dtype), device=device),
            **_conv_args(case),
        )
        assert out.dtype == dtype and out.shape == expected.shape
        np.testing.assert_allclose(out.numpy(force=True), expected, **tol)


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv2d_gradcheck(device, name):
    case = CONV_CASES[name]
    inputs = [
        leaf(RNG.standard_normal(case["x"]), device),
        leaf(RNG.standard_normal(case["w"]), device),
        leaf(RNG.standard_normal(case["w"][0]), device),
    ]
    assert tm.gradcheck(lambda x, w, b: conv2d(x, w, b, **_conv_args(case)), inputs)


def test_conv2d_gradcheck_non_contiguous_and_partial(device):
    x = leaf(RNG.standard_normal((5, 5, 2, 1)), device)  # NCHW after permute: (1, 2, 5, 5)
    w = leaf(RNG.standard_normal((3, 2, 2, 2)), device)
    assert tm.gradcheck(
        lambda a, k: conv2d(a.permute(3, 2, 0, 1), k.transpose(2, 3), padding=1), [x, w]
    )
    const_w = tm.Tensor(RNG.standard_normal((2, 2, 2, 2)), device=device)
    assert tm.gradcheck(lambda a: conv2d(a.permute(3, 2, 0, 1), const_w), [x])
    const_x = tm.Tensor(RNG.standard_normal((1, 2, 4, 4)), device=device)
    assert tm.gradcheck(lambda k: conv2d(const_x, k, stride=2), [w])


POOL_CASES = {
    "k2": dict(kernel_size=2, stride=None, padding=0, x=(2, 2, 4, 4)),
    "k2_odd_input": dict(kernel_size=2, stride=None, padding=0, x=(1, 1, 5, 5)),
    "k3_s1_overlap": dict(kernel_size=3, stride=1, padding=0, x=(1, 2, 5, 4)),
    "k3_s2_pad1": dict(kernel_size=3, stride=2, padding=1, x=(1, 1, 5, 5)),
    "pair_kernel": dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), x=(1, 1, 4, 6)),
}


@pytest.mark.parametrize("name", sorted(POOL_CASES))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_forward(device, kind, name):
    case = dict(POOL_CASES[name])
    shape = case.pop("x")
    x = RNG.standard_normal(shape)
    fn, reduce = (max_pool2d, np.max) if kind == "max" else (avg_pool2d, np.mean)
    expected = pool_reference(x, case["kernel_size"], case["stride"], case["padding"], reduce)
    for dtype, tol in [
        (np.float64, dict(rtol=1e-12, atol=1e-15)),
        (np.float32, dict(rtol=1e-5, atol=1e-6)),
    ]:
        out = fn(tm.Tensor(x.astype(dtype), device=device), **case)
        assert out.dtype == dtype and out.shape == expected.shape
        np.testing.assert_allclose(out.numpy(force=True), expected, **tol)


@pytest.mark.parametrize("name", sorted(POOL_CASES))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradcheck(device, kind, name):
    case = dict(POOL_CASES[name])
    shape = case.pop("x")
    fn = max_pool2d if kind == "max" else avg_pool2d
    x = leaf(distinct(shape), device)  # distinct values: no ties inside a max window
    assert tm.gradcheck(lambda t: fn(t, **case), [x])
    assert tm.gradcheck(
        lambda t: fn(t.transpose(2, 3), **case), [leaf(distinct(shape[:2] + shape[:1:-1]), device)]
    )


def test_overlapping_max_pool_accumulates(device):
    # the centre element is the max of all four 2x2 windows with stride 1
    x = tm.Tensor(
        [[[[0.0, 1.0, 0.0], [1.0, 9.0, 1.0], [0.0, 1.0, 0.0]]]], device=device, requires_grad=True
    )
    max_pool2d(x, 2, stride=1).sum().backward()
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(x.grad.numpy(force=True), expected)


def test_against_torch_when_installed(device):
    torch = pytest.importorskip("torch")
    x, w, b = (
        RNG.standard_normal((2, 3, 7, 6)),
        RNG.standard_normal((4, 3, 3, 2)),
        RNG.standard_normal(4),
    )
    for kw in [
        dict(stride=2, padding=1, dilation=1),
        dict(stride=1, padding="same", dilation=2),
        dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1)),
    ]:
        tx, tw, tb = (leaf(a, device) for a in (x, w, b))
        out = conv2d(tx, tw, tb, **kw)
        px, pw, pb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ref = torch.nn.functional.conv2d(px, pw, pb, **kw)
        np.testing.assert_allclose(
            out.numpy(force=True), ref.detach().numpy(force=True), rtol=1e-12, atol=1e-12
        )
        g = RNG.standard_normal(ref.shape)
        out.backward(tm.Tensor(g, device=device))
        ref.backward(torch.tensor(g))
        for mine, theirs in [(tx, px), (tw, pw), (tb, pb)]:
            np.testing.assert_allclose(
                mine.grad.numpy(force=True).copy(),
                theirs.grad.numpy(force=True).copy(),
                rtol=1e-10,
                atol=1e-12,
            )
    for kw in [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=1, padding=(1, 1)),
    ]:
        for mine_fn, torch_fn in [
            (max_pool2d, torch.nn.functional.max_pool2d),
            (avg_pool2d, torch.nn.functional.avg_pool2d),
        ]:
            np.testing.assert_allclose(
                mine_fn(tm.Tensor(x, device=device), **kw).numpy(force=True).copy(),
                torch_fn(torch.tensor(x), **kw).numpy(force=True).copy(),
                rtol=1e-12,
                atol=1e-15,
            )


BAD = [
    (ValueError, "channels", lambda: conv2d(tm.ones(1, 3, 5, 5), tm.ones(2, 2, 3, 3))),
    (ValueError, "4-D", lambda: conv2d(tm.ones(3, 5, 5), tm.ones(2, 3, 3, 3))),
    (ValueError, "weight must be 4-D", lambda: conv2d(tm.ones(1, 3, 5, 5), tm.ones(3, 3, 3))),
    (ValueError, "bias", lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(2, 1, 3, 3), tm.ones(3))),
    (
        ValueError,
        "same",
        lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(1, 1, 3, 3), stride=2, padding="same"),
    ),
    (
        ValueError,
        "padding",
        lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(1, 1, 3, 3), padding="full"),
    ),
    (
        ValueError,
        "non-negative",
        lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(1, 1, 3, 3), padding=-1),
    ),
    (ValueError, ">= 1", lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(1, 1, 3, 3), stride=0)),
    (ValueError, "larger", lambda: conv2d(tm.ones(1, 1, 2, 2), tm.ones(1, 1, 3, 3))),
    (TypeError, "stride", lambda: conv2d(tm.ones(1, 1, 5, 5), tm.ones(1, 1, 3, 3), stride=1.5)),
    (ValueError, "4-D", lambda: max_pool2d(tm.ones(4, 4), 2)),
    (ValueError, "larger", lambda: avg_pool2d(tm.ones(1, 1, 2, 2), 3)),
    (ValueError, "half the kernel", lambda: max_pool2d(tm.ones(1, 1, 6, 6), 2, padding=2)),
    (ValueError, ">= 1", lambda: max_pool2d(tm.ones(1, 1, 4, 4), 0)),
    (TypeError, "Tensor", lambda: max_pool2d(np.ones((1, 1, 4, 4)), 2)),
]


@pytest.mark.parametrize("exc, pattern, make", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input(exc, pattern, make):
    with pytest.raises(exc, match=pattern):
        make()
