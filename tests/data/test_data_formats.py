"""Real formats (MNIST/Fashion-MNIST IDX, CIFAR-10 binary) on small files written here."""

import gzip
import io
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.data import ChecksumError, DatasetError, _files, cifar
from tinygrad_mom.data import idx as mnist

# --------------------------------------------------------------------------------------------
# helpers that write the real formats


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_gz(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload))
    return path


def make_mnist(directory: Path, n_train=5, n_test=3, seed=0):
    """Write the four MNIST files; returns {name: (images, labels)}."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_gz(directory / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
        write_gz(directory / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))
        out[split] = (images, labels)
    return out


@pytest.fixture
def trust_files(monkeypatch):
    """Make the published MD5 table hold the MD5s of the small files a test wrote."""

    def trust(key, directory):
        for name in mnist.RESOURCES[key]["files"]:
            if (directory / name).exists():
                monkeypatch.setitem(
                    mnist.RESOURCES[key]["files"], name, _files.md5sum(directory / name)
                )

    return trust


# --------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST


@pytest.mark.parametrize("key", ["mnist", "fashion-mnist"])
def test_mnist_family_loads_from_root(tmp_path, trust_files, key):
    written = make_mnist(tmp_path)
    trust_files(key, tmp_path)
    train, test = tm.data.load_dataset(key, root=tmp_path)
    for ds, (images, labels) in ((train, written["train"]), (test, written["test"])):
        x, y = ds.tensors
        assert x.shape == (len(labels), 1, 28, 28) and x.dtype == np.float32
        assert y.dtype == np.int64
        np.testing.assert_array_equal(x.numpy(force=True)[:, 0], images.astype(np.float32) / 255)
        np.testing.assert_array_equal(y.numpy(force=True), labels)
        assert 0.0 <= x.numpy(force=True).min() and x.numpy(force=True).max() <= 1.0
    assert len(train.classes) == 10
    assert len(tm.data.load_dataset(key, root=tmp_path, split="test")) == 3


def test_mnist_torchvision_layout(tmp_path, trust_files):
    make_mnist(tmp_path / "MNIST" / "raw")
    trust_files("mnist", tmp_path / "MNIST" / "raw")
    assert len(tm.data.mnist(root=tmp_path, split="train")) == 5


def test_mnist_checksum_mismatch_names_the_file(tmp_path):
    make_mnist(tmp_path)  # real published MD5s: these small files cannot match
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte.gz has MD5 [0-9a-f]{32}"):
        tm.data.mnist(root=tmp_path, split="train")


def test_mnist_truncated_gzip(tmp_path, trust_files):
    make_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        tm.data.mnist(root=tmp_path, split="train")


def test_mnist_truncated_idx_payload(tmp_path, trust_files):
    make_mnist(tmp_path)
    images = np.zeros((5, 28, 28), np.uint8)
    write_gz(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images)[:-100])
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match=r"truncated: .*shape \(5, 28, 28\)"):
        tm.data.mnist(root=tmp_path, split="train")


def test_mnist_wrong_magic_number(tmp_path, trust_files):
    make_mnist(tmp_path)
    labels = np.zeros(5, np.uint8)
    # a labels file where the images file should be: magic 0x801 instead of 0x803
    write_gz(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(labels))
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match="wrong magic number 0x00000801, expected 0x00000803"):
        tm.data.mnist(root=tmp_path, split="train")
    write_gz(tmp_path / "train-images-idx3-ubyte.gz", b"\x1f\x8b garbage magic" + bytes(800))
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match="wrong magic number"):
        tm.data.mnist(root=tmp_path, split="train")


def test_mnist_count_mismatch_and_bad_label(tmp_path, trust_files):
    make_mnist(tmp_path)
    write_gz(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(4, np.uint8)))
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match="5 images but 4 labels"):
        tm.data.mnist(root=tmp_path, split="train")
    write_gz(
        tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.array([1, 2, 77, 0, 0], np.uint8))
    )
    trust_files("mnist", tmp_path)
    with pytest.raises(DatasetError, match="label 77 at index 2"):
        tm.data.mnist(root=tmp_path, split="train")


def test_read_idx_other_types_and_trailing_bytes():
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    np.testing.assert_array_equal(mnist.read_idx(idx_bytes(a, 0x0C)), a)
    f = np.linspace(-1, 1, 6).astype(np.float64)
    np.testing.assert_array_equal(mnist.read_idx(idx_bytes(f, 0x0E)), f)
    with pytest.raises(DatasetError, match="trailing bytes"):
        mnist.read_idx(idx_bytes(a, 0x0C) + b"\0")
    with pytest.raises(DatasetError, match="too short"):
        mnist.read_idx(b"\0\0")
    with pytest.raises(DatasetError, match="truncated inside the header"):
        mnist.read_idx(b"\0\0\x08\x03\0\0")


def test_offline_without_local_copy_says_what_to_put_where(tmp_path):
    cache = tmp_path / "cache" / "mnist"
    with pytest.raises(FileNotFoundError) as info:
        tm.data.mnist(split="train")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and str(cache) in message
    assert "download failed" in message and "network disabled in tests" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
    with pytest.raises(FileNotFoundError, match=r"download=False"):
        tm.data.mnist(split="train", download=False)


def test_download_goes_to_cache_and_is_verified(tmp_path, monkeypatch):
    source = tmp_path / "server"
    make_mnist(source)
    for name in mnist.RESOURCES["mnist"]["files"]:
        monkeypatch.setitem(mnist.RESOURCES["mnist"]["files"], name, _files.md5sum(source / name))
    fetched = []

    def fake_download(url, destination):
        fetched.append(url)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / url.rsplit("/", 1)[1], destination)

    monkeypatch.setattr(_files, "_download", fake_download)
    train, test = tm.data.mnist()
    assert len(train) == 5 and len(test) == 3 and len(fetched) == 4
    assert (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    tm.data.mnist()  # second time: from the cache, no download
    assert len(fetched) == 4

    # a download with the wrong checksum is deleted, and the next mirror is tried
    monkeypatch.setitem(
        mnist.RESOURCES["fashion-mnist"]["files"], "t10k-labels-idx1-ubyte.gz", "0" * 32
    )
    with pytest.raises(FileNotFoundError, match="published checksum"):
        tm.data.fashion_mnist(split="test")
    assert not (tmp_path / "cache" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_cache_dir_env_var(monkeypatch):
    monkeypatch.setenv(_files.ENV_VAR, "/some/where")
    assert tm.data.cache_dir() == Path("/some/where")
    monkeypatch.delenv(_files.ENV_VAR)
    assert tm.data.cache_dir() == Path.home() / ".cache" / "tinygrad_mom"


def test_missing_root_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="root directory .* does not exist"):
        tm.data.mnist(root=tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="root directory .* does not exist"):
        tm.data.cifar10(root=tmp_path / "nope")
    with pytest.raises(ValueError, match="split must be"):
        tm.data.mnist(root=tmp_path, split="val")
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        tm.data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="takes no root"):
        tm.data.load_dataset("shapes", root=tmp_path)


# --------------------------------------------------------------------------------------------
# CIFAR-10 binary


def cifar_records(n, seed, label_override=None):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    if label_override is not None:
        labels[-1] = label_override
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes(), labels, pixels


def make_cifar_dir(directory: Path, n=3):
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, name in enumerate([*cifar.SPLITS["train"], *cifar.SPLITS["test"]]):
        data, labels, pixels = cifar_records(n, i)
        (directory / name).write_bytes(data)
        out[name] = (labels, pixels)
    return out


def make_cifar_archive(path: Path, n=3):
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate([*cifar.SPLITS["train"], *cifar.SPLITS["test"]]):
            data = cifar_records(n, i)[0]
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_cifar_from_extracted_batches(tmp_path):
    written = make_cifar_dir(tmp_path / cifar.FOLDER)
    train, test = tm.data.cifar10(root=tmp_path)
    assert len(train) == 15 and len(test) == 3
    x, y = train.tensors
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    labels, pixels = written["data_batch_2.bin"]
    np.testing.assert_array_equal(y.numpy(force=True)[3:6], labels)
    # record layout: 1024 red bytes (row-major), then green, then blue
    np.testing.assert_array_equal(
        x.numpy(force=True)[3, 1, 0, :], pixels[0, 1024:1056] / np.float32(255)
    )
    assert train.classes[0] == "airplane"


def test_cifar_from_archive_checks_md5(tmp_path, monkeypatch):
    archive = make_cifar_archive(tmp_path / cifar.ARCHIVE)
    with pytest.raises(ChecksumError, match="cifar-10-binary.tar.gz has MD5"):
        tm.data.cifar10(root=tmp_path)
    monkeypatch.setattr(cifar, "ARCHIVE_MD5", _files.md5sum(archive))
    train, test = tm.data.load_dataset("cifar10", root=tmp_path)
    assert len(train) == 15 and len(test) == 3
    assert not (tmp_path / cifar.FOLDER).exists()  # read in memory, never extracted


def test_cifar_truncated_and_bad_labels(tmp_path):
    make_cifar_dir(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(cifar_records(3, 0)[0][:-10])
    with pytest.raises(DatasetError, match=r"test_batch.bin: 9209 bytes is not a whole number"):
        tm.data.cifar10(root=tmp_path, split="test")
    (tmp_path / "test_batch.bin").write_bytes(cifar_records(3, 0, label_override=200)[0])
    with pytest.raises(DatasetError, match="record 2 has label 200"):
        tm.data.cifar10(root=tmp_path, split="test")
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3.bin is missing"):
        tm.data.cifar10(root=tmp_path, split="train")


def test_cifar_truncated_archive(tmp_path, monkeypatch):
    archive = make_cifar_archive(tmp_path / cifar.ARCHIVE)
    archive.write_bytes(archive.read_bytes()[:-200])
    monkeypatch.setattr(cifar, "ARCHIVE_MD5", _files.md5sum(archive))
    with pytest.raises(DatasetError, match="damaged or truncated archive"):
        tm.data.cifar10(root=tmp_path, split="test")


def test_cifar_offline(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-binary.tar.gz is not in .*cifar10"):
        tm.data.cifar10(split="test")
