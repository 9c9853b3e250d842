"""The seeds' CNN training step in tinygrad_mom and in PyTorch, from the same initial weights.

Conv2d(3,32,3) → ReLU → MaxPool2d(2) → Conv2d(32,64,3) → ReLU → MaxPool2d(2) → Conv2d(64,64,3)
→ ReLU → Flatten → Linear(1024,64) → ReLU → Linear(64,10); cross-entropy; SGD with momentum.

``make_tm_trainer`` prefers the library's own pieces when they exist (``models.SeedCNN`` with
``tm.nn``, ``tm.optim.SGD``) and falls back to the same network written with the core API
(``conv2d``, ``max_pool2d``, ``x @ w.T + b``, ``log_softmax``) and a hand-written in-place
momentum update, so the benchmark runs at every stage of the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import tinygrad_mom as tm
from tinygrad_mom import conv, ops

# (name, shape) in PyTorch's parameter order for the network above.
PARAM_SHAPES = [
    ("conv1.weight", (32, 3, 3, 3)),
    ("conv1.bias", (32,)),
    ("conv2.weight", (64, 32, 3, 3)),
    ("conv2.bias", (64,)),
    ("conv3.weight", (64, 64, 3, 3)),
    ("conv3.bias", (64,)),
    ("fc1.weight", (64, 1024)),
    ("fc1.bias", (64,)),
    ("fc2.weight", (10, 64)),
    ("fc2.bias", (10,)),
]
LR, MOMENTUM = 0.01, 0.9


def initial_weights(seed: int = 0, dtype=np.float32) -> list[np.ndarray]:
    """PyTorch-like uniform(±1/sqrt(fan_in)) weights, the same for both frameworks."""
    rng = np.random.default_rng(seed)
    out = []
    fan_in = 1
    for name, shape in PARAM_SHAPES:
        if name.endswith("weight"):
            fan_in = int(np.prod(shape[1:]))
        bound = 1.0 / np.sqrt(fan_in)
        out.append(rng.uniform(-bound, bound, size=shape).astype(dtype))
    return out


def batch(n: int, seed: int = 1, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A random CIFAR-shaped batch: images (n, 3, 32, 32) and int64 labels."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 32, 32)).astype(dtype), rng.integers(0, 10, n)


def train_step_flops(n: int) -> float:
    """Multiply-adds ×2 of one training step (forward, weight and input gradients)."""
    convs = [(3, 32, 30), (32, 64, 13), (64, 64, 4)]  # (C, O, output side)
    fwd = sum(2 * n * s * s * o * c * 9 for c, o, s in convs) + 2 * n * (1024 * 64 + 64 * 10)
    first_input_grad = 2 * n * 30 * 30 * 32 * 3 * 9  # skipped: the images need no gradient
    return 3 * fwd - first_input_grad


def inference_flops(n: int) -> float:
    """Multiply-adds ×2 of one forward pass."""
    return (train_step_flops(n) + 2 * n * 30 * 30 * 32 * 27) / 3


# ----------------------------------------------------------------------------------------------
# tinygrad_mom


@dataclass
class Trainer:
    """One framework's model: ``step(x, y)`` trains once and returns the loss tensor."""

    kind: str  # how it was built, for the report
    params: list  # in PARAM_SHAPES order
    forward: Callable
    loss_fn: Callable
    step: Callable


def _core_forward(params):
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params

    def forward(x):
        h = conv.max_pool2d(conv.conv2d(x, w1, b1).relu(), 2)
        h = conv.max_pool2d(conv.conv2d(h, w2, b2).relu(), 2)
        h = conv.conv2d(h, w3, b3).relu().reshape(x.shape[0], -1)
        h = (h @ w4.T + b4).relu()
        return h @ w5.T + b5

    return forward


def _core_cross_entropy(logits, y):
    rows = np.arange(logits.shape[0])
    return -ops.log_softmax(logits, 1)[rows, y].mean()


def _nn_model(weights, device):
    """``models.SeedCNN`` with the given weights, or None when the nn stack is not there yet."""
    try:
        from tinygrad_mom import models

        model = models.SeedCNN().to(device)
        params = list(model.parameters())
    except (ImportError, AttributeError, TypeError):
        return None
    if [tuple(p.shape) for p in params] != [s for _, s in PARAM_SHAPES]:
        return None
    with tm.no_grad():
        for p, w in zip(params, weights, strict=True):
            p.copy_(tm.Tensor(w, device=device))
    return model, params


def make_tm_trainer(weights, device: str = "cpu", prefer_library: bool = True) -> Trainer:
    """The tinygrad_mom trainer: library model/loss/optimizer if available, else core API."""
    built = _nn_model(weights, device) if prefer_library else None
    if built is not None:
        model, params = built
        forward = model
        if hasattr(tm.nn, "CrossEntropyLoss"):
            loss_fn, kind = tm.nn.CrossEntropyLoss(), "models.SeedCNN + nn.CrossEntropyLoss"
        else:
            loss_fn, kind = _core_cross_entropy, "models.SeedCNN + log_softmax loss"
    else:
        params = [tm.Tensor(w, device=device, requires_grad=True) for w in weights]
        forward = _core_forward(params)
        loss_fn = _core_cross_entropy
        kind = "core API (conv2d, max_pool2d, matmul, log_softmax)"

    sgd = getattr(getattr(tm, "optim", None), "SGD", None) if prefer_library else None
    if sgd is not None:
        opt = sgd(params, lr=LR, momentum=MOMENTUM)
        kind += " + optim.SGD"

        def update():
            opt.step()

        def zero():
            opt.zero_grad()
    else:
        velocity = [None] * len(params)
        kind += " + in-place momentum"

        def update():
            # PyTorch's rule: b ← μb + g (first step b = g); θ ← θ − lr·b, all in place.
            for i, p in enumerate(params):
                g = p.grad.array
                if velocity[i] is None:
                    velocity[i] = g.copy()
                else:
                    velocity[i] *= MOMENTUM
                    velocity[i] += g
                p.array -= LR * velocity[i]

        def zero():
            for p in params:
                p.grad = None

    def step(x, y):
        zero()
        loss = loss_fn(forward(x), y)
        loss.backward()
        update()
        return loss

    return Trainer(kind, params, forward, loss_fn, step)


# ----------------------------------------------------------------------------------------------
# PyTorch


def make_torch_trainer(weights, device: str = "cpu") -> Trainer:
    """The same network in PyTorch (functional form, torch.optim.SGD)."""
    import torch
    import torch.nn.functional as F

    params = [torch.tensor(w, device=device, requires_grad=True) for w in weights]
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)

    def forward(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        h = F.relu(F.conv2d(h, w3, b3)).flatten(1)
        h = F.relu(F.linear(h, w4, b4))
        return F.linear(h, w5, b5)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss

    return Trainer("torch.nn.functional + torch.optim.SGD", params, forward, F.cross_entropy, step)


def first_step_gradients(trainer: Trainer, x, y, to_numpy) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of one forward/backward (no update), as float64 numpy."""
    for p in trainer.params:
        p.grad = None
    loss = trainer.loss_fn(trainer.forward(x), y)
    loss.backward()
    grads = [to_numpy(p.grad).astype(np.float64) for p in trainer.params]
    return float(loss.item()), grads
