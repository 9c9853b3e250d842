"""Finding, downloading and checking dataset files (the only module that touches the network)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

ENV_VAR = "TINYGRAD_MOM_DATA"


class DatasetError(ValueError):
    """A dataset file is damaged or is not in the expected format."""


class ChecksumError(DatasetError):
    """A dataset file's checksum differs from the published one."""


def cache_dir() -> Path:
    """Where datasets are downloaded: ``$TINYGRAD_MOM_DATA`` or ``~/.cache/tinygrad_mom``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "tinygrad_mom"


def md5sum(path: Path) -> str:
    """The MD5 hex digest of a file (the checksums the datasets' authors publish are MD5)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_md5(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError` naming the file if its MD5 is not ``expected``."""
    actual = md5sum(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} has MD5 {actual}, but the published checksum is {expected}: the file is "
            "damaged or not the original. Delete it and download it again."
        )


def _download(url: str, destination: Path) -> None:
    """Fetch ``url`` into ``destination`` (atomically). The one place that uses the network."""
    import urllib.request

    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
    )
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fetch(
    directory: Path, filename: str, urls: list[str], md5: str | None, download: bool, dataset: str
) -> Path:
    """The path of ``filename`` in ``directory``, downloading it from ``urls`` if missing.

    The published ``md5`` (when given) is checked both for a file found and for a file
    downloaded. With no local copy and no network, raises FileNotFoundError saying which file
    to put where.
    """
    path = directory / filename
    if path.is_file():
        if md5 is not None:
            verify_md5(path, md5)
        return path
    errors = []
    if download:
        for url in urls:
            try:
                _download(url, path)
            except Exception as exc:  # offline, HTTP errors, timeouts: try the next mirror
                errors.append(f"{url}: {exc}")
                continue
            if md5 is not None:
                try:
                    verify_md5(path, md5)
                except ChecksumError as exc:
                    path.unlink()  # never leave a bad download where it would be found again
                    errors.append(f"{url}: {exc}")
                    continue
            return path
    tried = ("; download failed: " + " | ".join(errors)) if errors else " (download=False)"
    raise FileNotFoundError(
        f"{dataset}: {filename} is not in {directory}{tried}. Download it by hand from "
        f"{urls[0]} and put it at {path} (or pass root= a directory holding it, or set "
        f"{ENV_VAR} to the cache directory)."
    )
