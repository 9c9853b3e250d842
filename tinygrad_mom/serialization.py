"""Checkpoints without pickle: ``tm.save`` / ``tm.load`` on the safetensors format.

A checkpoint is one safetensors file. Every array leaf of the saved object (a Tensor or a NumPy
array) becomes one safetensors tensor; the rest of the structure (dicts with str or int keys,
lists vs tuples, Python scalars, strings, None, which leaves were Tensors) is stored as plain
JSON in the file's ``__metadata__`` under the key ``"tinygrad_mom"``. Nested keys are joined
with ``"."`` (``{"model": {"fc.weight": w}}`` is stored as ``"model.fc.weight"``), and a flat
state_dict keeps its plain keys, so ``safetensors.torch.load_file`` reads a model saved here and
``tm.load`` reads one saved by PyTorch.

Nothing is ever unpickled. The safetensors package parses and checks the file (header length,
header JSON, every tensor's dtype, shape and byte range); this module adds a refusal of header
keys given twice, the structure tree, and SHA-256 digests of the header description and of
each tensor's bytes (files written here carry them), so a flipped data byte is caught too. Any
problem raises :class:`CheckpointError` naming the file and the entry.
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
#
# The safetensors package parses and checks the file: the header length, the header JSON, every
# tensor's dtype, shape and byte range, the ranges covering the data exactly. This part adds
# what the package lacks: refusing a header key given twice (the package keeps the last one),
# the structure tree, the SHA-256 digests, and messages that name the file and the entry.


def load(f, map_location=None, *, device=None, weights_only: bool | None = None):
    """Load a checkpoint written by :func:`save` (or any safetensors file) from a path or file.

    Tensors come back as Tensors (on CPU, or on ``map_location``/``device``), NumPy arrays as
    NumPy arrays, and the rest of the structure exactly as saved. A safetensors file without
    tinygrad_mom metadata (e.g. written by ``safetensors.torch.save_file``) loads as a flat
    dict of Tensors. ``weights_only`` is accepted for PyTorch compatibility: loading is always
    weights-only safe, since nothing is unpickled. Raises :class:`CheckpointError` for a
    damaged file, a pickle, or an ``.npy`` file holding Python objects.

    From a path, each tensor is read from the file straight into its own array (the file is
    held in memory once); a file object is read whole first.
    """
    del weights_only  # always safe: there is no pickle path to opt into
    target = _target_device(map_location, device)
    _safetensors_numpy()  # the format's package must be installed, as for save
    from safetensors import deserialize, safe_open

    if hasattr(f, "read"):
        raw = f.read()
        source = getattr(f, "name", type(f).__name__)
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(
                f"load expects a binary file, but reading {source!r} gave {type(raw).__name__}"
            )
        npy = _foreign_format(io.BytesIO(raw), source)
        if npy is not None:
            return npy
        with _refused(source):
            tensors = dict(deserialize(bytes(raw)))  # name -> {dtype, shape, data: bytearray}
        header, data_start = _header(raw, source)
        del raw  # deserialize copied each tensor's bytes out: the file's are no longer needed

        def read(name: str) -> np.ndarray:
            info = tensors.pop(name)
            return np.frombuffer(info["data"], _DTYPES[info["dtype"]]).reshape(info["shape"])

        return _Reader(header, data_start, read, target, source).build()
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"load expects a path or a binary file object, got {type(f).__name__}")
    source = os.fspath(f)
    with open(source, "rb") as fh:
        npy = _foreign_format(fh, source)
        if npy is not None:
            return npy
        # "pread" reads each tensor into a fresh buffer; "mmap" would also keep the file's
        # pages resident while the arrays are copied out of them (twice the memory).
        with _refused(source), safe_open(source, framework="np", backend="pread") as sf:
            fh.seek(0)
            head = fh.read(8)
            header, data_start = _header(head + fh.read(struct.unpack("<Q", head)[0]), source)
            return _Reader(header, data_start, sf.get_tensor, target, source).build()


# What the package's refusals mean, where its words alone do not say
_HINTS = {
    "header too small": "the file is shorter than the 8-byte header length (truncated, or not "
    "a checkpoint)",
    "invalid header length": "the header length in the first 8 bytes runs past the end of the "
    "file (truncated, or not a safetensors file)",
    "header too large": "the header length in the first 8 bytes is over the format's limit "
    "(corrupted, or not a safetensors file)",
    "not fully covered": "the tensors' byte ranges do not end where the file ends (truncated, "
    "or bytes after the last tensor)",
}


@contextlib.contextmanager
def _refused(source: str):
    """The safetensors package's refusal of a file, as a CheckpointError naming the file."""
    from safetensors import SafetensorError

    try:
        yield
    except SafetensorError as exc:
        detail = str(exc).removeprefix("Error while deserializing").removeprefix(" header")
        detail = detail.removeprefix(": ")
        hint = next((f": {h}" for phrase, h in _HINTS.items() if phrase in detail), "")
        raise CheckpointError(f"{source}: not a valid safetensors file: {detail}{hint}") from None


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


