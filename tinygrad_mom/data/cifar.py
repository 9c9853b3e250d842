"""CIFAR-10 from the binary version (never the pickled "python version"), parsed with NumPy."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ._files import DatasetError, cache_dir, fetch
from .dataset import TensorDataset

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the CIFAR-10 page
FOLDER = "cifar-10-batches-bin"
SPLITS = {
    "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "test": ["test_batch.bin"],
}
RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32 x 32 planes
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One ``.bin`` batch: (float32 N x 3 x 32 x 32 images in [0, 1], int64 labels)."""
    if len(data) == 0 or len(data) % RECORD:
        raise DatasetError(
            f"{name}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 binary batch)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CLASSES):
        bad = int(np.argmax(labels >= len(CLASSES)))
        raise DatasetError(
            f"{name}: record {bad} has label {int(labels[bad])}, expected 0..9 "
            "(not a CIFAR-10 binary batch?)"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255.0)
    return images, labels


def _read_members(archive: Path, names: list[str]) -> list[tuple[bytes, str]]:
    """Read the named batches straight out of the archive (nothing is extracted to disk)."""
    out = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in names:
                member_name = f"{FOLDER}/{name}"
                try:
                    member = tar.getmember(member_name)
                except KeyError:
                    raise DatasetError(f"{archive} has no member {member_name}") from None
                if not member.isfile():
                    raise DatasetError(f"{archive}: {member_name} is not a regular file")
                out.append((tar.extractfile(member).read(), f"{archive}:{member_name}"))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive}: damaged or truncated archive ({exc})") from None
    return out


def _load_split(root, split: str, download: bool) -> TensorDataset:
    names = SPLITS[split]
    directory = cache_dir() / "cifar10" if root is None else Path(root).expanduser()
    # an extracted copy (root/cifar-10-batches-bin/*.bin or root/*.bin) is used as it is
    for folder in (directory / FOLDER, directory):
        present = [n for n in names if (folder / n).is_file()]
        if present:
            missing = [n for n in names if n not in present]
            if missing:
                raise FileNotFoundError(f"CIFAR-10: {missing[0]} is missing from {folder}")
            blobs = [((folder / n).read_bytes(), str(folder / n)) for n in names]
            break
    else:
        archive = fetch(directory, ARCHIVE, [URL], ARCHIVE_MD5, download, "CIFAR-10")
        blobs = _read_members(archive, names)
    parts = [parse_batch(data, name) for data, name in blobs]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    dataset = TensorDataset(images, labels)
    dataset.classes = list(CLASSES)
    return dataset


def cifar10(root=None, split: str | None = None, download: bool = True):
    """CIFAR-10: (train, test) TensorDatasets of float32 N x 3 x 32 x 32 images in [0, 1] and
    int64 labels, or one of them for ``split="train"``/``"test"``.

    Reads the binary version: ``cifar-10-binary.tar.gz`` (MD5-checked, read in memory) from
    ``root`` or the cache directory, downloading it when missing and ``download``; or the
    extracted ``cifar-10-batches-bin/*.bin`` files under ``root``.
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None (both), got {split!r}")
    if root is not None and not Path(root).expanduser().is_dir():
        raise FileNotFoundError(f"root directory {root} does not exist")
    if split is not None:
        return _load_split(root, split, download)
    return _load_split(root, "train", download), _load_split(root, "test", download)
