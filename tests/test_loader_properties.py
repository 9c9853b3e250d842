"""Hypothesis properties of every loader: random bytes and random structures give a clear error
(the library's CheckpointError, ValueError or TypeError) or a correct result, and a failed
load changes nothing."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_mom as tm
from tinygrad_mom import backend, nn, optim
from tinygrad_mom.data import DataLoader, TensorDataset
from tinygrad_mom.optim import lr_scheduler as S
from tinygrad_mom.serialization import CheckpointError

pytest.importorskip("safetensors")

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
CLEAR = (CheckpointError, ValueError, TypeError)

# JSON-like structures with arrays and the odd values a hostile state dict holds
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(allow_nan=True),
    st.text(max_size=5), st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 4)),
)
STRUCTURES = st.recursive(
    LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.tuples(kids, kids),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-2, 5)), kids, max_size=4),
    ),
    max_leaves=12,
)


def _valid_checkpoint() -> bytes:
    state = {"model": {"w": tm.randn(3, 2)}, "step": 3, "tags": ["a", None, (1.5, math.inf)]}
    buf = io.BytesIO()
    tm.save(state, buf)
    return buf.getvalue()


VALID = _valid_checkpoint()


def _same(a, b) -> bool:
    if isinstance(a, tm.Tensor):
        return isinstance(b, tm.Tensor) and np.array_equal(
            a.numpy(force=True), b.numpy(force=True), equal_nan=True
        )
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_clearly(raw):
    with pytest.raises(CLEAR):
        tm.load(io.BytesIO(raw))


@SETTINGS
@given(st.integers(0, len(VALID) - 1), st.integers(1, 255))
def test_a_flipped_byte_is_refused_or_harmless(position, flip):
    raw = bytearray(VALID)
    raw[position] ^= flip
    try:
        loaded = tm.load(io.BytesIO(bytes(raw)))
    except CLEAR:
        return
    # only padding can change without notice; then the result is the original
    assert _same(loaded, tm.load(io.BytesIO(VALID)))


@SETTINGS
@given(st.integers(0, len(VALID) - 1))
def test_every_truncation_is_refused(length):
    with pytest.raises(CLEAR):
        tm.load(io.BytesIO(VALID[:length]))


@SETTINGS
@given(STRUCTURES)
def test_save_then_load_returns_the_structure_or_refuses_it(obj):
    buf = io.BytesIO()
    try:
        tm.save(obj, buf)
    except (TypeError, ValueError):
        assert buf.getvalue() == b""
        return
    assert _same(obj, tm.load(io.BytesIO(buf.getvalue())))


def _adam():
    tm.manual_seed(0)
    p = tm.randn(2, requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    p.grad = tm.ones(2)
    opt.step()
    return opt


def _mutations():
    """A valid Adam state dict with one entry replaced by a drawn structure."""
    paths = [
        ("state", 0, "step"),
        ("state", 0, "exp_avg"),
        ("state", 0),
        ("state",),
        ("param_groups", 0, "lr"),
        ("param_groups", 0, "betas"),
        ("param_groups", 0),
        ("param_groups", 0, "params"),
        ("param_groups", 0, "amsgrad"),
        ("param_groups",),
    ]
    return st.tuples(st.sampled_from(paths), STRUCTURES)


def _replace(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@SETTINGS
@given(_mutations())
def test_optimizer_load_state_dict_on_random_entries(mutation):
    path, value = mutation
    opt = _adam()
    sd = opt.state_dict()
    _replace(sd, path, value)
    before = copy.deepcopy(opt.state_dict())
    try:
        opt.load_state_dict(sd)
    except CLEAR:
        assert _same(before, opt.state_dict())
        return
    opt.param_groups[0]["params"][0].grad = tm.ones(2)
    opt.step()  # whatever was accepted must be usable


@SETTINGS
@given(
    st.sampled_from(
        ["last_epoch", "gamma", "step_size", "base_lrs", "_last_lr", "_step_count", "new_key"]
    ),
    STRUCTURES,
)
def test_scheduler_load_state_dict_on_random_entries(key, value):
    opt = optim.SGD([tm.zeros(2, requires_grad=True)], lr=0.1)
    sched = S.StepLR(opt, step_size=2)
    sd = sched.state_dict()
    sd[key] = value
    before = sched.state_dict()
    try:
        sched.load_state_dict(sd)
    except CLEAR:
        assert _same(before, sched.state_dict())
        return
    opt.step()
    sched.step()


@SETTINGS
@given(STRUCTURES)
def test_module_load_state_dict_on_random_structures(value):
    model = nn.Linear(2, 2)
    before = {k: v.numpy(force=True).copy() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(value if isinstance(value, dict) else {"weight": value})
    except CLEAR + (RuntimeError,):
        pass
    else:
        return
    assert all(
        np.array_equal(before[k], v.numpy(force=True)) for k, v in model.state_dict().items()
    )


@SETTINGS
@given(STRUCTURES)
def test_rng_and_data_loader_states_on_random_structures(value):
    saved = copy.deepcopy(backend.get_rng_state())
    try:
        backend.set_rng_state(value)
    except CLEAR:
        assert backend.get_rng_state() == saved
    loader = DataLoader(TensorDataset(tm.zeros(4, 1)), batch_size=2, seed=1)
    try:
        loader.load_state_dict(value)
    except CLEAR:
        assert loader.state_dict() == {"seed": 1, "epoch": 0}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["model", "optimizer", "scheduler", "epoch", "history", "rng"]), STRUCTURES)
def test_load_checkpoint_on_random_parts(tmp_path_factory, part, value):
    from tinygrad_mom.training import CHECKPOINT_NAME, load_checkpoint, save_checkpoint

    directory = tmp_path_factory.mktemp("ck")
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = S.StepLR(opt, 1)
    save_checkpoint(directory, model, opt, sched, 0, [])
    state = tm.load(directory / CHECKPOINT_NAME)
    state[part] = value
    tm.save(state, directory / CHECKPOINT_NAME)
    before = (
        [p.numpy(force=True).copy() for p in model.parameters()],
        copy.deepcopy(opt.state_dict()),
        sched.state_dict(),
        copy.deepcopy(backend.get_rng_state()),
    )
    try:
        load_checkpoint(directory, model, opt, sched)
    except CheckpointError:
        after = (
            [p.numpy(force=True) for p in model.parameters()],
            opt.state_dict(),
            sched.state_dict(),
            backend.get_rng_state(),
        )
        assert _same(list(before[:3]), list(after[:3])) and before[3] == after[3]


@SETTINGS
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255), st.booleans())
def test_files_on_disk_are_read_in_one_pass_and_checked_the_same(tmp_path_factory, cut, byte, flip):
    """Paths are streamed tensor by tensor (never the whole file in memory twice): a truncated
    or altered file is refused there exactly as in memory."""
    raw = bytearray(VALID)
    if flip:
        raw[cut] ^= byte or 1
    else:
        raw = raw[:cut]
    path = tmp_path_factory.mktemp("f") / "c.safetensors"
    path.write_bytes(bytes(raw))
    try:
        from_disk = tm.load(path)
    except CLEAR as exc:
        with pytest.raises(type(exc)):
            tm.load(io.BytesIO(bytes(raw)))
        return
    assert _same(from_disk, tm.load(io.BytesIO(bytes(raw))))


# Structure trees as an attacker who knows the format writes them (with a consistent header
# digest): JSON built from the node shapes the format uses, with wrong types mixed in.
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(),
                       st.sampled_from(["w", "s", "i", "nan", "F32", "00000000", "t", "items"]))
_NODE_KEYS = st.sampled_from(["t", "items", "key", "sha256", "requires_grad", "v", "dtype", "hex"])
_NODE_TYPES = st.sampled_from(["dict", "list", "tuple", "float", "npscalar", "tensor", "ndarray"])
FORGED_TREES = st.recursive(
    _JSON_LEAF,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(_NODE_KEYS, st.one_of(kids, _NODE_TYPES), max_size=4),
        st.fixed_dictionaries({"t": _NODE_TYPES, "items": st.lists(kids, max_size=3)}),
    ),
    max_leaves=10,
)


@SETTINGS
@given(FORGED_TREES)
def test_a_forged_structure_tree_is_refused_clearly_or_loads(tree):
    """The tree is checked in the pass that builds it: every malformed node is a
    CheckpointError, never a KeyError, TypeError or RecursionError from deep inside."""
    import safetensors.numpy as stn

    from tinygrad_mom import serialization as ser

    w = np.zeros(2, np.float32)
    text = json.dumps(tree).replace('"sha256": "w"', f'"sha256": "{hashlib.sha256(w).hexdigest()}"')
    digest = ser._header_digest({"w": ["F32", [2]]}, text)
    container = f'{ser._MAGIC}1,"tree":{json.dumps(text)},"sha256":"{digest}"}}'
    raw = stn.save({"w": w}, metadata={"tinygrad_mom": container})
    try:
        tm.load(io.BytesIO(raw))
    except CheckpointError:
        pass