def _header(head: bytes, source: str) -> tuple[dict, int]:
    """The header that the package has accepted, as JSON, and the file offset where the data
    starts; a key given twice is refused."""
    (n,) = struct.unpack("<Q", head[:8])
    try:
        header = json.loads(head[8 : 8 + n], object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise CheckpointError(
            f"{source}: the header names {exc.args[0]!r} twice (a safetensors header must not "
            "repeat a key: which entry is meant is ambiguous)"
        ) from None
    except (ValueError, RecursionError) as exc:  # JSON that the package reads but Python's not
        raise CheckpointError(f"{source}: the header is not valid JSON: {exc}") from None
    return header, 8 + n


def _foreign_format(fh, source: str):
    """Refuse pickles and zip archives and read a plain .npy without allowing pickle; None for
    anything else (the safetensors package then judges it)."""
    head = fh.read(9)
    # A safetensors file's 8-byte header length can begin with the same two bytes as a pickle
    # (a header of 896 bytes is 80 03 00 ...): its JSON header then starts at byte 8.
    if head[8:9] == b"{":
        return None
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise CheckpointError(
            f"{source} is a Python pickle (protocol {head[1]}); tinygrad_mom never unpickles, "
            "because unpickling runs arbitrary code. Re-save it as safetensors."
        )
    if head.startswith(b"PK\x03\x04"):
        raise CheckpointError(
            f"{source} is a zip archive (torch.save or .npz format), which holds pickles; "
            "tinygrad_mom does not read it. Save the state_dict with safetensors instead."
        )
    if not head.startswith(b"\x93NUMPY"):
        return None
    fh.seek(0)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(fh)
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
    fh.seek(0)
    try:
        return np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{source}: damaged .npy file: {exc}") from exc


class _Reader:
    """Builds the saved object from a checked header, checking each node of the structure tree
    in the same pass that builds it. ``read(name)`` gives a tensor's array."""

    def __init__(self, header: dict, data_start: int, read, target: str, source: str):
        self.data_start = data_start
        self.metadata = header.pop("__metadata__", None) or {}
        self.entries = header  # name -> {"dtype", "shape", "data_offsets"}, checked by the package
        self.read, self.target, self.source = read, target, source
        self.used: set[str] = set()  # the tensors the structure has named so far

    def build(self):
        try:
            tree = self._tree_json()
            if tree is None:  # a plain safetensors file: a flat state_dict of Tensors
                return {name: self._tensor(name, None, False) for name in self.entries}
            try:
                root = json.loads(tree)
            except json.JSONDecodeError as exc:
                raise self._bad(f"the tree is invalid JSON at offset {exc.pos}") from None
            obj = self._node(root)
        except RecursionError:  # a crafted structure nested thousands deep
            raise CheckpointError(f"{self.source}: the header is nested too deeply") from None
        missing = set(self.entries) - self.used
        if missing:
            raise self._bad(f"tensors {sorted(missing)} are in the file but not in the structure")
        return obj

    def _bad(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.source}: corrupted tinygrad_mom metadata: {why}")

    def _tree_json(self) -> str | None:
        """The structure's JSON text, its header digest checked; None for a plain file."""
        for key, value in self.metadata.items():
            if key != _META_KEY and value.startswith(_MAGIC):
                raise CheckpointError(
                    f"{self.source}: metadata key {key!r} holds tinygrad_mom structure but should "
                    f"be {_META_KEY!r}: the header is corrupted"
                )
        if _META_KEY not in self.metadata:
            return None
        try:
            container = json.loads(self.metadata[_META_KEY])
        except json.JSONDecodeError as exc:
            raise self._bad(f"invalid JSON at metadata offset {exc.pos}") from None
        if not isinstance(container, dict) or set(container) != {
            "tinygrad_mom_checkpoint", "tree", "sha256"
        }:
            raise self._bad("expected the keys tinygrad_mom_checkpoint, tree and sha256")
        if container["tinygrad_mom_checkpoint"] != _FORMAT_VERSION:
            raise self._bad(f"unsupported format version {container['tinygrad_mom_checkpoint']!r}")
        tree = container["tree"]
        if not isinstance(tree, str):
            raise self._bad("the tree is not a JSON string")
        described = {name: [i["dtype"], i["shape"]] for name, i in self.entries.items()}
        if _header_digest(described, tree) != container["sha256"]:
            raise self._bad(
                "the SHA-256 of the header (tensor names, dtypes, shapes and structure) does not "
                "match the one stored at save time"
            )
        return tree

    def _node(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        kind = node.get("t") if isinstance(node, dict) else None
        if kind == "dict":
            out = {}
            for item in self._items(node, kind):
                key, value = self._dict_item(item)
                out[key] = self._node(value)
            return out
        if kind in ("list", "tuple"):
            items = [self._node(value) for value in self._items(node, kind)]
            return tuple(items) if kind == "tuple" else items
        if kind == "float":
            if node.get("v") not in ("nan", "inf", "-inf"):
                raise self._bad(f"bad special float {node.get('v')!r:.80}")
            return float(node["v"])
        if kind == "npscalar":
            return self._npscalar(node)
        if kind in ("tensor", "ndarray"):
            key, digest = node.get("key"), node.get("sha256")
            if not isinstance(key, str) or key not in self.entries:
                raise self._bad(f"the structure names tensor {key!r:.80}, which is not in the file")
            if key in self.used:
                raise self._bad(f"tensor {key!r} is named twice in the structure")
            if not isinstance(digest, str):
                raise self._bad(f"tensor {key!r} has no SHA-256")
            if kind == "ndarray":
                return self._array(key, digest)
            if not isinstance(node.get("requires_grad"), bool):
                raise self._bad(f"tensor {key!r} has no requires_grad flag")
            return self._tensor(key, digest, node["requires_grad"])
        raise self._bad(f"unexpected node {node!r:.80}")

    def _items(self, node: dict, kind: str) -> list:
        items = node.get("items")
        if not isinstance(items, list):
            raise self._bad(f"a {kind} node has no item list")
        return items

    def _dict_item(self, item):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list)
                and len(item[0]) == 2):
            raise self._bad(f"malformed dict item {item!r:.80}")
        (tag, key), value = item
        if not ((tag == "s" and isinstance(key, str))
                or (tag == "i" and isinstance(key, int) and not isinstance(key, bool))):
            raise self._bad(f"malformed dict key {item[0]!r:.80}")
        return key, value

    def _npscalar(self, node: dict):
        name, hex_ = node.get("dtype"), node.get("hex")
        dtype = _DTYPES.get(name) if isinstance(name, str) else None
        try:
            data = bytes.fromhex(hex_) if dtype is not None and isinstance(hex_, str) else b""
        except ValueError:
            data = b""
        if dtype is None or len(data) != dtype.itemsize:
            raise self._bad(f"malformed NumPy scalar {node!r:.80}")
        return np.frombuffer(data, dtype=dtype.newbyteorder("<"))[0].astype(dtype)

    def _array(self, name: str, digest: str | None) -> np.ndarray:
        """A tensor's bytes as a new array it owns, checked against its SHA-256 (files written
        by save carry one per tensor)."""
        self.used.add(name)
        info = self.entries[name]
        if info["dtype"] not in _DTYPES:  # valid safetensors, but not NumPy (BF16, F8_*, ...)
            raise CheckpointError(
                f"{self.source}: tensor {name!r} has dtype {info['dtype']}, which NumPy cannot "
                "represent"
            )
        arr = self.read(name)
        if digest is not None and _bytes_digest(arr.reshape(-1).view(np.uint8)) != digest:
            begin, end = (self.data_start + o for o in info["data_offsets"])
            raise CheckpointError(
                f"{self.source}: the data of tensor {name!r} (file bytes {begin} to {end}) does "
                "not match its SHA-256: the file is corrupted"
            )
        return arr

    def _tensor(self, name: str, digest: str | None, requires_grad: bool) -> Tensor:
        arr = self._array(name, digest)
        if arr.dtype.kind not in "biuf":
            raise CheckpointError(
                f"{self.source}: tensor {name!r} has dtype {arr.dtype}, which Tensors do not "
                "support"
            )
        if requires_grad and arr.dtype.kind != "f":
            raise self._bad(f"tensor {name!r} of dtype {arr.dtype} cannot require grad")
        t = Tensor._wrap(backend.to_device(arr, self.target) if self.target != "cpu" else arr)
        if requires_grad:
            t.requires_grad_(True)
        return t


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
