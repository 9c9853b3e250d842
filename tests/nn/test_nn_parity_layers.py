"""Layers and losses added for PyTorch parity: recurrent layers and cells, LayerNorm,
GroupNorm, Embedding, Upsample/interpolate, 1-d pooling, Dropout2d, lazy layers, and the
robust-regression / divergence / metric-learning losses.

Each is gradchecked (float64, random upstream gradient) and compared with PyTorch from the
same weights where torch is installed (skipped with a reason otherwise).
"""

import warnings

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom import nn

RNG = np.random.default_rng(7)


def torch_or_skip():
    return pytest.importorskip("torch", reason="torch is not installed: cross-check skipped")


def f64(a, device="cpu", requires_grad=True):
    return tm.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=requires_grad)


def load_from_torch(ours, theirs):
    state = {
        k: tm.tensor(v.detach().numpy(force=True).copy()) for k, v in theirs.state_dict().items()
    }
    result = ours.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ---------------------------------------------------------------------------------------------
# recurrent layers


RECURRENT_CASES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("LSTM", {"proj_size": 2}),
    ("LSTM", {"proj_size": 3, "num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("LSTM", {"proj_size": 1, "num_layers": 2, "bias": False}),
    ("GRU", {"bias": False}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
]


@pytest.mark.parametrize("name,kwargs", RECURRENT_CASES)
def test_recurrent_layers_match_torch(name, kwargs):
    torch = torch_or_skip()
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(3, 4, **kwargs).double()
    ours = getattr(nn, name)(3, 4, **kwargs, dtype=tm.float64)
    load_from_torch(ours, theirs)
    x = RNG.standard_normal((5, 2, 3))
    tx, ox = torch.tensor(x, requires_grad=True), f64(x)
    t_out, t_state = theirs(tx)
    o_out, o_state = ours(ox)
    np.testing.assert_allclose(
        o_out.numpy(force=True), t_out.detach().numpy(force=True), atol=1e-12
    )
    t_states = t_state if isinstance(t_state, tuple) else (t_state,)
    o_states = o_state if isinstance(o_state, tuple) else (o_state,)
    for a, b in zip(o_states, t_states):
        np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(force=True), atol=1e-12)
    w = RNG.standard_normal(t_out.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (o_out * f64(w, requires_grad=False)).sum().backward()
    np.testing.assert_allclose(ox.grad.numpy(force=True), tx.grad.numpy(force=True), atol=1e-12)
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        np.testing.assert_allclose(p1.grad.numpy(force=True), p2.grad.numpy(force=True), atol=1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch_batched_and_unbatched(name):
    torch = torch_or_skip()
    theirs = getattr(torch.nn, name)(3, 4).double()
    ours = getattr(nn, name)(3, 4, dtype=tm.float64)
    load_from_torch(ours, theirs)
    for shape in [(2, 3), (3,)]:
        x = RNG.standard_normal(shape)
        t, o = theirs(torch.tensor(x)), ours(f64(x, requires_grad=False))
        t, o = (t[1], o[1]) if isinstance(t, tuple) else (t, o)
        np.testing.assert_allclose(o.numpy(force=True), t.detach().numpy(force=True), atol=1e-12)


def test_lstm_proj_size_with_initial_state_unbatched_matches_torch():
    torch = torch_or_skip()
    torch.manual_seed(1)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).double()
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=tm.float64)
    load_from_torch(ours, theirs)
    assert ours.weight_hr_l1_reverse.shape == (2, 4) and ours.weight_ih_l1.shape == (16, 4)
    assert ours.weight_hh_l0.shape == (16, 2)
    for batch in [(2,), ()]:
        x = RNG.standard_normal((5,) + batch + (3,))
        h0 = RNG.standard_normal((4,) + batch + (2,))
        c0 = RNG.standard_normal((4,) + batch + (4,))
        t_out, (t_h, t_c) = theirs(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
        o_out, (o_h, o_c) = ours(f64(x), (f64(h0), f64(c0)))
        assert o_out.shape == tuple(t_out.shape) == (5,) + batch + (4,)
        for a, b in [(o_out, t_out), (o_h, t_h), (o_c, t_c)]:
            np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(), atol=1e-12)


def test_lstm_proj_size_gradcheck(device):
    lstm = nn.LSTM(2, 3, proj_size=2, bidirectional=True, dtype=tm.float64, device=device)
    h0 = f64(RNG.standard_normal((2, 2, 2)), device)
    c0 = f64(RNG.standard_normal((2, 2, 3)), device)
    x = f64(RNG.standard_normal((3, 2, 2)), device)
    params = [lstm.weight_hr_l0, lstm.weight_hr_l0_reverse]
    assert tm.gradcheck(lambda a, h, c, *w: lstm(a, (h, c))[0], [x, h0, c0, *params])
    assert tm.gradgradcheck(lambda a, h, c: lstm(a, (h, c))[0], [x[:2], h0, c0])


def test_recurrent_gradcheck_and_initial_state(device):
    lstm = nn.LSTM(2, 3, dtype=tm.float64, device=device)
    h0 = f64(RNG.standard_normal((1, 2, 3)), device)
    c0 = f64(RNG.standard_normal((1, 2, 3)), device)
    x = f64(RNG.standard_normal((4, 2, 2)), device)
    assert tm.gradcheck(lambda a, h, c: lstm(a, (h, c))[0], [x, h0, c0])
    assert tm.gradgradcheck(lambda a, h, c: lstm(a, (h, c))[0], [x[:2], h0, c0])
    gru = nn.GRUCell(2, 3, dtype=tm.float64, device=device)
    gru_inputs = [f64(RNG.standard_normal((2, 2)), device),
                  f64(RNG.standard_normal((2, 3)), device)]
    assert tm.gradcheck(lambda a, h: gru(a, h), gru_inputs)
    assert tm.gradgradcheck(lambda a, h: gru(a, h), gru_inputs)


def test_recurrent_defaults_init_and_errors():
    rnn = nn.GRU(3, 5, num_layers=2)
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.numpy(force=True)).max() <= bound for p in rnn.parameters())
    assert [n for n, _ in rnn.named_parameters()][:4] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert rnn.weight_ih_l1.shape == (15, 5)
    out, h = rnn(tm.randn(7, 2, 3))
    assert out.shape == (7, 2, 5) and h.shape == (2, 2, 5)
    with pytest.raises(ValueError, match="input_size=3"):
        rnn(tm.randn(7, 2, 4))
    with pytest.raises(ValueError, match="hx has shape"):
        rnn(tm.randn(7, 2, 3), tm.zeros(1, 2, 5))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        nn.LSTM(3, 5)(tm.randn(7, 2, 3), tm.zeros(1, 2, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 5, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 5, proj_size=-1)
    with pytest.raises(ValueError, match=r"h_0 has shape \(2, 2, 5\), expected \(2, 2, 2\)"):
        nn.LSTM(3, 5, 2, proj_size=2)(tm.randn(7, 2, 3), (tm.zeros(2, 2, 5), tm.zeros(2, 2, 5)))
    assert repr(nn.LSTM(3, 5, proj_size=2)).startswith("LSTM(3, 5, proj_size=2)")
    with pytest.raises(TypeError, match="hidden_size"):
        nn.RNN(3, "5")
    assert repr(nn.LSTM(3, 5, 2, batch_first=True)).startswith(
        "LSTM(3, 5, num_layers=2, batch_first=True)")


def test_recurrent_dropout_only_between_layers_in_training():
    rnn = nn.RNN(2, 3, num_layers=2, dropout=0.5)
    x = tm.randn(4, 1, 2)
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    rnn.train()
    outs = {tuple(np.round(rnn(x)[0].numpy(force=True).copy().ravel(), 6)) for _ in range(5)}
    assert len(outs) > 1


# ---------------------------------------------------------------------------------------------
# normalisation, embedding


def test_layer_norm_and_group_norm_match_torch():
    torch = torch_or_skip()
    x = RNG.standard_normal((2, 6, 3, 4))
    ln_t, ln_o = torch.nn.LayerNorm((3, 4)).double(), nn.LayerNorm((3, 4), dtype=tm.float64)
    gn_t, gn_o = torch.nn.GroupNorm(3, 6).double(), nn.GroupNorm(3, 6, dtype=tm.float64)
    for t_mod, o_mod in ((ln_t, ln_o), (gn_t, gn_o)):
        with torch.no_grad():
            for p in t_mod.parameters():
                p.copy_(torch.tensor(RNG.standard_normal(p.shape)))
        load_from_torch(o_mod, t_mod)
        np.testing.assert_allclose(
            o_mod(f64(x, requires_grad=False)).numpy(force=True),
            t_mod(torch.tensor(x)).detach().numpy(force=True).copy(),
            atol=1e-12,
        )


def test_normalization_gradcheck_and_gradgradcheck(device):
    x = f64(RNG.standard_normal((2, 4, 3)), device)
    w, b = f64(RNG.standard_normal(3), device), f64(RNG.standard_normal(3), device)
    assert tm.gradcheck(lambda a, ww, bb: F.layer_norm(a, 3, ww, bb), [x, w, b])
    assert tm.gradgradcheck(lambda a, ww, bb: F.layer_norm(a, 3, ww, bb), [x, w, b])
    assert tm.gradgradcheck(lambda a: F.layer_norm(a, (4, 3)), [x])
    g = f64(RNG.standard_normal(4), device)
    assert tm.gradcheck(lambda a, gg: F.group_norm(a, 2, gg), [x, g])
    assert tm.gradgradcheck(lambda a, gg: F.group_norm(a, 2, gg), [x, g])


def test_normalization_errors():
    with pytest.raises(ValueError, match="does not end with"):
        F.layer_norm(tm.randn(2, 3), (4,))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.LayerNorm("3")


def test_embedding_matches_torch_and_padding_gets_no_gradient():
    torch = torch_or_skip()
    theirs = torch.nn.Embedding(5, 3, padding_idx=1).double()
    ours = nn.Embedding(5, 3, padding_idx=1, dtype=tm.float64)
    load_from_torch(ours, theirs)
    idx = np.array([[0, 1, 4], [1, 1, 2]])
    t, o = theirs(torch.tensor(idx)), ours(tm.tensor(idx))
    np.testing.assert_allclose(o.numpy(force=True), t.detach().numpy(force=True))
    w = RNG.standard_normal(t.shape)
    (t * torch.tensor(w)).sum().backward()
    (o * f64(w, requires_grad=False)).sum().backward()
    np.testing.assert_allclose(
        ours.weight.grad.numpy(force=True), theirs.weight.grad.numpy(force=True)
    )
    assert np.all(ours.weight.grad.numpy(force=True)[1] == 0)


def test_embedding_init_pretrained_and_errors():
    emb = nn.Embedding(10, 4, padding_idx=-1)
    assert emb.padding_idx == 9 and np.all(emb.weight.numpy(force=True)[9] == 0)
    pre = nn.Embedding.from_pretrained(tm.ones(3, 2))
    assert not pre.weight.requires_grad
    with pytest.raises(IndexError, match="out of range"):
        emb(tm.tensor([10]))
    with pytest.raises(TypeError, match="integer indices"):
        emb(tm.tensor([1.0]))
    with pytest.raises(ValueError, match="sparse=True"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(ValueError, match="sparse=True"):
        F.embedding(tm.tensor([0]), tm.ones(3, 2), sparse=True)
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(3, 2, max_norm=-1.0)
    with pytest.raises(TypeError, match="scale_grad_by_freq"):
        nn.Embedding(3, 2, scale_grad_by_freq=1)
    with pytest.raises(ValueError, match="norm_type"):
        F.embedding(tm.tensor([0]), tm.ones(3, 2), max_norm=1.0, norm_type=0)
    before = tm.ones(3, 2) * 5
    with pytest.raises(IndexError):  # checked before the renorm writes anything
        F.embedding(tm.tensor([0, 3]), before, max_norm=1.0)
    assert np.all(before.numpy() == 5)


EMBEDDING_OPTIONS = [
    {"max_norm": 1.0},
    {"max_norm": 1.5, "norm_type": 1.0},
    {"max_norm": 0.7, "norm_type": float("inf"), "padding_idx": 2},
    {"scale_grad_by_freq": True},
    {"scale_grad_by_freq": True, "padding_idx": 1, "max_norm": 2.0, "norm_type": 3.0},
]


@pytest.mark.parametrize("kwargs", EMBEDDING_OPTIONS)
def test_embedding_max_norm_and_scale_grad_by_freq_match_torch(kwargs):
    torch = torch_or_skip()
    torch.manual_seed(3)
    theirs = torch.nn.Embedding(6, 3, **kwargs).double()
    ours = nn.Embedding(6, 3, **kwargs, dtype=tm.float64)
    load_from_torch(ours, theirs)
    assert repr(ours).split("\n")[0].startswith(repr(theirs))
    idx = np.array([[0, 1, 4], [1, 1, 2]])
    for _ in range(2):  # the second call sees the renormalised rows
        t, o = theirs(torch.tensor(idx)), ours(tm.tensor(idx))
        np.testing.assert_allclose(o.numpy(force=True), t.detach().numpy(), atol=1e-15)
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                                   atol=1e-15)  # in place, only the looked-up rows
        w = RNG.standard_normal(t.shape)
        (t * torch.tensor(w)).sum().backward()
        (o * f64(w, requires_grad=False)).sum().backward()
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   atol=1e-15)
    ft = torch.nn.functional.embedding(torch.tensor(idx), theirs.weight.detach().clone(),
                                       **kwargs)
    fo = F.embedding(tm.tensor(idx), ours.weight.detach().clone(), **kwargs)
    np.testing.assert_allclose(fo.numpy(), ft.numpy(), atol=1e-15)


