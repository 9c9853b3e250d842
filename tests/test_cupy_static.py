"""Static and host-side checks that keep the CuPy paths honest on machines without a GPU.

The CUDA backend only runs where CuPy and a GPU exist, so these tests guard, everywhere, the
rules that make it work: CuPy is imported in backend.py only, array code never creates host
arrays with a bare ``np.`` call, and the host-side logic of the CuPy branches behaves.
"""

import ast
import pathlib
import types

import numpy as np

import tinygrad_mom as tm
from tinygrad_mom import backend, ops

PACKAGE = pathlib.Path(tm.__file__).parent

# Modules whose code sees CuPy arrays at run time (ops, layers, losses, optimizers, ...).
ARRAY_MODULES = [
    "ops.py",
    "primitives.py",
    "tensor_xp.py",
    "conv.py",
    "tensor.py",
    "creation.py",
    "gradcheck.py",
    "training.py",
    "autograd/__init__.py",
    "autograd/functional.py",
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "nn").glob("*.py")),
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "nn" / "utils").glob("*.py")),
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "optim").glob("*.py")),
]

# numpy functions that make or compute arrays: called as ``np.f(...)`` they produce host
# arrays, which a CuPy operand rejects (or which force a device copy).
ARRAY_FUNCTIONS = {
    "zeros", "ones", "empty", "full", "array", "asarray", "ascontiguousarray", "arange", "eye",
    "stack", "concatenate", "zeros_like", "ones_like", "empty_like", "full_like", "where", "pad",
    "broadcast_to", "take_along_axis", "split", "maximum", "minimum", "clip", "exp", "log",
    "sqrt", "abs", "matmul", "tensordot", "einsum", "copy", "dot", "vdot", "multiply", "add",
    "subtract", "divide", "negative", "isnan", "isfinite", "logaddexp", "count_nonzero",
    "median", "argmax", "argmin", "cumsum", "argsort", "sort", "sum", "mean", "linspace",
    "tile", "repeat", "unravel_index", "random",
}  # fmt: skip

# Host arrays made on purpose: (module, enclosing function, numpy function) and why.
ALLOWED_HOST_CALLS = {
    ("nn/upsampling.py", "_resample_axis", "arange"): "positions from sizes, then xp.asarray",
    ("nn/upsampling.py", "_resample_axis", "minimum"): "positions from sizes, then xp.asarray",
    ("nn/upsampling.py", "_resample_axis", "maximum"): "positions from sizes, then xp.asarray",
    ("primitives.py", "Permute.forward", "argsort"): "argsort of the permutation tuple (shapes)",
    ("primitives.py", "Cat.forward", "cumsum"): "split points from Python shape ints",
    ("tensor.py", "_array_from_data", "array"): "parses Python lists on the host first",
    ("tensor.py", "Function.apply", "asarray"): "numpy-only: re-wraps a numpy scalar result",
    ("tensor.py", "_accumulate_leaf_grad", "asarray"): "numpy-only: re-wraps a numpy scalar",
    ("tensor.py", "Tensor._host_array", "asarray"): "numpy-only: a numpy scalar constant",
    ("nn/layers.py", "_BatchNorm.__init__", "zeros"): "a 0-d counter, moved with to_device",
    ("nn/module.py", "Parameter.__init__", "empty"): "Parameter() with no data is on the CPU",
    ("nn/utils/__init__.py", "clip_grad_norm_", "zeros"):
        "no gradients at all: a CPU 0, as PyTorch",
    ("optim/optimizer.py", "Optimizer._check_state_entry", "zeros"):
        "a tiny host probe that one update runs on, to learn the rule's state names and kinds",
    ("gradcheck.py", "gradcheck", "random"): "host float64 reference, copied with xp.asarray",
    ("gradcheck.py", "gradgradcheck", "random"): "host float64 upstream gradient, then xp.asarray",
    ("gradcheck.py", "gradcheck", "zeros"): "host float64 numerical gradient",
    ("gradcheck.py", "gradcheck", "abs"): "host comparison of host copies",
    ("gradcheck.py", "gradcheck", "unravel_index"): "host comparison of host copies",
    ("gradcheck.py", "gradcheck", "argmax"): "host comparison of host copies",
    ("gradcheck.py", "gradcheck", "where"): "host comparison of host copies",
}


def _np_calls(path: pathlib.Path):
    """(enclosing qualified name, numpy function) for every ``np.f(...)``/``np.a.f(...)`` call."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, scope):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = [*scope, node.name]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            value = node.func.value
            name = None
            if isinstance(value, ast.Name) and value.id == "np":
                name = node.func.attr
            elif (
                isinstance(value, ast.Attribute)
                and isinstance(value.value, ast.Name)
                and value.value.id == "np"
            ):
                name = value.attr  # np.random.default_rng(...) -> "random"
            if name in ARRAY_FUNCTIONS:
                found.append((".".join(scope), name, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, [])
    return found


def test_only_backend_imports_cupy():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "backend.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(PACKAGE)}:{node.lineno} imports {n}"
                for n in names
                if n.split(".")[0] in ("cupy", "cupyx")
            ]
    assert not offenders, "CuPy may only be imported in backend.py:\n" + "\n".join(offenders)


def test_array_code_makes_no_host_arrays_with_bare_np():
    seen, offenders = set(), []
    for module in ARRAY_MODULES:
        for scope, name, line in _np_calls(PACKAGE / module):
            key = (module.replace("\\", "/"), scope, name)
            if key in ALLOWED_HOST_CALLS:
                seen.add(key)
            else:
                offenders.append(f"{module}:{line} np.{name} in {scope}")
    assert not offenders, (
        "use xp = get_array_module(...) instead of np. on array paths (or allow-list a "
        "deliberate host array with its reason):\n" + "\n".join(offenders)
    )
    stale = set(ALLOWED_HOST_CALLS) - seen
    assert not stale, f"allow-list entries that no longer match any call: {sorted(stale)}"


def test_cast_scalar_constant_stays_a_device_free_scalar():
    # int_tensor / 2 casts the constant 2 to float32; on a GPU a host 0-d array there would be
    # a "different device" operand, a numpy scalar is a kernel argument.
    t = tm.tensor([1, 2, 3])
    const = ops._scalar_constant(2, t).type(tm.float32)
    assert isinstance(const.array, np.generic) and const.dtype == tm.float32
    out = t / 2
    assert out.dtype == tm.float32 and out.tolist() == [0.5, 1.0, 1.5]
    # a real reduction still yields a 0-d array, never a numpy scalar
    assert type(tm.tensor([1.0, 2.0]).sum().array) is np.ndarray


def test_cupy_array_recognised_before_cupy_was_imported(monkeypatch):
    # A CuPy array the user made before this library first touched CuPy must still be seen as
    # a device array (not parsed with np.array, which CuPy refuses).
    class FakeCupyArray:
        pass

    FakeCupyArray.__module__ = "cupy._core.core"
    fake_cupy = types.SimpleNamespace(ndarray=FakeCupyArray, get_array_module=lambda x: "cupy")

    def fake_import():
        backend._cupy = fake_cupy
        return fake_cupy

    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_import_cupy", fake_import)
    assert not backend.is_cupy_array(np.zeros(2))
    assert not backend.is_cupy_array([1, 2])
    assert backend._cupy is None  # host data never triggers the CuPy import
    assert backend.get_array_module(np.float32(1)) is np
    assert backend.is_cupy_array(FakeCupyArray())
    assert backend._cupy is fake_cupy
    assert backend.get_array_module(FakeCupyArray()) == "cupy"

