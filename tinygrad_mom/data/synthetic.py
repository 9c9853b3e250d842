"""The embedded default dataset: procedurally generated 32x32 colour images of 10 shapes.

Each image holds one shape (its class) at a random position, size, rotation and colour, on a
random-coloured background with a brightness gradient and pixel noise. Colours are drawn
independently of the class, and the foreground can be darker or lighter than the background,
so no single pixel or colour says anything about the class: a model has to recognise the
outline, wherever it is and however it is turned. That is what convolutions with pooling are
good at and what a linear model on raw pixels is bad at, which makes the set a fair stand-in
for CIFAR-10 that needs no download and is made in about a second from a seed.

Everything is vectorised: one signed-distance field per class is evaluated for all images of
that class at once, and anti-aliased by turning the distance into coverage.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V

CLASSES = (
    "disk",
    "square",
    "triangle",
    "plus",
    "ring",
    "horizontal bar",
    "vertical bar",
    "frame",
    "star",
    "crescent",
)
SIZE = 32


def _signed_distance(label: int, u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Approximate signed distance in pixels (negative inside) to shape ``label``.

    ``u``, ``v`` are pixel coordinates in each shape's rotated frame; ``s`` its radius.
    """
    au, av = np.abs(u), np.abs(v)
    if label == 0:  # disk
        return np.hypot(u, v) - s
    if label == 1:  # square
        return np.maximum(au, av) - 0.8 * s
    if label == 2:  # equilateral triangle with circumradius s: three half-planes at inradius s/2
        normals = (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3)
        d = np.maximum.reduce([u * np.cos(a) + v * np.sin(a) for a in normals])
        return d - 0.5 * s
    if label == 3:  # plus: the union of two crossed bars
        w = 0.28 * s
        return np.minimum(np.maximum(au - s, av - w), np.maximum(au - w, av - s))
    if label == 4:  # ring
        return np.abs(np.hypot(u, v) - 0.72 * s) - 0.24 * s
    if label in (5, 6):  # bars; the vertical one is the horizontal one turned by 90 degrees
        return np.maximum(au - 1.1 * s, av - 0.26 * s)
    if label == 7:  # hollow square frame
        box = np.maximum(au, av)
        return np.maximum(box - 0.85 * s, 0.45 * s - box)
    if label == 8:  # five-pointed star (radius modulated with the polar angle)
        return np.hypot(u, v) - s * (0.62 + 0.38 * np.cos(5 * np.arctan2(v, u)))
    if label == 9:  # crescent: a disk with an offset disk cut out of it
        return np.maximum(np.hypot(u, v) - s, 0.85 * s - np.hypot(u - 0.5 * s, v))
    raise ValueError(f"unknown shape class {label}")


def generate(n: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (float32, N x 3 x 32 x 32, in [0, 1]) and labels (int64), from ``seed``.

    ``seed`` is anything ``np.random.default_rng`` accepts (an int or a SeedSequence).
    """
    rng = np.random.default_rng(seed)
    # balanced classes in random order
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    coords = np.arange(SIZE, dtype=np.float32) + 0.5
    ys, xs = coords[None, :, None], coords[None, None, :]

    radius = rng.uniform(8.0, 13.0, n).astype(np.float32)
    # keep the centre far enough in that most of the shape is visible
    margin = 0.7 * radius
    cx = rng.uniform(margin, SIZE - margin).astype(np.float32)
    cy = rng.uniform(margin, SIZE - margin).astype(np.float32)
    theta = rng.uniform(0.0, 2 * np.pi, n).astype(np.float32)
    # bars only tilt by up to 20 degrees, so "horizontal" and "vertical" stay meaningful
    tilt = np.deg2rad(rng.uniform(-20.0, 20.0, n)).astype(np.float32)
    theta = np.where(labels == 5, tilt, np.where(labels == 6, tilt + np.pi / 2, theta))

    coverage = np.empty((n, SIZE, SIZE), dtype=np.float32)
    for label in range(len(CLASSES)):
        idx = np.flatnonzero(labels == label)
        if idx.size == 0:
            continue
        c, s = np.cos(theta[idx])[:, None, None], np.sin(theta[idx])[:, None, None]
        dx, dy = xs - cx[idx, None, None], ys - cy[idx, None, None]
        u, v = c * dx + s * dy, c * dy - s * dx
        d = _signed_distance(label, u, v, radius[idx, None, None])
        coverage[idx] = np.clip(0.5 - d, 0.0, 1.0)  # one-pixel anti-aliased edge

    # The shape is always lighter than the background (by 0.3 to 0.6 in every channel), but
    # both colours are random, so colour says nothing about the class.
    background = rng.uniform(0.0, 0.5, (n, 3, 1, 1)).astype(np.float32)
    foreground = background + rng.uniform(0.35, 0.5, (n, 3, 1, 1)).astype(np.float32)
    # a gentle brightness gradient in a random direction
    g_angle = rng.uniform(0.0, 2 * np.pi, n).astype(np.float32)
    g_amp = rng.uniform(0.0, 0.25, n).astype(np.float32)
    ramp = (
        np.cos(g_angle)[:, None, None] * (xs / SIZE - 0.5)
        + np.sin(g_angle)[:, None, None] * (ys / SIZE - 0.5)
    ) * g_amp[:, None, None]

    # composed in place: at 12k images every temporary is ~150 MB
    images = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    np.multiply(coverage[:, None], foreground - background, out=images)
    images += background
    images += ramp[:, None]
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    noise *= np.float32(0.04)
    images += noise
    np.clip(images, 0.0, 1.0, out=images)
    return images, labels


def shapes(split: str | None = None, n_train: int = 10000, n_test: int = 2000, seed: int = 0):
    """The embedded shapes dataset: (train, test) TensorDatasets, or one for ``split``.

    Images are float32 N x 3 x 32 x 32 in [0, 1], labels int64 in 0..9 (see ``CLASSES``).
    The train and test sets come from independent streams of ``seed``, so changing
    ``n_train`` leaves the test set unchanged.
    """
    from .dataset import TensorDataset

    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None (both), got {split!r}")
    V.int_at_least("n_train", n_train, 0)
    V.int_at_least("n_test", n_test, 0)
    V.int_at_least("seed", seed, 0)
    train_seed, test_seed = np.random.SeedSequence(int(seed)).spawn(2)

    def make(n, seq):
        x, y = generate(int(n), seq)
        dataset = TensorDataset(x, y)
        dataset.classes = list(CLASSES)
        return dataset

    if split == "train":
        return make(n_train, train_seed)
    if split == "test":
        return make(n_test, test_seed)
    return make(n_train, train_seed), make(n_test, test_seed)
