"""tm.save / tm.load: bit-exact round trips, atomic writes, validation, no pickle."""

import io
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend
from tinygrad_mom.serialization import CheckpointError

st = pytest.importorskip("safetensors.numpy")


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def _assert_same(a, b):
    """Structure, types and bits equal (NaN payloads included)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, tm.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert _bits(a.numpy(force=True)) == _bits(b.numpy(force=True))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert _bits(a) == _bits(b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        assert [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b) or (a != a and b != b)
    else:
        assert a == b


def _checkpoint():
    """A training checkpoint with everything a real one holds."""
    rng = np.random.default_rng(1)
    model = {
        "conv.weight": tm.randn(4, 3, 3, 3, requires_grad=True),
        "conv.bias": tm.zeros(4, requires_grad=True),
        "bn.running_mean": tm.Tensor(rng.standard_normal(4).astype(np.float32)),
        "bn.num_batches_tracked": tm.Tensor(np.array(7, dtype=np.int64)),
    }
    optimizer = {
        "state": {
            0: {"momentum_buffer": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)},
            1: {"momentum_buffer": None, "step": 3},
        },
        "param_groups": [
            {
                "lr": 0.01,
                "momentum": 0.9,
                "nesterov": False,
                "weight_decay": 0.0,
                "betas": (0.9, 0.999),
                "params": [0, 1],
            }
        ],
    }
    return {
        "model": model,
        "optimizer": optimizer,
        "scheduler": {"last_epoch": 4, "base_lrs": [0.01], "gamma": np.float64(0.5)},
        "epoch": 5,
        "rng": backend.get_rng_state(),
        "history": {"loss": [2.3, 1.1, float("nan")], "note": "ünïcode ✓", "best": None},
    }


def test_nested_checkpoint_round_trip_is_bit_exact(tmp_path):
    obj = _checkpoint()
    path = tmp_path / "ckpt.safetensors"
    tm.save(obj, path)
    _assert_same(obj, tm.load(path))


@pytest.mark.parametrize(
    "dtype",
    [
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.bool_,
    ],
)
def test_every_dtype_round_trips_bit_exact(tmp_path, dtype):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal((3, 5)).astype(dtype)
        a[0, :4] = [np.nan, -0.0, np.inf, np.finfo(dtype).tiny / 4]  # NaN, -0, inf, subnormal
        # a NaN with a non-default payload must survive too
        payload_nan = {2: 0x7E01, 4: 0x7FC00001, 8: 0x7FF8000000000001}[a.itemsize]
        a.view(f"u{a.itemsize}")[1, 0] = payload_nan
        assert np.isnan(a[1, 0])
    elif dtype is np.bool_:
        a = rng.random((3, 5)) > 0.5
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=(3, 5), dtype=dtype, endpoint=True)
    obj = {"t": tm.Tensor(a), "a": a, "s": a.reshape(-1)[3]}
    tm.save(obj, tmp_path / "x.st")
    _assert_same(obj, tm.load(tmp_path / "x.st"))


def test_odd_layouts_round_trip(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    obj = {
        "noncontig": base[:, ::2],
        "fortran": np.asfortranarray(base),
        "bigendian": base.astype(">f8"),
        "empty": np.zeros((0, 3), np.float32),
        "scalar0d": np.array(3.5, np.float32),
        "tensor0d": tm.tensor(2.0),
        "empty_tensor": tm.zeros(2, 0),
    }
    tm.save(obj, tmp_path / "x.st")
    out = tm.load(tmp_path / "x.st")
    for k, v in obj.items():
        got = out[k]
        ref = v.numpy(force=True).copy() if isinstance(v, tm.Tensor) else v
        got = got.numpy(force=True).copy() if isinstance(got, tm.Tensor) else got
        assert type(out[k]) is type(v)
        assert got.shape == ref.shape and got.dtype.newbyteorder("=") == ref.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, ref)
    assert out["bigendian"].dtype == np.dtype("<f8")  # stored little-endian, values unchanged


def test_python_values_and_keys_survive(tmp_path):
    obj = {
        1: "int key",
        "1": "str key",
        -5: [1, (2, 3), [4.0]],
        "floats": [0.1, -0.0, 1e-310, 1.7976931348623157e308, float("inf"), float("-inf")],
        "big": 2**127 + 1,
        "flags": (True, False, None),
        "empty": {},
        "etuple": (),
        "elist": [],
        "npint": np.int64(-3),
        "npbool": np.bool_(True),
    }
    path = tmp_path / "x.st"
    tm.save(obj, path)
    out = tm.load(path)
    _assert_same(obj, out)
    assert out[1] == "int key" and out["1"] == "str key"


def test_rng_state_restores_the_same_draws(tmp_path):
    tm.manual_seed(123)
    tm.randn(5)
    tm.save({"rng": backend.get_rng_state()}, tmp_path / "rng.st")
    expected = tm.randn(7).numpy(force=True).copy()
    tm.manual_seed(999)
    backend.set_rng_state(tm.load(tmp_path / "rng.st")["rng"])
    np.testing.assert_array_equal(tm.randn(7).numpy(force=True), expected)


def test_flat_state_dict_uses_plain_keys_and_nested_keys_are_joined(tmp_path):
    sd = {"fc.weight": tm.randn(2, 3), "fc.bias": tm.randn(2)}
    tm.save(sd, tmp_path / "flat.st")
    raw = st.load_file(str(tmp_path / "flat.st"))
    assert set(raw) == {"fc.weight", "fc.bias"}
    np.testing.assert_array_equal(raw["fc.weight"], sd["fc.weight"].numpy(force=True))

    tm.save({"model": sd, "opt": {"state": {0: {"buf": np.ones(2)}}}}, tmp_path / "nested.st")
    assert set(st.load_file(str(tmp_path / "nested.st"))) == {
        "model.fc.weight",
        "model.fc.bias",
        "opt.state.0.buf",
    }


def test_colliding_flattened_names_stay_apart(tmp_path):
    obj = {"a.b": tm.ones(1), "a": {"b": tm.zeros(1)}, 3: np.full(2, 3.0), "3": np.full(2, 4.0)}
    tm.save(obj, tmp_path / "x.st")
    _assert_same(obj, tm.load(tmp_path / "x.st"))


def test_plain_safetensors_file_loads_as_flat_tensor_dict(tmp_path):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([1, 2], np.int64)}
    st.save_file(arrays, str(tmp_path / "plain.st"))
    out = tm.load(tmp_path / "plain.st")
    assert set(out) == {"w", "n"}
    assert all(isinstance(v, tm.Tensor) and not v.requires_grad for v in out.values())
    np.testing.assert_array_equal(out["w"].numpy(force=True), arrays["w"])


def test_loaded_tensors_own_writable_memory(tmp_path):
    tm.save({"w": tm.ones(3), "a": np.ones(3)}, tmp_path / "x.st")
    out = tm.load(tmp_path / "x.st")
    out["w"].array[0] = 5.0
    out["a"][0] = 5.0


def test_torch_reads_our_state_dict_and_we_read_torch():
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        ours = {"fc.weight": tm.randn(3, 4), "fc.bias": tm.randn(3), "steps": tm.tensor([1, 2])}
        tm.save(ours, os.path.join(d, "ours.safetensors"))
        theirs = st_torch.load_file(os.path.join(d, "ours.safetensors"))
        assert set(theirs) == set(ours)
        for k, v in ours.items():
            assert _bits(theirs[k].numpy(force=True)) == _bits(v.numpy(force=True))

        lin = torch.nn.Linear(4, 3)
        st_torch.save_file(lin.state_dict(), os.path.join(d, "torch.safetensors"))
        loaded = tm.load(os.path.join(d, "torch.safetensors"))
        assert set(loaded) == {"weight", "bias"}
        assert _bits(loaded["weight"].numpy(force=True)) == _bits(
            lin.weight.detach().numpy(force=True)
        )


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    obj = {"w": tm.randn(2, 2), "epoch": 1}
    tm.save(obj, buf)
    buf.seek(0)
    _assert_same(obj, tm.load(buf))


def test_map_location_and_device_arguments(tmp_path, device):
    tm.save({"w": tm.randn(2, 2), "a": np.ones(2)}, tmp_path / "x.st")
    out = tm.load(tmp_path / "x.st", map_location=device)
    assert out["w"].device == backend.parse_device(device)
    assert isinstance(out["a"], np.ndarray)  # arrays stay NumPy arrays
    assert tm.load(tmp_path / "x.st", device=device)["w"].device == backend.parse_device(device)


def test_bad_arguments(tmp_path):
    tm.save({"w": tm.ones(1)}, tmp_path / "x.st")
    with pytest.raises(TypeError, match="map_location"):
        tm.load(tmp_path / "x.st", map_location={"cuda:0": "cpu"})
    with pytest.raises(ValueError, match="Invalid device"):
        tm.load(tmp_path / "x.st", map_location="tpu")
    with pytest.raises(ValueError, match="disagree"):
        tm.load(tmp_path / "x.st", map_location="cpu", device="cuda")
    with pytest.raises(TypeError, match="path or a binary file"):
        tm.save({"w": tm.ones(1)}, 42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tm.save({"w": tm.ones(1)}, tmp_path / "no" / "such" / "dir.st")
    with pytest.raises(FileNotFoundError):
        tm.load(tmp_path / "missing.st")


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        ({"model": {"w": {1, 2}}}, r"obj\['model'\]\['w'\]: objects of type set"),
        ({"a": [np.array([object()])]}, r"obj\['a'\]\[0\]: arrays of dtype object"),
        ({(1, 2): 3}, "dict keys must be str or int"),
        ({True: 3}, "dict keys must be str or int"),
        ({"f": lambda: 0}, "type function"),
        ({"c": np.zeros(2, np.complex128)}, "complex128"),
    ],
)
def test_unsupported_objects_raise_before_writing(tmp_path, obj, where):
    path = tmp_path / "x.st"
    tm.save({"old": tm.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=where):
        tm.save(obj, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.st"]


# ---------------------------------------------------------------------------------------------
# atomic writes


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_crash_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch, failing):
    path = tmp_path / "ckpt.st"
    old = {"w": tm.randn(8, 8), "epoch": 1}
    tm.save(old, path)

    def boom(*args, **kwargs):
        raise OSError("injected crash")

    if failing == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            """A file whose write puts half the bytes down, then dies."""

            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                raise OSError("injected crash")

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="injected crash"):
        tm.save({"w": tm.randn(8, 8), "epoch": 2}, path)
    monkeypatch.undo()
    _assert_same(old, tm.load(path))
    assert os.listdir(tmp_path) == ["ckpt.st"]  # the temporary file was cleaned up


def test_new_file_has_ordinary_permissions(tmp_path):
    tm.save({"w": tm.ones(1)}, tmp_path / "x.st")
    assert (tmp_path / "x.st").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------------------------------------
# validation of damaged files


def _saved_bytes(tmp_path) -> bytes:
    obj = {
        "model": {"w": tm.randn(4, 5), "b": tm.randn(5)},
        "opt": {"state": {0: np.ones(3)}},
        "epoch": 3,
        "lr": 0.1,
    }
    tm.save(obj, tmp_path / "good.st")
    return (tmp_path / "good.st").read_bytes()


def _header_len(raw: bytes) -> int:
    return struct.unpack("<Q", raw[:8])[0]


def _load_bytes(tmp_path, raw: bytes, name="bad.st"):
    (tmp_path / name).write_bytes(raw)
    return tm.load(tmp_path / name)


def test_truncated_file_says_so(tmp_path):
    raw = _saved_bytes(tmp_path)
    n = _header_len(raw)
    with pytest.raises(CheckpointError, match="shorter than the 8-byte header length"):
        _load_bytes(tmp_path, raw[:5])
    with pytest.raises(CheckpointError, match="header length .* runs past the end of the file"):
        _load_bytes(tmp_path, raw[: 8 + n // 2])
    with pytest.raises(CheckpointError, match=r"do not end where the file ends \(truncated"):
        _load_bytes(tmp_path, raw[:-3])


def test_fuzz_truncations(tmp_path):
    raw = _saved_bytes(tmp_path)
    rng = np.random.default_rng(2024)
    cuts = list(rng.choice(len(raw), size=20, replace=False))
    for cut in cuts:
        with pytest.raises(CheckpointError):
            _load_bytes(tmp_path, raw[:cut])


def test_fuzz_byte_flips(tmp_path):
    raw = _saved_bytes(tmp_path)
    n = _header_len(raw)
    rng = np.random.default_rng(7)
    header_positions = rng.choice(np.arange(0, 8 + n), size=14, replace=False)
    data_positions = rng.choice(np.arange(8 + n, len(raw)), size=6, replace=False)
    for pos in [*header_positions, *data_positions]:
        damaged = bytearray(raw)
        damaged[pos] ^= int(rng.integers(1, 256))
        # Our files carry SHA-256 digests, so every flip, even inside tensor data, is caught.
        with pytest.raises(CheckpointError):
            _load_bytes(tmp_path, bytes(damaged))


def test_every_header_byte_flip_is_caught(tmp_path):
    """Exhaustive over the header with one flip pattern: nothing slips through."""
    raw = _saved_bytes(tmp_path)
    n = _header_len(raw)
    for pos in range(0, 8 + n):
        damaged = bytearray(raw)
        damaged[pos] ^= 0x01
        with pytest.raises(CheckpointError):
            _load_bytes(tmp_path, bytes(damaged))


def test_flip_in_data_of_foreign_file_loads(tmp_path):
    """A plain safetensors file has no digests: a data flip loads (only the header is checked)."""
    st.save_file({"w": np.zeros(4, np.float32)}, str(tmp_path / "p.st"))
    raw = bytearray((tmp_path / "p.st").read_bytes())
    raw[-1] ^= 0x40
    out = _load_bytes(tmp_path, bytes(raw))
    assert out["w"].numpy(force=True)[-1] != 0


def test_data_corruption_names_the_tensor(tmp_path):
    raw = bytearray(_saved_bytes(tmp_path))
    raw[-1] ^= 0xFF
    with pytest.raises(CheckpointError, match=r"data of tensor '.*' \(file bytes \d+ to \d+\)"):
        _load_bytes(tmp_path, bytes(raw))


def _raw_file(header: dict, data: bytes = b"", pad: bytes = b"") -> bytes:
    text = json.dumps(header).encode() + pad
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (
            {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "invalid shape, data type, or offset for tensor",
        ),
        (
            {"w": {"dtype": "Q99", "shape": [1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "unknown variant `Q99`",
        ),
        (
            {"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}},
            b"\0" * 2,
            "BF16, which NumPy cannot represent",
        ),
        (
            {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "invalid value: integer `-1`",
        ),
        (
            {"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}},
            b"\0" * 4,
            "invalid offset for tensor `w`",
        ),
        ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, "missing field `data_offsets`"),
        (
            {
                "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            },
            b"\0" * 8,
            "invalid offset for tensor `[ab]`",  # the package names either
        ),
        (
            {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            b"\0" * 9,
            "or bytes after the last tensor",
        ),
        ({"__metadata__": {"x": 1}}, b"", "invalid type: integer `1`, expected a string"),
        ({"__metadata__": {"tinygrad_mom": "{not json"}}, b"", "corrupted tinygrad_mom metadata"),
        (
            {"__metadata__": {"other": '{"tinygrad_mom_checkpoint":1}'}},
            b"",
            "metadata key 'other' holds tinygrad_mom structure",
        ),
        ([1, 2], b"", "invalid type: sequence"),
    ],
)
def test_crafted_headers_are_rejected(tmp_path, header, data, message):
    """The safetensors package judges the header; its refusal becomes a CheckpointError that
    names the file (never a raw SafetensorError), the same from a path and a file object."""
    raw = _raw_file(header, data)
    with pytest.raises(CheckpointError, match=message) as from_path:
        _load_bytes(tmp_path, raw)
    assert str(from_path.value).startswith(str(tmp_path / "bad.st") + ": ")
    with pytest.raises(CheckpointError, match=message):
        tm.load(io.BytesIO(raw))


def test_garbage_after_header_json_is_rejected(tmp_path):
    raw = _raw_file({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0", b"  x")
    with pytest.raises(CheckpointError, match="trailing characters"):
        _load_bytes(tmp_path, raw)
    padded = _raw_file({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\7", b"  ")
    assert _load_bytes(tmp_path, padded)["w"].tolist() == [7]  # space padding is allowed


def test_deeply_nested_header_is_rejected(tmp_path):
    text = b"[" * 100_000 + b"]" * 100_000
    raw = struct.pack("<Q", len(text)) + text
    with pytest.raises(CheckpointError):
        _load_bytes(tmp_path, raw)


def test_tree_naming_a_missing_tensor_is_rejected(tmp_path):
    """A structure that disagrees with the tensors fails even when its digest is consistent."""
    from tinygrad_mom import serialization as ser

    tree = json.dumps({"t": "tensor", "key": "ghost", "requires_grad": False, "sha256": "0"})
    digest = ser._header_digest({}, tree)
    container = f'{ser._MAGIC}1,"tree":{json.dumps(tree)},"sha256":"{digest}"}}'
    with pytest.raises(CheckpointError, match="names tensor 'ghost', which is not in the file"):
        _load_bytes(tmp_path, _raw_file({"__metadata__": {"tinygrad_mom": container}}))


def _file_with_tree(tree, arrays=None) -> bytes:
    """A file whose structure is ``tree`` with a consistent header digest: what an attacker who
    knows the format writes (the digests catch damage, not forgery)."""
    from tinygrad_mom import serialization as ser

    arrays = arrays or {}
    tree = tree if isinstance(tree, str) else json.dumps(tree)
    described = {k: [ser._dtype_name(a.dtype), list(a.shape)] for k, a in arrays.items()}
    digest = ser._header_digest(described, tree)
    container = f'{ser._MAGIC}1,"tree":{json.dumps(tree)},"sha256":"{digest}"}}'
    return st.save(arrays, metadata={"tinygrad_mom": container})


W = np.zeros(2, np.float32)
W_SHA = __import__("hashlib").sha256(W.tobytes()).hexdigest()


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"t": "npscalar", "dtype": "F32", "hex": "00 00 00"}, "malformed NumPy scalar"),
        ({"t": "npscalar", "dtype": ["F32"], "hex": "00000000"}, "malformed NumPy scalar"),
        ({"t": "npscalar", "dtype": "F32", "hex": "zz000000"}, "malformed NumPy scalar"),
        ({"t": "ndarray", "key": ["w"], "sha256": W_SHA}, "names tensor"),
        ({"t": ["dict"], "items": []}, "unexpected node"),
        ({"items": []}, "unexpected node"),
        ([1, 2], "unexpected node"),
        ({"t": "dict", "items": [[["s", "a"]]]}, "malformed dict item"),
        ({"t": "dict", "items": [[["i", True], 1]]}, "malformed dict key"),
        ({"t": "list", "items": {"a": 1}}, "list node has no item list"),
        ({"t": "float", "v": ["nan"]}, "bad special float"),
        ({"t": "tensor", "key": "w", "requires_grad": 1, "sha256": W_SHA}, "no requires_grad"),
        ({"t": "ndarray", "key": "w", "sha256": None}, "has no SHA-256"),
        ({"t": "ndarray", "key": "w", "sha256": "0" * 64}, "does not match its SHA-256"),
        ({"t": "list", "items": [{"t": "ndarray", "key": "w", "sha256": W_SHA}] * 2},
         "named twice"),
        ({"t": "list", "items": []}, r"tensors \['w'\] are in the file but not in the structure"),
        ({"t": "tensor", "key": "w", "requires_grad": True, "sha256": W_SHA}, None),  # valid
    ],
)
def test_forged_structures_are_clear_errors(tree, message):
    raw = _file_with_tree(tree, {"w": W})
    if message is None:
        assert tm.load(io.BytesIO(raw)).requires_grad
        return
    with pytest.raises(CheckpointError, match=message):
        tm.load(io.BytesIO(raw))


def test_an_int_tensor_that_requires_grad_is_refused():
    i = np.zeros(1, np.int64)
    sha = __import__("hashlib").sha256(i.tobytes()).hexdigest()
    raw = _file_with_tree({"t": "tensor", "key": "i", "requires_grad": True, "sha256": sha},
                          {"i": i})
    with pytest.raises(CheckpointError, match="'i' of dtype int64 cannot require grad"):
        tm.load(io.BytesIO(raw))


def test_a_structure_nested_thousands_deep_is_a_clear_error():
    raw = _file_with_tree('{"t":"list","items":[' * 3000 + "]}" * 3000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        tm.load(io.BytesIO(raw))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the package keeps the last of a repeated metadata or tensor name: refused here
        ('{"__metadata__": {"a": "1", "a": "2"}, "w": %s}', "names 'a' twice"),
        ('{"w": %s, "w": %s}', "names 'w' twice"),
        # the package itself refuses a repeated field of an entry
        ('{"w": {"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
         "duplicate field `dtype`"),
    ],
)
def test_a_header_key_given_twice_is_refused_anywhere(tmp_path, text, message):
    entry = json.dumps({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})
    text = text.replace("%s", entry).encode()
    raw = struct.pack("<Q", len(text)) + text + b"\0" * 4
    with pytest.raises(CheckpointError, match=message):
        _load_bytes(tmp_path, raw)
    with pytest.raises(CheckpointError, match=message):
        tm.load(io.BytesIO(raw))


def test_a_tensor_named_like_internal_keys_loads(tmp_path):
    arrays = {"__data_start__": np.ones(2, np.float32), "tensor": np.zeros(1, np.int8)}
    st.save_file(arrays, str(tmp_path / "p.st"))
    out = tm.load(tmp_path / "p.st")
    assert sorted(out) == ["__data_start__", "tensor"]


def test_loading_a_path_never_reads_the_file_whole(tmp_path, monkeypatch):
    """From a path, Python reads only the first bytes and the header; each tensor's bytes go
    from the file into its array inside safetensors (pread), so the file is never held as one
    bytes object next to the arrays. (benchmarks/load_memory.py measures the peak.)"""
    from tinygrad_mom import serialization as ser

    obj = {"model": {f"w{i}": tm.randn(64, 64) for i in range(8)}, "epoch": 1}
    path = tmp_path / "x.st"
    tm.save(obj, path)
    size, header = path.stat().st_size, 8 + _header_len(path.read_bytes())
    reads = []

    class Spy(io.FileIO):
        def read(self, n=-1):
            data = super().read(n)
            reads.append(len(data))
            return data

    monkeypatch.setattr(ser, "open", lambda p, mode: Spy(p, "r"), raising=False)
    _assert_same(obj, tm.load(path))
    assert reads and sum(reads) <= 9 + header < size // 10


# ---------------------------------------------------------------------------------------------
# no pickle, ever


class _Exploit:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_is_refused_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    payload = pickle.dumps({"w": _Exploit(marker)}, protocol=protocol)
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        tm.load(path)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: unpickling it does create the marker
    assert marker.exists()


def test_npy_with_objects_is_refused_and_plain_npy_loads(tmp_path):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "evil.npy", np.array([_Exploit(marker), 1], dtype=object), allow_pickle=True)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="holding Python objects"):
        tm.load(tmp_path / "evil.npy")
    assert not marker.exists()

    np.save(tmp_path / "ok.npy", np.arange(4.0))
    np.testing.assert_array_equal(tm.load(tmp_path / "ok.npy"), np.arange(4.0))


def test_zip_archives_are_refused(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones(2))
    with pytest.raises(CheckpointError, match="zip archive"):
        tm.load(tmp_path / "a.npz")


def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(2), "x": _Exploit(marker)}, tmp_path / "t.pt")
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="zip archive"):
        tm.load(tmp_path / "t.pt")
    assert not marker.exists()


def test_missing_safetensors_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"tinygrad_mom\[checkpoint\]"):
        tm.save({"w": tm.ones(1)}, tmp_path / "x.st")
    with pytest.raises(ImportError, match=r"tinygrad_mom\[checkpoint\]"):
        tm.load(tmp_path / "x.st")


# ---------------------------------------------------------------------------------------------
# files written by earlier versions of the code


def _format1_state():
    """The object saved in tests/fixtures/checkpoint_format1.safetensors, written by tm.save as
    of main 63c7c3c (format version 1, before serialization.py left header parsing to the
    safetensors package). The fixture is committed, not regenerated: it is what an old file is.
    """
    w = tm.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 7)
    w.requires_grad_(True)
    return {
        "model": {"fc.weight": w, "fc.bias": tm.Tensor(np.array([-0.0, 1.5], np.float64)),
                  "bn.num_batches_tracked": tm.Tensor(np.array(7, np.int64)),
                  "mask": tm.Tensor(np.array([True, False, True]))},
        "optimizer": {"state": {0: {"momentum_buffer": np.full((2, 3), 0.25, np.float32),
                                    "step": 3}, 1: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "nesterov": False,
                                        "params": [0, 1]}]},
        "scalars": [np.float64(0.5), np.int32(-4), np.bool_(True), np.uint8(200)],
        "floats": [float("nan"), float("inf"), float("-inf"), -0.0, 1e-310, 2**70],
        "odd": {"a.b": np.zeros((0, 3), np.int16), "a": {"b": np.ones(2, np.uint64)},
                3: "int key", "3": "str key", "tags": ("x", None, "ünïcode ✓"), "empty": {}},
        "epoch": 5,
    }


FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "checkpoint_format1.safetensors")


def test_a_file_written_by_the_format_1_code_still_loads():
    _assert_same(_format1_state(), tm.load(FIXTURE))
    with open(FIXTURE, "rb") as fh:
        _assert_same(_format1_state(), tm.load(fh))


def test_the_format_1_fixture_is_what_save_writes_today(tmp_path):
    """The format has not changed: saving the same object gives the same bytes."""
    tm.save(_format1_state(), tmp_path / "now.safetensors")
    assert (tmp_path / "now.safetensors").read_bytes() == Path(FIXTURE).read_bytes()
