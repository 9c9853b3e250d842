"""Checkpoints without pickle: ``tm.save`` / ``tm.load`` on the safetensors format.

A checkpoint is one safetensors file. Every array leaf of the saved object (a Tensor or a NumPy
array) becomes one safetensors tensor; the rest of the structure (dicts with str or int keys,
lists vs tuples, Python scalars, strings, None, which leaves were Tensors) is stored as plain
JSON in the file's ``__metadata__`` under the key ``"tinygrad_mom"``. Nested keys are joined
with ``"."`` (``{"model": {"fc.weight": w}}`` is stored as ``"model.fc.weight"``), and a flat
state_dict keeps its plain keys, so ``safetensors.torch.load_file`` reads a model saved here and
``tm.load`` reads one saved by PyTorch.

Nothing is ever unpickled. Loading checks the whole file before building anything: the header
length, the header JSON, every tensor's dtype, shape and byte range, and a SHA-256 digest of
the header description and of each tensor's bytes (files written here carry them). Any problem
raises :class:`CheckpointError` naming the key or the byte offset.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import struct
import tempfile
from collections.abc import Mapping

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["CheckpointError", "load", "save"]

_META_KEY = "tinygrad_mom"
# The container JSON starts with this, so a damaged metadata key is still recognised as ours.
_MAGIC = '{"tinygrad_mom_checkpoint":'
_FORMAT_VERSION = 1
_MAX_HEADER = 100_000_000  # the safetensors reference implementation's limit

# safetensors dtype names <-> NumPy dtypes (those NumPy can represent)
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
_DTYPE_NAMES = {dt: name for name, dt in _DTYPES.items()}
# Valid in the safetensors spec but not representable in NumPy: named in the error.
_FOREIGN_DTYPES = {"BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C128"}


def _dtype_name(dtype: np.dtype) -> str | None:
    """The safetensors name of a NumPy dtype of either byte order, or None if it has none."""
    return _DTYPE_NAMES.get(dtype.newbyteorder("="))


class CheckpointError(ValueError):
    """A checkpoint file is damaged, truncated, or not a safetensors checkpoint."""


def _safetensors_numpy():
    """Import ``safetensors.numpy`` lazily, naming the extra to install when it is missing."""
    try:
        import safetensors.numpy as st
    except ImportError as exc:
        raise ImportError(
            "tm.save and tm.load need the 'safetensors' package, which is not installed: "
            "pip install 'tinygrad_mom[checkpoint]' (or pip install safetensors)"
        ) from exc
    return st


# ==============================================================================================
# save


def save(obj, f) -> None:
    """Save ``obj`` (a state_dict, or nested dicts of them and plain values) to ``f`` atomically.

    ``obj`` may contain Tensors, NumPy arrays and scalars, dicts with str or int keys, lists,
    tuples, bool, int, float, str and None. ``f`` is a path (written through a temporary file
    in the same directory, fsync and ``os.replace``, so a crash never leaves a half-written
    checkpoint) or a binary file object. Nothing is written if ``obj`` holds anything else.
    """
    st = _safetensors_numpy()
    encoder = _Encoder()
    tree = encoder.encode(obj, (), "obj")
    tree_json = json.dumps(tree, separators=(",", ":"), allow_nan=False)
    described = {name: [_dtype_name(a.dtype), list(a.shape)] for name, a in encoder.arrays.items()}
    container = (
        f'{_MAGIC}{_FORMAT_VERSION},"tree":{json.dumps(tree_json)},'
        f'"sha256":"{_header_digest(described, tree_json)}"}}'
    )
    data = st.save(encoder.arrays, metadata={_META_KEY: container})
    if hasattr(f, "write"):
        f.write(data)
        return
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"save expects a path or a binary file object, got {type(f).__name__}")
    atomic_write(os.fspath(f), data)


def _header_digest(described: dict, tree_json: str) -> str:
    """SHA-256 over the tensor descriptions and the structure JSON (canonical form)."""
    canonical = json.dumps(
        {"tensors": described, "tree": tree_json}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _bytes_digest(buffer) -> str:
    return hashlib.sha256(buffer).hexdigest()


_MAX_DEPTH = 200  # containers nested deeper than this are refused (a state_dict is ~5 deep)


class _Encoder:
    """Turns an object into a JSON tree, collecting its arrays under flattened names."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._open: set[int] = set()  # ids of the containers on the current path (cycles)

    def _name(self, parts: tuple) -> str:
        base = ".".join(parts) if parts else "tensor"
        name, n = base, 0
        # Different paths can flatten to one name ({"a.b": x} and {"a": {"b": y}}, or 1 and "1");
        # the JSON tree records each leaf's real name, so a suffix keeps them apart losslessly.
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        return name

    def _add_array(self, arr: np.ndarray, parts: tuple, where: str) -> dict:
        if arr.dtype.hasobject or _dtype_name(arr.dtype) is None:
            raise TypeError(
                f"cannot save {where}: arrays of dtype {arr.dtype} are not supported "
                f"(supported: {', '.join(str(d) for d in _DTYPE_NAMES)})"
            )
        # safetensors stores little-endian, C-contiguous bytes
        # (not np.ascontiguousarray, which turns 0-d arrays into 1-d ones)
        arr = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
        name = self._name(parts)
        self.arrays[name] = arr
        return {"key": name, "sha256": _bytes_digest(arr.reshape(-1).view(np.uint8))}

    def encode(self, obj, parts: tuple, where: str):
        if isinstance(obj, Tensor):
            node = self._add_array(backend.to_numpy(obj.array), parts, where)
            return {"t": "tensor", "requires_grad": obj.requires_grad, **node}
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", **self._add_array(obj, parts, where)}
        if isinstance(obj, np.generic):
            if obj.dtype.hasobject or _dtype_name(obj.dtype) is None:
                raise TypeError(f"cannot save {where}: NumPy scalar of dtype {obj.dtype}")
            little = np.asarray(obj, dtype=obj.dtype.newbyteorder("<"))
            hex_ = little.tobytes().hex()
            return {"t": "npscalar", "dtype": _dtype_name(obj.dtype), "hex": hex_}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)  # int subclasses (IntEnum) are saved as plain ints
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)  # JSON keeps the shortest repr, which round-trips exactly
            return {"t": "float", "v": repr(obj)}  # 'nan', 'inf', '-inf'
        if isinstance(obj, (Mapping, list, tuple)):
            if id(obj) in self._open:
                raise ValueError(f"cannot save {where}: it contains itself (a reference cycle)")
            if len(parts) >= _MAX_DEPTH:
                raise ValueError(
                    f"cannot save {where}: containers are nested more than {_MAX_DEPTH} deep"
                )
            self._open.add(id(obj))
            try:
                return self._encode_container(obj, parts, where)
            finally:
                self._open.discard(id(obj))
        raise TypeError(
            f"cannot save {where}: objects of type {type(obj).__name__} are not supported "
            "(Tensors, NumPy arrays, dict, list, tuple, bool, int, float, str and None are)"
        )

    def _encode_container(self, obj, parts: tuple, where: str):
        if isinstance(obj, Mapping):
            items = []
            for key, value in obj.items():
                if isinstance(key, str):
                    enc_key, part, shown = ["s", key], key, repr(key)
                elif isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
                    enc_key, part, shown = ["i", int(key)], str(int(key)), str(int(key))
                else:
                    raise TypeError(
                        f"cannot save {where}: dict keys must be str or int, got {key!r} "
                        f"({type(key).__name__})"
                    )
                items.append([enc_key, self.encode(value, parts + (part,), f"{where}[{shown}]")])
            return {"t": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {
                "t": kind,
                "items": [
                    self.encode(v, parts + (str(i),), f"{where}[{i}]") for i, v in enumerate(obj)
                ],
            }
        raise AssertionError("unreachable")  # encode() passes only mappings, lists and tuples


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and os.replace.

    A symbolic link is written through: its target file is replaced, the link stays. The
    temporary files of earlier saves to the same path that were killed before their rename
    (``.<name>.<random>.tmp``) are removed first, so repeated crashes do not fill the disk.
    """
    path = os.path.realpath(path)  # write through a symlink instead of replacing the link
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: directory {directory!r} does not exist")
    prefix = f".{os.path.basename(path)}."
    _remove_stale_temporaries(directory, prefix)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the name points at them
        # mkstemp makes the file private (0600); give it an ordinary file's mode
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Persist the rename itself; not every platform can open a directory, hence best effort.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _remove_stale_temporaries(directory: str, prefix: str) -> None:
    """Delete ``prefix*.tmp`` files left in ``directory`` by saves killed before their rename."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            name = entry.name
            # mkstemp's random part is 8 characters: match exactly that shape, nothing else
            if name.startswith(prefix) and name.endswith(".tmp") \
                    and len(name) == len(prefix) + 8 + 4 and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# ==============================================================================================
# load


def load(f, map_location=None, *, device=None, weights_only: bool | None = None):
    """Load a checkpoint written by :func:`save` (or any safetensors file) from a path or file.

    Tensors come back as Tensors (on CPU, or on ``map_location``/``device``), NumPy arrays as
    NumPy arrays, and the rest of the structure exactly as saved. A safetensors file without
    tinygrad_mom metadata (e.g. written by ``safetensors.torch.save_file``) loads as a flat
    dict of Tensors. ``weights_only`` is accepted for PyTorch compatibility: loading is always
    weights-only safe, since nothing is unpickled. Raises :class:`CheckpointError` for a
    damaged file, a pickle, or an ``.npy`` file holding Python objects.
    """
    del weights_only  # always safe: there is no pickle path to opt into
    target = _target_device(map_location, device)
    _safetensors_numpy()  # the format's package must be installed, as for save
    if hasattr(f, "read"):
        raw = f.read()
        source = getattr(f, "name", type(f).__name__)
    elif isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(source, "rb") as fh:
            streamed = _load_streaming(fh, source, target)
            if streamed is not _NOT_STREAMED:
                return streamed
            fh.seek(0)
            raw = fh.read()
    else:
        raise TypeError(f"load expects a path or a binary file object, got {type(f).__name__}")
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError(
            f"load expects a binary file, but reading {source!r} gave {type(raw).__name__}"
        )
    raw = bytes(raw)

    npy = _refuse_foreign_formats(raw, source)
    if npy is not None:
        return npy
    data_start, entries, tree = _header_and_tree(raw, source)
    view = memoryview(raw)

    def fill(offset: int, out: memoryview) -> int:
        chunk = view[offset : offset + len(out)]
        out[: len(chunk)] = chunk
        return len(chunk)

    return _build(_read_arrays(entries, data_start, fill, tree, source), entries, tree, target,
                  source)


_NOT_STREAMED = object()


def _load_streaming(fh, source: str, target: str):
    """Load a safetensors file from an open file without reading it whole: the header, then
    each tensor's bytes straight into its own array (peak memory: the arrays, once). Returns
    ``_NOT_STREAMED`` for anything that is not a safetensors file (read whole, then refused or
    read as .npy)."""
    size = os.fstat(fh.fileno()).st_size
    prefix = fh.read(9)
    if len(prefix) < 9 or prefix[8:9] != b"{":
        return _NOT_STREAMED
    (n,) = struct.unpack("<Q", prefix[:8])
    if n == 0 or n > _MAX_HEADER or 8 + n > size:
        return _NOT_STREAMED  # the in-memory path names the problem
    head = prefix + fh.read(n - 1)
    data_start, entries, tree = _header_and_tree(head, source, size)

    def fill(offset: int, out: memoryview) -> int:
        fh.seek(offset)
        return fh.readinto(out) or 0

    return _build(_read_arrays(entries, data_start, fill, tree, source), entries, tree, target,
                  source)


def _header_and_tree(raw: bytes, source: str, file_size: int | None = None):
    try:
        data_start, entries, metadata = _parse_header(raw, source, file_size)
        tree = _read_tree(metadata, entries, source)
    except RecursionError:  # a crafted header nested thousands deep
        raise CheckpointError(f"{source}: the header is nested too deeply") from None
    return data_start, entries, tree


def _read_arrays(entries: dict, data_start: int, fill, tree, source: str) -> dict:
    """Each tensor's bytes, read by ``fill(file offset, buffer)`` into a new array it owns, and
    checked against its SHA-256 (files written by save carry one per tensor)."""
    arrays = {}
    for name, info in sorted(entries.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        arr = np.empty(info["shape"], dtype=_DTYPES[info["dtype"]].newbyteorder("<"))
        buffer = memoryview(arr.reshape(-1).view(np.uint8))
        if fill(data_start + begin, buffer) != end - begin:
            raise CheckpointError(
                f"{source}: tensor {name!r} ends at file offset {data_start + end}, but the file "
                "ended before it (truncated while being read)"
            )
        if tree is not None and _bytes_digest(buffer) != tree.digests[name]:
            raise CheckpointError(
                f"{source}: the data of tensor {name!r} (file bytes {data_start + begin} to "
                f"{data_start + end}) does not match its SHA-256: the file is corrupted"
            )
        native = arr.dtype.newbyteorder("=")
        arrays[name] = arr if arr.dtype == native else arr.astype(native)
    return arrays


def _build(arrays: dict, entries: dict, tree, target: str, source: str):
    if tree is None:  # a plain safetensors file: a flat state_dict of Tensors
        return {name: _to_tensor(arrays[name], target, False, name, source) for name in entries}
    return tree.build(arrays, target, source)


def _target_device(map_location, device) -> str:
    """The canonical device that loaded Tensors go to."""
    for name, value in (("map_location", map_location), ("device", device)):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"{name} must be a device string such as 'cpu' or 'cuda:0' or None, got "
                f"{type(value).__name__} (dict and callable map_locations are not supported)"
            )
    if map_location is not None and device is not None:
        if backend.parse_device(map_location) != backend.parse_device(device):
            raise ValueError(f"map_location={map_location!r} and device={device!r} disagree")
    return backend.parse_device(device if device is not None else map_location)


def _refuse_foreign_formats(raw: bytes, source: str):
    """Refuse pickles and zip archives, and read a plain .npy without allowing pickle."""
    # A safetensors file's 8-byte header length can begin with the same two bytes as a pickle
    # (a header of 896 bytes is 80 03 00 ...): its JSON header then starts at byte 8.
    if len(raw) > 8 and raw[8:9] == b"{":
        return None
    if len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5:
        raise CheckpointError(
            f"{source} is a Python pickle (protocol {raw[1]}); tinygrad_mom never unpickles, "
            "because unpickling runs arbitrary code. Re-save it as safetensors."
        )
    if raw.startswith(b"PK\x03\x04"):
        raise CheckpointError(
            f"{source} is a zip archive (torch.save or .npz format), which holds pickles; "
            "tinygrad_mom does not read it. Save the state_dict with safetensors instead."
        )
    if raw.startswith(b"\x93NUMPY"):
        buf = io.BytesIO(raw)
        try:
            version = np.lib.format.read_magic(buf)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(buf)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(buf)
        except Exception as exc:  # noqa: BLE001 - NumPy parses the header with ast/tokenize:
            # ValueError, SyntaxError, tokenize errors, ... all mean a damaged header
            raise CheckpointError(
                f"{source}: damaged .npy header ({type(exc).__name__}: {exc})"
            ) from None
        if dtype.hasobject:
            raise CheckpointError(
                f"{source} is an .npy file holding Python objects (dtype {dtype}), which only "
                "pickle can read; refused"
            )
        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CheckpointError(f"{source}: damaged .npy file: {exc}") from exc
    return None


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list) -> dict:
    """json's object hook: a dict, refusing a key given twice (json keeps the last silently)."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_header(raw: bytes, source: str, file_size: int | None = None):
    """Validate the safetensors header; returns (data start, tensor entries, metadata).

    ``raw`` is the whole file, or (with ``file_size``) at least its first 8 + header bytes.
    """
    size = len(raw) if file_size is None else file_size
    if size < 8:
        raise CheckpointError(
            f"{source} is {size} bytes long; a safetensors file starts with an 8-byte "
            "header length (file truncated or not a checkpoint)"
        )
    (n,) = struct.unpack("<Q", raw[:8])
    if n == 0 or n > _MAX_HEADER or 8 + n > size:
        raise CheckpointError(
            f"{source}: the header length at offset 0 says {n} bytes, but the file is "
            f"{size} bytes long (truncated, corrupted, or not a safetensors file)"
        )
    header = raw[8 : 8 + n]
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            f"{source}: the header is not valid UTF-8 at file offset {8 + exc.start}"
        ) from None
    try:
        parsed, end = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys).raw_decode(text)
    except _DuplicateKey as exc:
        raise CheckpointError(
            f"{source}: the header names {exc.args[0]!r} twice (a safetensors header must not "
            "repeat a key: which entry is meant is ambiguous)"
        ) from None
    except json.JSONDecodeError as exc:
        offset = 8 + len(text[: exc.pos].encode())
        raise CheckpointError(
            f"{source}: the header is not valid JSON at file offset {offset}: {exc.msg}"
        ) from None
    tail = text[end:]
    if tail.strip(" ") != "":
        offset = 8 + len(text[:end].encode()) + (len(tail) - len(tail.lstrip(" ")))
        raise CheckpointError(
            f"{source}: unexpected byte at file offset {offset} after the header JSON "
            "(only space padding may follow it)"
        )
    if not isinstance(parsed, dict):
        raise CheckpointError(
            f"{source}: the header JSON is a {type(parsed).__name__}, not an object"
        )

    metadata = parsed.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise CheckpointError(f"{source}: '__metadata__' must map strings to strings")

    data_len = size - 8 - n
    entries = {}
    for name, info in parsed.items():
        entries[name] = _check_entry(name, info, data_len, 8 + n, source)
    # The byte ranges must tile the data section exactly: no gaps, overlaps or trailing bytes.
    position = 0
    for name, info in sorted(entries.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        if begin != position:
            raise CheckpointError(
                f"{source}: tensor {name!r} starts at data offset {begin} (file offset "
                f"{8 + n + begin}), expected {position}: the byte ranges overlap or leave a gap"
            )
        position = end
    if position != data_len:
        raise CheckpointError(
            f"{source}: the tensors end at data offset {position} (file offset {8 + n + position})"
            f" but the file has {data_len - position} more bytes after them"
        )
    return 8 + n, entries, metadata or {}


def _check_entry(name: str, info, data_len: int, data_start: int, source: str) -> dict:
    """Validate one tensor's dtype, shape and byte range."""
    where = f"{source}: tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: header entry must have exactly dtype, shape, data_offsets")
    dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype_name not in _DTYPES:
        if dtype_name in _FOREIGN_DTYPES:
            raise CheckpointError(f"{where} has dtype {dtype_name}, which NumPy cannot represent")
        raise CheckpointError(f"{where} has unknown dtype {dtype_name!r}")

    def is_count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(shape, list) or not all(is_count(d) for d in shape):
        raise CheckpointError(f"{where}: shape {shape!r} is not a list of non-negative ints")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_count(o) for o in offsets)):
        raise CheckpointError(
            f"{where}: data_offsets {offsets!r} is not a pair of non-negative ints"
        )
    begin, end = offsets
    if begin > end:
        raise CheckpointError(f"{where}: data_offsets [{begin}, {end}] run backwards")
    expected = math.prod(shape) * _DTYPES[dtype_name].itemsize
    if end - begin != expected:
        raise CheckpointError(
            f"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes, but shape "
            f"{shape} of {dtype_name} needs {expected}"
        )
    if end > data_len:
        raise CheckpointError(
            f"{where} ends at file offset {data_start + end}, but the file is only "
            f"{data_start + data_len} bytes long (truncated)"
        )
    return info


