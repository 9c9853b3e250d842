"""MNIST and Fashion-MNIST from their gzipped IDX files, parsed with NumPy."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ._files import DatasetError, cache_dir, fetch
from .dataset import TensorDataset

# IDX type codes (third byte of the magic number) and the big-endian dtypes they denote
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

# Published MD5s of the gzipped files (the ones torchvision checks as well).
RESOURCES = {
    "mnist": {
        "title": "MNIST",
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "torchvision_dir": "MNIST",
        "classes": [str(d) for d in range(10)],
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "mirrors": [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        "files": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        "torchvision_dir": "FashionMNIST",
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    },
}
_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(data: bytes, name: str = "IDX data", expected_magic: int | None = None) -> np.ndarray:
    """Parse an (uncompressed) IDX file into a native-endian NumPy array, checking every size."""
    if len(data) < 4:
        raise DatasetError(f"{name}: {len(data)} bytes is too short for an IDX header (truncated)")
    magic = struct.unpack(">I", data[:4])[0]
    if (
        data[0] != 0
        or data[1] != 0
        or data[2] not in _IDX_DTYPES
        or (expected_magic is not None and magic != expected_magic)
    ):
        wanted = f"0x{expected_magic:08x}" if expected_magic is not None else "0x0000TTNN"
        raise DatasetError(f"{name}: wrong magic number 0x{magic:08x}, expected {wanted}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name}: truncated inside the header ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + math.prod(dims) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(
            f"{name}: {what}: it is {len(data)} bytes, but its header promises shape {dims} of "
            f"{dtype.name}, {expected} bytes in all"
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header)
        .reshape(dims)
        .astype(dtype.newbyteorder("="))
    )


def _gunzip(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes())
    except (EOFError, OSError, zlib.error) as exc:
        raise DatasetError(
            f"{path}: not a complete gzip file ({exc}); delete it and fetch it again"
        ) from None


def _directory(root, key: str) -> Path:
    """The directory to read from: ``root`` (or its torchvision layout) or the cache."""
    if root is None:
        return cache_dir() / key
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"root directory {root} does not exist")
    torchvision_raw = root / RESOURCES[key]["torchvision_dir"] / "raw"
    first = next(iter(RESOURCES[key]["files"]))
    if not (root / first).exists() and (torchvision_raw / first).exists():
        return torchvision_raw
    return root


def _load_split(key: str, directory: Path, split: str, download: bool) -> TensorDataset:
    info = RESOURCES[key]
    arrays = []
    for filename, magic in zip(_SPLIT_FILES[split], (IMAGES_MAGIC, LABELS_MAGIC), strict=True):
        urls = [mirror + filename for mirror in info["mirrors"]]
        path = fetch(directory, filename, urls, info["files"][filename], download, info["title"])
        arrays.append(read_idx(_gunzip(path), str(path), magic))
    images, labels = arrays
    if len(images) != len(labels):
        raise DatasetError(
            f"{info['title']} {split}: {len(images)} images but {len(labels)} labels in {directory}"
        )
    if labels.size and labels.max() >= 10:
        bad = int(np.argmax(labels >= 10))
        raise DatasetError(
            f"{info['title']} {split}: label {int(labels[bad])} at index {bad} is not in 0..9"
        )
    x = (images.astype(np.float32) / np.float32(255.0))[:, None]  # N x 1 x H x W in [0, 1]
    dataset = TensorDataset(x, labels.astype(np.int64))
    dataset.classes = list(info["classes"])
    return dataset


def _load(key: str, root, split, download: bool):
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None (both), got {split!r}")
    directory = _directory(root, key)
    if split is not None:
        return _load_split(key, directory, split, download)
    return _load_split(key, directory, "train", download), _load_split(
        key, directory, "test", download
    )


def mnist(root=None, split: str | None = None, download: bool = True):
    """MNIST digits: (train, test) TensorDatasets of float32 N x 1 x 28 x 28 images in [0, 1] and
    int64 labels, or one of them for ``split="train"``/``"test"``.

    Reads the four gzipped IDX files from ``root`` (also in torchvision's ``root/MNIST/raw``
    layout) or the cache directory, downloading missing ones when ``download``; every file's
    MD5 is checked against the published value.
    """
    return _load("mnist", root, split, download)


def fashion_mnist(root=None, split: str | None = None, download: bool = True):
    """Fashion-MNIST, in MNIST's format and layout; see :func:`mnist`."""
    return _load("fashion-mnist", root, split, download)
