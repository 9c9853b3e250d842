"""tm.data.transforms: torchvision's semantics, seeded draws, one image and a batch."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.data import DataLoader, TensorDataset, TransformedDataset
from tinygrad_mom.data import transforms as T


def _image(xp, shape=(3, 5, 6), seed=0):
    return tm.Tensor(xp.asarray(np.random.default_rng(seed).random(shape, dtype=np.float32)))


def test_to_tensor_scales_uint8_hwc_to_chw_in_unit_range(xp):
    hwc = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    out = T.ToTensor()(xp.asarray(hwc))
    assert (
        out.shape == (4, 2, 3)
        and out.dtype == tm.float32
        and out.device == tm.Tensor(xp.zeros(1)).device
    )
    np.testing.assert_allclose(out.numpy(force=True), hwc.transpose(2, 0, 1) / 255, rtol=1e-6)
    # a grey image gets a channel axis; other dtypes keep their values (torchvision's rule)
    assert T.ToTensor()(xp.zeros((2, 3), dtype=np.uint8)).shape == (1, 2, 3)
    floats = xp.full((2, 3, 1), 7.0, dtype=np.float64)
    assert T.ToTensor()(floats).numpy(force=True).max() == 7.0
    # a batch (N, H, W, C)
    batch = np.stack([hwc, hwc[::-1]])
    np.testing.assert_allclose(
        T.ToTensor()(xp.asarray(batch)).numpy(force=True).copy(),
        batch.transpose(0, 3, 1, 2) / 255,
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "pic, error, message",
    [([[1, 2]], TypeError, "should be an ndarray"), (np.zeros(3), ValueError, "2/3 dimensional")],
)
def test_to_tensor_rejects_what_is_not_an_image(pic, error, message):
    with pytest.raises(error, match=message):
        T.ToTensor()(pic)


def test_normalize_per_channel_on_an_image_and_a_batch(xp):
    x = _image(xp)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    expected = (x.numpy(force=True).copy() - np.array(mean)[:, None, None]) / np.array(std)[
        :, None, None
    ]
    np.testing.assert_allclose(
        T.Normalize(mean, std)(x).numpy(force=True), expected, rtol=1e-5, atol=1e-6
    )
    batch = tm.stack([x, x])
    np.testing.assert_allclose(
        T.Normalize(mean, std)(batch).numpy(force=True).copy()[1], expected, rtol=1e-5, atol=1e-6
    )
    before = x.numpy(force=True).copy()
    T.Normalize(mean, std)(x)
    assert np.array_equal(x.numpy(force=True), before)  # not in place unless asked
    y = T.Normalize(mean, std, inplace=True)(x)
    assert y is x and np.allclose(x.numpy(force=True), expected, rtol=1e-5, atol=1e-6)


def test_normalize_rejects_zero_std_and_integer_images():
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize((0.5,), (0.0,))(tm.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.5,), (1.0,))(tm.zeros(1, 2, 2, dtype=tm.int64))


def test_random_crop_without_padding_is_a_window_of_the_image(xp):
    x = _image(xp, (2, 6, 7))
    tm.manual_seed(0)
    out = T.RandomCrop((4, 3))(x).numpy(force=True).copy()
    windows = [
        (i, j)
        for i in range(3)
        for j in range(5)
        if np.array_equal(out, x.numpy(force=True).copy()[:, i : i + 4, j : j + 3])
    ]
    assert len(windows) == 1
    # every position is reachable (uniform over 3 × 5 positions, as torch.randint draws it)
    seen = set()
    for _ in range(400):
        crop = T.RandomCrop((4, 3))(x).numpy(force=True).copy()
        seen |= {
            (i, j)
            for i in range(3)
            for j in range(5)
            if np.array_equal(crop, x.numpy(force=True).copy()[:, i : i + 4, j : j + 3])
        }
    assert seen == {(i, j) for i in range(3) for j in range(5)}


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_pads_like_numpy_pad(mode):
    x = _image(np, (1, 3, 3))
    # a crop the size of the padded image is the padded image itself: padding = (l, t, r, b)
    out = T.RandomCrop((3 + 1 + 2, 3 + 2 + 1), padding=(2, 1, 1, 2), padding_mode=mode, fill=5)(x)
    kwargs = {"constant_values": 5} if mode == "constant" else {}
    expected = np.pad(x.numpy(force=True).copy(), [(0, 0), (1, 2), (2, 1)], mode=mode, **kwargs)
    assert np.array_equal(out.numpy(force=True), expected)


def test_random_crop_with_cifar_padding_and_pad_if_needed():
    x = _image(np, (3, 32, 32))
    assert T.RandomCrop(32, padding=4)(x).shape == (3, 32, 32)
    small = _image(np, (3, 2, 3))
    out = T.RandomCrop(4, pad_if_needed=True)(small)
    assert out.shape == (3, 4, 4)
    with pytest.raises(ValueError, match="larger than the input image size"):
        T.RandomCrop(4)(small)
    with pytest.raises(ValueError, match="padding"):
        T.RandomCrop(4, padding=(1, 2, 3))


def test_random_crop_on_a_batch_draws_per_sample_and_is_seeded(xp):
    batch = tm.Tensor(
        xp.asarray(
            np.stack([_image(np, (1, 8, 8), seed=s).numpy(force=True).copy() for s in [0] * 64])
        )
    )
    tm.manual_seed(3)
    out = T.RandomCrop(5, padding=1)(batch).numpy(force=True).copy()
    padded = np.pad(batch.numpy(force=True).copy(), [(0, 0), (0, 0), (1, 1), (1, 1)])
    positions = []
    for k in range(64):
        found = [
            (i, j)
            for i in range(6)
            for j in range(6)
            if np.array_equal(out[k], padded[k, :, i : i + 5, j : j + 5])
        ]
        assert found, k
        positions.append(found[0])
    assert len(set(positions)) > 10  # not one crop for the whole batch
    tm.manual_seed(3)
    assert np.array_equal(
        T.RandomCrop(5, padding=1)(batch).numpy(force=True), out
    )  # tm.manual_seed fixes it


def test_random_horizontal_flip(xp):
    x = _image(xp)
    assert np.array_equal(
        T.RandomHorizontalFlip(p=1.0)(x).numpy(force=True), x.numpy(force=True)[..., ::-1]
    )
    assert np.array_equal(T.RandomHorizontalFlip(p=0.0)(x).numpy(force=True), x.numpy(force=True))
    batch = tm.stack([x] * 400)
    tm.manual_seed(1)
    out = T.RandomHorizontalFlip()(batch).numpy(force=True).copy()
    flipped = np.array([np.array_equal(o, x.numpy(force=True).copy()[..., ::-1]) for o in out])
    kept = np.array([np.array_equal(o, x.numpy(force=True).copy()) for o in out])
    assert np.all(flipped ^ kept) and 150 < flipped.sum() < 250  # p = 0.5 per sample
    with pytest.raises(ValueError, match="p should be in"):
        T.RandomHorizontalFlip(p=1.5)


def test_compose_and_a_transformed_dataset_through_the_loader():
    images = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)
    hwc_to_chw = T.ToTensor()(images)
    data = TensorDataset(hwc_to_chw, tm.arange(10))
    pipeline = T.Compose(
        [T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.Normalize((0.5,) * 3, (0.5,) * 3)]
    )
    assert "RandomCrop" in repr(pipeline)
    wrapped = TransformedDataset(data, pipeline)
    tm.manual_seed(0)
    (x, y), *_ = list(DataLoader(wrapped, batch_size=4))
    assert x.shape == (4, 3, 6, 6) and y.numpy(force=True).tolist() == [0, 1, 2, 3]
    assert x.numpy(force=True).min() >= -1 and x.numpy(force=True).max() <= 1
    tm.manual_seed(0)
    (x2, _), *_ = list(DataLoader(wrapped, batch_size=4))
    assert np.array_equal(x.numpy(force=True), x2.numpy(force=True))
    one, label = wrapped[2]
    assert one.shape == (3, 6, 6) and int(label.item()) == 2