class _Tree:
    """The decoded structure of a tinygrad_mom checkpoint, validated against the tensors."""

    def __init__(self, root, digests: dict):
        self.root = root
        self.digests = digests

    def build(self, arrays: dict, target: str, source: str):
        return self._build(self.root, arrays, target, source)

    def _build(self, node, arrays, target, source):
        if not isinstance(node, dict):
            return node  # None, bool, int, float, str
        kind = node["t"]
        if kind == "dict":
            return {
                (k if tag == "s" else int(k)): self._build(v, arrays, target, source)
                for (tag, k), v in node["items"]
            }
        if kind in ("list", "tuple"):
            items = [self._build(v, arrays, target, source) for v in node["items"]]
            return tuple(items) if kind == "tuple" else items
        if kind == "float":
            return float(node["v"])
        if kind == "npscalar":
            dtype = _DTYPES[node["dtype"]]
            little = np.frombuffer(bytes.fromhex(node["hex"]), dtype=dtype.newbyteorder("<"))
            return little[0].astype(dtype)
        arr = arrays[node["key"]]  # each array is built once, owned, and used by one node
        if kind == "ndarray":
            return arr
        return _to_tensor(arr, target, node["requires_grad"], node["key"], source)


def _to_tensor(arr: np.ndarray, target: str, requires_grad: bool, name: str, source: str) -> Tensor:
    if arr.dtype.kind not in "biuf":
        raise CheckpointError(
            f"{source}: tensor {name!r} has dtype {arr.dtype}, which Tensors do not support"
        )
    t = Tensor._wrap(backend.to_device(arr, target) if target != "cpu" else arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _read_tree(metadata: dict, entries: dict, source: str) -> _Tree | None:
    """Parse and check the tinygrad_mom structure; None for a plain safetensors file."""
    container_text = metadata.get(_META_KEY)
    for key, value in metadata.items():
        if key != _META_KEY and value.startswith(_MAGIC):
            raise CheckpointError(
                f"{source}: metadata key {key!r} holds tinygrad_mom structure but should be "
                f"{_META_KEY!r}: the header is corrupted"
            )
    if container_text is None:
        return None

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"{source}: corrupted tinygrad_mom metadata: {why}")

    try:
        container = json.loads(container_text)
    except json.JSONDecodeError as exc:
        raise bad(f"invalid JSON at metadata offset {exc.pos}") from None
    if not isinstance(container, dict) or set(container) != {
        "tinygrad_mom_checkpoint",
        "tree",
        "sha256",
    }:
        raise bad("expected the keys tinygrad_mom_checkpoint, tree and sha256")
    if container["tinygrad_mom_checkpoint"] != _FORMAT_VERSION:
        raise bad(f"unsupported format version {container['tinygrad_mom_checkpoint']!r}")
    tree_json = container["tree"]
    if not isinstance(tree_json, str):
        raise bad("the tree is not a JSON string")
    described = {name: [i["dtype"], i["shape"]] for name, i in entries.items()}
    if _header_digest(described, tree_json) != container["sha256"]:
        raise bad(
            "the SHA-256 of the header (tensor names, dtypes, shapes and structure) does not "
            "match the one stored at save time"
        )
    try:
        root = json.loads(tree_json)
    except json.JSONDecodeError as exc:
        raise bad(f"the tree is invalid JSON at offset {exc.pos}") from None
    digests: dict[str, str] = {}
    _check_node(root, entries, digests, bad)
    missing = set(entries) - set(digests)
    if missing:
        raise bad(f"tensors {sorted(missing)} are in the file but not in the structure")
    return _Tree(root, digests)


