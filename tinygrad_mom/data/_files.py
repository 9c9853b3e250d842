"""Finding, downloading and checking dataset files (the only module that touches the network)."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
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
    """Fetch ``url`` into ``destination``: the one call :func:`fetch` makes to the network."""
    download_url(url, destination)


# HTTP statuses worth another try: the server is busy or failing, not refusing for good
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class _ShortRead(OSError):
    """The connection ended before the announced number of bytes arrived."""


def _progress_bar(enabled: bool, total: int | None, initial: int, name: str):
    """A tqdm bar in bytes when asked for, stderr is a terminal and tqdm is installed."""
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name
    )


def _transfer(url: str, part: Path, timeout: float, progress: bool, name: str) -> None:
    """One HTTP request appending to ``part`` from its current size (a Range request)."""
    import urllib.request

    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "tinygrad_mom"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = getattr(response, "status", 200)
        content_range = response.headers.get("Content-Range", "")
        resumed = status == 206 and content_range.startswith(f"bytes {offset}-")
        if not resumed:
            offset = 0  # the server sent the whole file (it ignores Range): start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        bar = _progress_bar(progress, total, offset, name)
        received = offset
        try:
            with open(part, "ab" if resumed else "wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received < total:
        raise _ShortRead(f"connection closed after {received} of {total} bytes")


def download_url(
    url: str,
    destination: str | os.PathLike,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``destination`` with a progress bar, retries and resumption.

    Bytes arrive in ``<destination>.part``; an interrupted transfer (a dropped connection, a
    timeout, a server error) is retried up to ``retries`` times, ``backoff`` × 2^k seconds
    apart, each retry asking only for the missing bytes (an HTTP Range request). A ``.part``
    left by an earlier failed call is resumed the same way. Only a complete file is renamed to
    ``destination``. A client error (404, 403, ...) fails at once.
    """
    import time
    import urllib.error

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, progress, destination.name)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # the .part cannot be resumed (file changed?): start over
                part.unlink(missing_ok=True)
            elif exc.code not in _RETRY_STATUSES:
                raise
            if attempt == retries:
                raise
        except (OSError, http.client.HTTPException):
            # URLError, timeouts, resets and short reads are OSErrors; keep the bytes we have
            if attempt == retries:
                raise
        time.sleep(backoff * 2**attempt)
    os.replace(part, destination)
    return destination


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
