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
    with pytest.raises(ValueError, match="mean has 2 values, but the image has 3 channels"):
        T.Normalize((0.5, 0.5), (1.0,))(tm.zeros(3, 2, 2))
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


# ---------------------------------------------------------------------------------------------
# Lambda, Pad, and PIL images (what torchvision datasets hand to their transforms)


def test_lambda_applies_the_function_and_rejects_what_is_not_callable():
    t = T.Lambda(lambda x: x * 2)
    assert t(3) == 6 and repr(t) == "Lambda()"
    one_hot = T.Lambda(lambda y: tm.zeros(10).scatter_(0, tm.tensor(y), value=1))
    assert one_hot(3).tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    with pytest.raises(TypeError, match="lambd should be callable, got int"):
        T.Lambda(3)


@pytest.mark.parametrize(
    "padding, widths",
    [(2, ((2, 2), (2, 2))), ((1, 3), ((3, 3), (1, 1))), ((1, 2, 3, 4), ((2, 4), (1, 3)))],
)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_numpy_pad_for_each_padding_form(xp, padding, widths, mode):
    x = _image(xp, (2, 5, 6))
    out = T.Pad(padding, fill=7, padding_mode=mode)(x)
    kwargs = {"constant_values": 7} if mode == "constant" else {}
    expected = np.pad(x.numpy(force=True).copy(), ((0, 0),) + widths, mode=mode, **kwargs)
    assert isinstance(out, tm.Tensor) and np.array_equal(out.numpy(force=True), expected)


def test_pad_fill_per_channel_and_bad_arguments():
    x = tm.zeros(3, 1, 1)
    out = T.Pad(1, fill=(1, 2, 3))(x).numpy(force=True)
    assert [out[c, 0, 0] for c in range(3)] == [1, 2, 3] and out[:, 1, 1].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="fill has 2 values, but the image has 3 channels"):
        T.Pad(1, fill=(1, 2))(x)
    with pytest.raises(ValueError, match="Pad: padding should be an int or a sequence"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Pad: padding must be non-negative"):
        T.Pad(-1)
    with pytest.raises(ValueError, match="Pad: padding_mode should be one of"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="Pad: fill should be a number"):
        T.Pad(1, fill="red")
    with pytest.raises(TypeError, match="Pad: expected a Tensor or PIL image, got list"):
        T.Pad(1)([[1.0]])


def _pil(seed, shape):
    Image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return Image.fromarray(pixels), pixels


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 3)], ids=["L", "RGB"])
def test_to_tensor_takes_a_pil_image_like_its_array(shape):
    img, pixels = _pil(0, shape)
    out = T.ToTensor()(img)
    expected = T.ToTensor()(pixels)
    assert out.shape == expected.shape == ((1,) if len(shape) == 2 else (3,)) + shape[:2]
    assert out.dtype == tm.float32 and np.array_equal(out.numpy(), expected.numpy())
    out.numpy()[...] = 0  # its own writable memory, not the image's
    assert np.array_equal(np.asarray(img), pixels)


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 3)], ids=["L", "RGB"])
def test_pil_images_through_pad_crop_and_flip_stay_pil_with_the_same_pixels(shape):
    img, pixels = _pil(1, shape)
    as_tensor = T.ToTensor()(pixels)
    for seed in range(5):
        for transform in (T.Pad((1, 2, 3, 4), fill=9), T.RandomCrop(4, padding=1),
                          T.RandomHorizontalFlip(), T.Pad(2, padding_mode="reflect")):
            tm.manual_seed(seed)
            out = transform(img)
            tm.manual_seed(seed)
            reference = transform(as_tensor * 255)  # the same draw on the tensor image
            assert type(out).__module__.startswith("PIL.") and out.mode == img.mode
            got = T.ToTensor()(out).numpy() * 255  # fill 9 is a pixel value on both paths
            np.testing.assert_allclose(got, reference.numpy(), atol=1e-3)


def test_a_torchvision_style_pil_pipeline_gives_a_normalized_tensor():
    img, _ = _pil(2, (32, 32, 3))
    pipeline = T.Compose([T.Pad(4), T.RandomHorizontalFlip(), T.RandomCrop(32), T.ToTensor(),
                          T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    out = pipeline(img)
    assert out.shape == (3, 32, 32) and out.dtype == tm.float32
    assert -1.0 <= out.min().item() and out.max().item() <= 1.0


def test_center_crop_on_tensors_and_pil_images():
    x = tm.Tensor(np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6))
    out = T.CenterCrop((3, 2))(x).numpy()
    # torchvision's offsets: round((5 - 3) / 2) = 1, round((6 - 2) / 2) = 2
    assert np.array_equal(out, x.numpy()[:, 1:4, 2:4])
    padded = T.CenterCrop(8)(tm.ones(1, 5, 6)).numpy()[0]
    assert padded.shape == (8, 8) and padded.sum() == 30 and padded[1:6, 1:7].all()
    img, pixels = _pil(4, (7, 9, 3))
    crop = T.CenterCrop(4)(img)
    assert crop.size == (4, 4) and np.array_equal(np.asarray(crop), pixels[2:6, 2:6])
    assert repr(T.CenterCrop(3)) == "CenterCrop(size=(3, 3))"
    with pytest.raises(ValueError, match="CenterCrop: size"):
        T.CenterCrop(0)


def test_resize_shorter_edge_and_exact_size():
    img, _ = _pil(5, (20, 30, 3))
    assert T.Resize(10)(img).size == (15, 10)  # PIL's (w, h): the shorter edge becomes 10
    assert T.Resize((8, 12))(img).size == (12, 8)
    assert T.Resize(10, max_size=12)(img).size == (12, 8)
    x = tm.Tensor(np.random.default_rng(0).random((3, 20, 30), dtype=np.float32))
    assert T.Resize(10)(x).shape == (3, 10, 15) and T.Resize((4, 5))(x).shape == (3, 4, 5)
    small = T.Resize(5, interpolation="nearest")(tm.ones(1, 10, 10, dtype=tm.uint8))
    assert small.dtype == tm.uint8 and small.shape == (1, 5, 5)
    with pytest.raises(ValueError, match="interpolation should be one of"):
        T.Resize(4, interpolation="bicubic")
    torch = pytest.importorskip("torch", reason="torch is not installed: cross-check skipped")
    theirs = torch.nn.functional.interpolate(torch.tensor(x.numpy())[None], size=(40, 60),
                                             mode="bilinear", align_corners=False)[0]
    np.testing.assert_allclose(T.Resize((40, 60))(x).numpy(), theirs.numpy(), rtol=1e-5,
                               atol=1e-6)