def _check_node(node, entries: dict, digests: dict, bad) -> None:
    """Recursively check that a structure node is well formed (before anything is built)."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return
    if not isinstance(node, dict) or "t" not in node:
        raise bad(f"unexpected node {node!r:.80}")
    kind = node["t"]
    if kind == "dict":
        items = node.get("items")
        if not isinstance(items, list):
            raise bad("a dict node has no item list")
        for item in items:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], list)
                and len(item[0]) == 2
            ):
                raise bad(f"malformed dict item {item!r:.80}")
            (tag, key), value = item
            if not (
                (tag == "s" and isinstance(key, str))
                or (tag == "i" and isinstance(key, int) and not isinstance(key, bool))
            ):
                raise bad(f"malformed dict key {item[0]!r:.80}")
            _check_node(value, entries, digests, bad)
    elif kind in ("list", "tuple"):
        if not isinstance(node.get("items"), list):
            raise bad(f"a {kind} node has no item list")
        for value in node["items"]:
            _check_node(value, entries, digests, bad)
    elif kind == "float":
        if node.get("v") not in ("nan", "inf", "-inf"):
            raise bad(f"bad special float {node.get('v')!r}")
    elif kind == "npscalar":
        dtype = _DTYPES.get(node.get("dtype"))
        hex_ = node.get("hex")
        if dtype is None or not isinstance(hex_, str) or len(hex_) != 2 * dtype.itemsize:
            raise bad(f"malformed NumPy scalar {node!r:.80}")
        try:
            bytes.fromhex(hex_)
        except ValueError:
            raise bad(f"malformed NumPy scalar {node!r:.80}") from None
    elif kind in ("tensor", "ndarray"):
        key = node.get("key")
        if key not in entries:
            raise bad(f"the structure names tensor {key!r}, which is not in the file")
        if key in digests:
            raise bad(f"tensor {key!r} is named twice in the structure")
        if not isinstance(node.get("sha256"), str):
            raise bad(f"tensor {key!r} has no SHA-256")
        if kind == "tensor":
            if not isinstance(node.get("requires_grad"), bool):
                raise bad(f"tensor {key!r} has no requires_grad flag")
            if node["requires_grad"] and _DTYPES[entries[key]["dtype"]].kind != "f":
                raise bad(f"tensor {key!r} of dtype {entries[key]['dtype']} cannot require grad")
        digests[key] = node["sha256"]
    else:
        raise bad(f"unknown node type {kind!r}")