def test_embedding_max_norm_renorms_in_place_outside_autograd():
    weight = tm.tensor(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]), requires_grad=True)
    out = F.embedding(tm.tensor([0, 1]), weight, max_norm=1.0)
    w = weight.detach().numpy()
    np.testing.assert_allclose(w[0], np.array([3.0, 4.0]) / (5 + 1e-7))
    np.testing.assert_allclose(w[1:], [[0.3, 0.4], [6.0, 8.0]])  # under the norm / not looked up
    out.sum().backward()  # the lookup does not save the weight: the renorm is no conflict
    np.testing.assert_allclose(weight.grad.numpy(), [[1, 1], [1, 1], [0, 0]])
    # a graph that saved the weight before the renorm raises at backward (PyTorch's rule)
    saved = (weight * weight).sum()
    F.embedding(tm.tensor([2]), weight, max_norm=1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.backward()


def test_embedding_scale_grad_by_freq_by_hand(device):
    # not the derivative of the lookup (so no gradcheck/gradgradcheck, as in PyTorch): each
    # row's gradient is divided by its count in the batch
    idx_array = np.array([[0, 2, 2], [3, 2, 0]])
    idx = tm.tensor(idx_array, device=device)
    weight = f64(RNG.standard_normal((4, 3)), device)
    g = RNG.standard_normal((2, 3, 3))
    out = F.embedding(idx, weight, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.numpy(force=True), weight.numpy(force=True)[idx_array])
    out.backward(tm.tensor(g, device=device))
    expected = np.zeros((4, 3))
    counts = np.bincount(idx_array.ravel(), minlength=4)
    np.add.at(expected, idx_array, g / counts[idx_array][..., None])
    np.testing.assert_allclose(weight.grad.numpy(force=True), expected, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# resizing, 1-d pooling, channel dropout


INTERPOLATE_CASES = [
    ((1, 2, 3, 4), {"scale_factor": 2, "mode": "nearest"}),
    ((1, 2, 3, 4), {"size": (5, 7), "mode": "nearest"}),
    ((1, 2, 3, 4), {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
    ((1, 2, 3, 4), {"size": (5, 3), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 5), {"scale_factor": 1.5, "mode": "linear", "align_corners": False}),
    ((2, 1, 6), {"size": 4, "mode": "nearest"}),
]


@pytest.mark.parametrize("shape,kwargs", INTERPOLATE_CASES)
def test_interpolate_matches_torch(shape, kwargs):
    torch = torch_or_skip()
    x = RNG.standard_normal(shape)
    tx, ox = torch.tensor(x, requires_grad=True), f64(x)
    t = torch.nn.functional.interpolate(tx, **kwargs)
    o = F.interpolate(ox, **kwargs)
    np.testing.assert_allclose(o.numpy(force=True), t.detach().numpy(force=True), atol=1e-12)
    w = RNG.standard_normal(t.shape)
    (t * torch.tensor(w)).sum().backward()
    (o * f64(w, requires_grad=False)).sum().backward()
    np.testing.assert_allclose(ox.grad.numpy(force=True), tx.grad.numpy(force=True), atol=1e-12)


def test_upsample_module_gradcheck_and_errors(device):
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert tm.gradcheck(up, [f64(RNG.standard_normal((1, 1, 2, 3)), device)])
    assert tm.gradgradcheck(up, [f64(RNG.standard_normal((1, 1, 2, 3)), device)])
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(tm.randn(1, 1, 2, 2))
    with pytest.raises(ValueError, match="needs a 4-D input"):
        F.interpolate(tm.randn(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="mode"):
        nn.Upsample(scale_factor=2, mode="bicubic")


def test_pool1d_match_torch():
    torch = torch_or_skip()
    x = RNG.standard_normal((2, 3, 9))
    for ours, theirs in ((nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2)),
                         (nn.AvgPool1d(2, padding=1), torch.nn.AvgPool1d(2, padding=1))):
        np.testing.assert_allclose(ours(f64(x, requires_grad=False)).numpy(force=True),
                                   theirs(torch.tensor(x)).numpy(force=True).copy(), atol=1e-12)
        np.testing.assert_allclose(ours(f64(x[0], requires_grad=False)).numpy(force=True),
                                   theirs(torch.tensor(x[0])).numpy(force=True).copy(), atol=1e-12)


def test_dropout2d_zeroes_whole_channels():
    tm.manual_seed(3)
    x = tm.ones(4, 8, 3, 3)
    y = nn.Dropout2d(0.5)(x).numpy(force=True).copy()
    per_channel = y.reshape(4, 8, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).sum() < 32
    drop = nn.Dropout2d(0.5)
    drop.eval()
    assert drop(x) is x


# ---------------------------------------------------------------------------------------------
# lazy layers


def test_lazy_layers_infer_sizes_and_keep_parameter_objects():
    lin = nn.LazyLinear(3)
    weight = lin.weight
    opt = tm.optim.SGD(lin.parameters(), lr=0.1)
    out = lin(tm.randn(2, 5))
    assert type(lin) is nn.Linear and lin.in_features == 5 and out.shape == (2, 3)
    assert lin.weight is weight and weight.shape == (3, 5)
    out.sum().backward()
    before = weight.numpy(force=True).copy()
    opt.step()
    assert not np.allclose(before, weight.numpy(force=True))
    conv = nn.LazyConv2d(4, 3)
    assert conv(tm.randn(1, 2, 5, 5)).shape == (1, 4, 3, 3) and conv.in_channels == 2
    bn = nn.LazyBatchNorm2d()
    bn(tm.randn(2, 6, 3, 3))
    assert type(bn) is nn.BatchNorm2d and bn.running_mean.shape == (6,)


# ---------------------------------------------------------------------------------------------
# losses


def loss_cases():
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    logp = np.log(np.abs(RNG.standard_normal((4, 3))) + 0.1)
    p = RNG.dirichlet(np.ones(3), 4)
    p[0, 1] = 0.0
    a, b, c = (RNG.standard_normal((4, 5)) for _ in range(3))
    target = np.array([1, -1, 1, -1])
    return [
        ("smooth_l1_loss", (x, y), {"beta": 0.5}),
        ("smooth_l1_loss", (x, y), {"reduction": "sum"}),
        ("huber_loss", (x, y), {"delta": 0.7}),
        ("kl_div", (logp, p), {"reduction": "batchmean"}),
        ("kl_div", (logp, np.log(p + 0.1)), {"reduction": "sum", "log_target": True}),
        ("cosine_similarity", (a, b), {}),
        ("pairwise_distance", (a, b), {"p": 3.0}),
        ("cosine_embedding_loss", (a, b, target), {"margin": 0.2}),
        ("triplet_margin_loss", (a, b, c), {"margin": 0.5}),
        ("triplet_margin_loss", (a, b, c), {"swap": True, "p": 1.0}),
    ]


@pytest.mark.parametrize("name,args,kwargs", loss_cases(),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(loss_cases())])
def test_new_losses_match_torch_and_gradcheck(name, args, kwargs):
    torch = torch_or_skip()
    ints = [a.dtype.kind == "i" for a in args]
    t_args = [torch.tensor(a, requires_grad=not i) for a, i in zip(args, ints)]
    o_args = [tm.tensor(a) if i else f64(a) for a, i in zip(args, ints)]
    t = getattr(torch.nn.functional, name)(*t_args, **kwargs)
    o = getattr(F, name)(*o_args, **kwargs)
    np.testing.assert_allclose(
        o.numpy(force=True), t.detach().numpy(force=True), rtol=1e-10, atol=1e-12
    )
    w = RNG.standard_normal(t.shape)
    (t * torch.tensor(w)).sum().backward()
    (o * f64(w, requires_grad=False)).sum().backward()
    for ta, oa, i in zip(t_args, o_args, ints):
        if not i:
            # d(t·log t)/dt at t = 0 is NaN in PyTorch, 0 here (the 0·log 0 = 0 convention)
            finite = np.isfinite(ta.grad.numpy(force=True).copy())
            np.testing.assert_allclose(
                oa.grad.numpy(force=True)[finite],
                ta.grad.numpy(force=True)[finite],
                rtol=1e-9,
                atol=1e-12,
            )
    # a target on the boundary of its domain (t = 0 in kl_div) has no central difference
    on_boundary = [name == "kl_div" and k == 1 and not kwargs.get("log_target")
                   for k in range(len(args))]
    inputs = [tm.tensor(a) if i else f64(a, requires_grad=not b)
              for a, i, b in zip(args, ints, on_boundary)]
    assert tm.gradcheck(lambda *xs: getattr(F, name)(*xs, **kwargs), inputs)
    assert tm.gradgradcheck(lambda *xs: getattr(F, name)(*xs, **kwargs), inputs)


def test_loss_modules_and_legacy_reduction_arguments():
    x, y = tm.randn(4, 3), tm.randn(4, 3)
    np.testing.assert_allclose(nn.SmoothL1Loss(beta=0.5)(x, y).item(),
                               F.smooth_l1_loss(x, y, beta=0.5).item())
    with pytest.warns(DeprecationWarning, match="reduction='sum'"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(DeprecationWarning, match="reduction='none'"):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.warns(DeprecationWarning):
        assert nn.CrossEntropyLoss(size_average=True).reduction == "mean"
    with pytest.warns(DeprecationWarning):
        assert F.smooth_l1_loss(x, y, reduce=False).shape == (4, 3)
    with pytest.raises(TypeError, match="size_average"):
        nn.MSELoss(size_average="no")
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, y.abs())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.KLDivLoss(reduction="batchmean")(x, y.abs())
    triplet = nn.TripletMarginLoss(margin=0.3)
    assert triplet(x, y, tm.randn(4, 3)).shape == ()
    assert nn.CosineSimilarity(dim=0)(x, y).shape == (3,)
    assert nn.PairwiseDistance(keepdim=True)(x, y).shape == (4, 1)
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="avg")
