"""PyTorch-style programs written once against a ``torch`` parameter: run with tinygrad_mom
(always) and with PyTorch (where installed), the results must agree. They use the issue-9
surface: math functions, comparisons, item assignment, a custom autograd.Function, norms,
topk accuracy, einsum."""

import numpy as np
import pytest

import tinygrad_mom

try:
    import torch as real_torch
except ImportError:
    real_torch = None


def training_program(torch, w1_init, w2_init, data, labels):
    """A small classifier trained by hand, as a tutorial would write it."""

    class MyReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    x = torch.tensor(data, dtype=torch.float64)
    y = torch.tensor(labels)
    w1 = torch.tensor(w1_init, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(w2_init, dtype=torch.float64, requires_grad=True)
    history = []
    for _ in range(15):
        h = MyReLU.apply(torch.mm(x, w1))
        h = h * torch.sigmoid(h).log1p().exp()  # exercise a few math functions
        logits = torch.einsum("bh,hc->bc", h, w2)
        logits[:, 0] *= 0.5  # item assignment on a non-leaf
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss = loss + 1e-3 * (torch.linalg.vector_norm(w1) ** 2 + w2.norm() ** 2)
        loss.backward()
        with torch.no_grad():
            for w in (w1, w2):
                g = w.grad
                scale = torch.where(g.norm() > 1.0, 1.0 / g.norm(), torch.ones(()))
                w -= 0.5 * g * scale
                w.grad = None
        correct = logits.argmax(1).eq(y).sum().item()
        top2 = logits.topk(2, dim=1).indices.eq(y.unsqueeze(1)).any(dim=1).sum().item()
        history.append((loss.item(), correct, top2))
    counts = torch.zeros(3, dtype=torch.int64)
    for label in labels:
        counts[int(label)] += 1
    onehot = torch.zeros(len(labels), 3)
    onehot[range(len(labels)), y] = 1
    return history, counts.tolist(), onehot.sum(0).tolist()


def _inputs():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((12, 4))
    labels = rng.integers(0, 3, 12)
    return rng.standard_normal((4, 6)) * 0.5, rng.standard_normal((6, 3)) * 0.5, data, labels


def test_training_program_runs_and_learns():
    history, counts, onehot = training_program(tinygrad_mom, *_inputs())
    assert history[-1][0] < history[0][0]
    assert sum(counts) == 12 and onehot == [float(c) for c in counts]


@pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")
def test_training_program_matches_torch():
    ours = training_program(tinygrad_mom, *_inputs())
    theirs = training_program(real_torch, *_inputs())
    for (la, ca, ta), (lb, cb, tb) in zip(ours[0], theirs[0]):
        assert la == pytest.approx(lb, rel=1e-10) and (ca, ta) == (cb, tb)
    assert ours[1:] == theirs[1:]
