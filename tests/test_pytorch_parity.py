"""PyTorch's surface beyond the ops: devices, dtypes and legacy types, factories, formatting,
the NumPy bridge, tm.accelerator / tm.backends, tm.utils.data and Module semantics."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn as nn
from tinygrad_mom import backend

try:
    import torch
except ImportError:  # the comparisons with PyTorch skip; everything else runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
no_gpu = pytest.mark.skipif(tm.cuda.is_available(), reason="checks the answers without a GPU")


# ---------------------------------------------------------------------------------------------
# tm.device
def test_device_forms_text_and_equality():
    cases = [
        (tm.device("cpu"), "cpu", "cpu", None, "device(type='cpu')"),
        (tm.device("cuda"), "cuda", "cuda", None, "device(type='cuda')"),
        (tm.device("cuda", 0), "cuda:0", "cuda", 0, "device(type='cuda', index=0)"),
        (tm.device("cuda:1"), "cuda:1", "cuda", 1, "device(type='cuda', index=1)"),
        (tm.device(" CUDA:2 "), "cuda:2", "cuda", 2, "device(type='cuda', index=2)"),
        (tm.device(3), "cuda:3", "cuda", 3, "device(type='cuda', index=3)"),
    ]
    for dev, text, kind, index, rep in cases:
        assert str(dev) == text and f"{dev}" == text and repr(dev) == rep
        assert dev.type == kind and dev.index == index
        assert dev == text and dev == tm.device(text) and hash(dev) == hash(text)
    assert tm.device("cuda") != tm.device("cuda:0")  # as in PyTorch: no index is not index 0
    assert tm.device(tm.device("cuda:1")) == "cuda:1"
    assert {"cpu": 1}[tm.device("cpu")] == 1 and {tm.device("cuda:0"): 2}["cuda:0"] == 2


def test_device_survives_pickle_and_copy():
    for dev in (tm.device("cpu"), tm.device("cuda", 1), tm.device("cuda")):
        for back in (pickle.loads(pickle.dumps(dev)), copy.deepcopy(dev)):
            assert type(back) is tm.device and back == dev and back.index == dev.index


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        ("tpu", ValueError, "'tpu'"),
        ("cuda:x", ValueError, "'cuda:x'"),
        ("cuda:-1", ValueError, "'cuda:-1'"),
        (-1, ValueError, "-1"),
        (2.0, TypeError, "float"),
        (None, TypeError, "NoneType"),
    ],
)
def test_device_rejects_bad_input(bad, exc, words):
    with pytest.raises(exc, match=words):
        tm.device(bad)


def test_device_index_rules():
    with pytest.raises(ValueError, match="already names an index"):
        tm.device("cuda:0", 1)
    with pytest.raises(ValueError, match="index"):
        tm.device("cuda", -1)
    with pytest.raises(ValueError, match="index"):
        tm.device("cuda", True)


def test_tensor_device_is_a_device_that_equals_its_string(device):
    t = tm.ones(2, device=device)
    assert isinstance(t.device, tm.device) and t.device == backend.parse_device(device)
    if device == "cpu":
        assert t.device == "cpu" and t.device.type == "cpu" and not t.is_cuda
    else:
        assert t.device == "cuda:0" and t.device.type == "cuda" and t.device.index == 0
    assert t.device is tm.zeros(1, device=device).device  # one object per device: cheap


def test_device_objects_are_accepted_where_strings_are(device):
    dev = tm.device(device)
    assert tm.Tensor([1.0], device=dev).device == dev.type or tm.Tensor([1.0], device=dev).is_cuda
    for t in (
        tm.zeros(2, device=dev),
        tm.randn(2, device=dev),
        tm.arange(3, device=dev),
        tm.linspace(0, 1, 3, device=dev),
        tm.tensor([1, 2], device=dev),
        tm.ones(2).to(dev),
        tm.ones(2).to(device=dev),
        tm.ones(2).to(dev, tm.float64),
    ):
        assert t.device == backend.parse_device(dev)
    model = nn.Linear(2, 3).to(dev)
    assert model.weight.device == backend.parse_device(dev)
    loader = tm.utils.data.DataLoader(tm.utils.data.TensorDataset(tm.ones(4, 2)), 2, device=dev)
    assert next(iter(loader))[0].device == backend.parse_device(dev)


def test_to_accepts_pytorchs_keywords():
    t = tm.ones(2)
    assert t.to("cpu", non_blocking=True) is t
    copied = t.to("cpu", copy=True)
    assert copied is not t and np.array_equal(copied.numpy(), t.numpy())
    model = nn.Linear(2, 2)
    assert model.to(tm.device("cpu"), non_blocking=True) is model


@no_gpu
def test_int_device_means_cuda_and_fails_clearly_without_a_gpu():
    with pytest.raises(RuntimeError, match="cuda"):
        tm.ones(2).to(0)


def test_device_as_context_sets_the_default_device():
    with tm.device("cpu") as dev:
        assert dev == "cpu" and tm.get_default_device() == "cpu"
    assert tm.get_default_device() == "cpu"


# ---------------------------------------------------------------------------------------------
# tm.accelerator, tm.backends, default device and dtype
@no_gpu
def test_accelerator_without_a_gpu():
    assert tm.accelerator.is_available() is False
    assert tm.accelerator.current_accelerator() is None
    assert tm.accelerator.device_count() == 0
    assert tm.accelerator.current_device_index() == -1
    device = tm.accelerator.current_accelerator().type if tm.accelerator.is_available() else "cpu"
    assert tm.zeros(1, device=device).device == "cpu"


@pytest.mark.gpu
def test_accelerator_with_a_gpu():
    if not tm.cuda.is_available():
        pytest.skip("no CUDA GPU is visible")
    assert tm.accelerator.is_available() and tm.accelerator.device_count() >= 1
    assert tm.accelerator.current_accelerator() == tm.device("cuda")
    assert tm.accelerator.current_device_index() >= 0


def test_backends_flags_are_accepted_and_read_back():
    cudnn = tm.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, cudnn.enabled)
    try:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = True, True, False
        assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == (True, True, False)
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = saved
    with cudnn.flags(enabled=False, deterministic=True):
        assert cudnn.enabled is False and cudnn.deterministic is True
    assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == saved
    assert cudnn.is_available() is False and cudnn.version() is None
    assert tm.backends.mps.is_available() is False and tm.backends.mps.is_built() is False
    tm.backends.cuda.matmul.allow_tf32 = True
    assert tm.backends.cuda.matmul.allow_tf32 is True
    tm.backends.cuda.matmul.allow_tf32 = False


def test_set_default_device_checks_first():
    assert tm.get_default_device() == "cpu"
    with pytest.raises(ValueError, match="'tpu'"):
        tm.set_default_device("tpu")
    assert tm.get_default_device() == "cpu"
    tm.set_default_device(tm.device("cpu"))
    tm.set_default_device(None)
    assert tm.get_default_device() == "cpu"


@no_gpu
def test_set_default_device_cuda_without_a_gpu_changes_nothing():
    with pytest.raises(RuntimeError):
        tm.set_default_device("cuda")
    with pytest.raises(RuntimeError):
        with tm.device("cuda"):
            pass
    assert tm.get_default_device() == "cpu" and tm.zeros(1).device == "cpu"


@pytest.fixture
def float64_default():
    tm.set_default_dtype(tm.float64)
    yield
    tm.set_default_dtype(tm.float32)


def test_default_dtype_reaches_python_floats_factories_and_layers(float64_default):
    assert tm.get_default_dtype() == tm.float64
    assert tm.tensor([1.0]).dtype == tm.float64 and tm.Tensor(2, 3).dtype == tm.float64
    for t in (tm.zeros(2), tm.ones(2), tm.randn(2), tm.rand(2), tm.empty(2), tm.linspace(0, 1, 2)):
        assert t.dtype == tm.float64
    assert tm.tensor([1, 2]).dtype == tm.int64  # integers keep their dtype
    assert nn.Linear(2, 2).weight.dtype == tm.float64


def test_set_default_dtype_rejects_non_floating():
    with pytest.raises(TypeError, match="floating-point"):
        tm.set_default_dtype(tm.int64)
    with pytest.raises(TypeError, match="floating-point"):
        tm.set_default_dtype(None)
    assert tm.get_default_dtype() == tm.float32


# ---------------------------------------------------------------------------------------------
# dtypes, legacy types and Tensor.type
def test_dtype_aliases():
    assert tm.float is tm.float32 and tm.double is tm.float64 and tm.half is tm.float16
    assert tm.long is tm.int64 and tm.int is tm.int32 and tm.short is tm.int16
    assert tm.bool is tm.bool_ and tm.uint8 == np.uint8 and tm.int8 == np.int8
    assert not hasattr(tm, "bfloat16") and not hasattr(tm, "cfloat")  # NumPy has neither
    assert tm.ones(2).dtype is tm.float  # dtype identity, as `t.dtype is torch.float32`


def test_casting_methods_and_their_gradient():
    x = tm.tensor([1.5, -2.5], requires_grad=True)
    for method, dtype in [
        ("float", tm.float32),
        ("double", tm.float64),
        ("half", tm.float16),
        ("long", tm.int64),
        ("int", tm.int32),
        ("bool", tm.bool),
    ]:
        assert getattr(x, method)().dtype == dtype
    x.double().mul(2.0).sum().backward()
    assert x.grad.dtype == tm.float32 and x.grad.tolist() == [2.0, 2.0]


def test_type_names_and_casts():
    assert tm.ones(1).type() == "torch.FloatTensor"
    names = {
        tm.float64: "torch.DoubleTensor",
        tm.float16: "torch.HalfTensor",
        tm.int64: "torch.LongTensor",
        tm.int32: "torch.IntTensor",
        tm.int16: "torch.ShortTensor",
        tm.int8: "torch.CharTensor",
        tm.uint8: "torch.ByteTensor",
        tm.bool: "torch.BoolTensor",
    }
    for dtype, name in names.items():
        assert tm.zeros(1, dtype=dtype).type() == name
        assert tm.ones(1).type(name).dtype == dtype
    x = tm.tensor([1.7, 2.2])
    assert x.type(tm.long).tolist() == [1, 2] and x.type(tm.LongTensor).dtype == tm.int64
    assert x.type(tm.float32) is x
    with pytest.raises(ValueError, match="torch.NotATensor"):
        x.type("torch.NotATensor")
    with pytest.raises(TypeError, match="Invalid dtype"):
        x.type(object)
    with pytest.raises(TypeError, match="Invalid dtype"):
        x.type(tm)


@needs_torch
def test_type_names_match_torch():
    for np_dtype, torch_dtype in [
        (tm.float32, torch.float32),
        (tm.int64, torch.int64),
        (tm.uint8, torch.uint8),
        (tm.bool, torch.bool),
        (tm.int8, torch.int8),
    ]:
        assert tm.zeros(1, dtype=np_dtype).type() == torch.zeros(1, dtype=torch_dtype).type()


def test_legacy_tensor_types():
    t = tm.FloatTensor([1, 2])
    assert t.dtype == tm.float32 and t.tolist() == [1.0, 2.0]
    assert tm.LongTensor(3).shape == (3,) and tm.LongTensor(3).dtype == tm.int64
    assert tm.ByteTensor([1]).dtype == tm.uint8 and tm.BoolTensor([1, 0]).dtype == tm.bool
    assert tm.DoubleTensor(2, 2).shape == (2, 2) and tm.IntTensor([1]).dtype == tm.int32
    assert isinstance(tm.zeros(2), tm.FloatTensor) and not isinstance(tm.zeros(2), tm.LongTensor)
    assert isinstance(tm.arange(3), tm.LongTensor) and not isinstance([1.0], tm.FloatTensor)
    assert isinstance(t, tm.Tensor) and repr(tm.FloatTensor) == "<class 'torch.FloatTensor'>"


def test_legacy_size_constructor():
    assert tm.Tensor(2, 3).shape == (2, 3) and tm.Tensor(2, 3).dtype == tm.float32
    assert tm.Tensor(7).shape == (7,)  # seven elements, as in PyTorch (not a 0-d 7)
    assert tm.Tensor(np.int64(3)).shape == (3,)
    assert tm.Tensor().shape == (0,) and tm.Tensor(tm.Size([2, 2])).shape == (2, 2)
    assert tm.Tensor([1, 2]).tolist() == [1, 2] and tm.Tensor((2, 3)).tolist() == [2, 3]
    assert tm.Tensor(2, 3, requires_grad=True).requires_grad
    assert tm.tensor(7).shape == () and tm.tensor(7).item() == 7  # tensor() takes data
    with pytest.raises(TypeError, match="argument 1 must be an int"):
        tm.Tensor(2, 3.0)
    with pytest.raises(ValueError, match="negative dimension"):
        tm.Tensor(2, -1)


# ---------------------------------------------------------------------------------------------
# creation
@needs_torch
@pytest.mark.parametrize(
    "args, kwargs",
    [((0, 1, 5), {}), ((-2.5, 3, 7), {}), ((0, 10, 5), {"dtype": "int64"}), ((1, 1, 1), {})],
)
def test_linspace_matches_torch(args, kwargs):
    ours = tm.linspace(*args, **{k: getattr(tm, v) for k, v in kwargs.items()})
    theirs = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@needs_torch
def test_logspace_matches_torch():
    np.testing.assert_allclose(tm.logspace(0, 2, 3).numpy(), torch.logspace(0, 2, 3).numpy())
    np.testing.assert_allclose(
        tm.logspace(-1, 1, 4, base=2).numpy(), torch.logspace(-1, 1, 4, base=2).numpy(), rtol=1e-6
    )


def test_linspace_bad_input():
    assert tm.linspace(0, 1, 0).shape == (0,)
    assert tm.linspace(tm.tensor(0.0), tm.tensor(2.0), 3).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"Invalid steps value: -1 \(expected an int >= 0\)"):
        tm.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="linspace: steps must be an int, but got 2.0"):
        tm.linspace(0, 1, 2.0)
    with pytest.raises(TypeError, match="start must be a number, got str"):
        tm.logspace("0", 1, 2)


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.zeros(3)
    t = tm.from_numpy(a)
    a[0] = 1.0
    t[1:2].array[...] = 5.0  # a view, written through
    assert t.dtype == tm.float64 and t.tolist() == [1.0, 5.0, 0.0] and a[1] == 5.0
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        tm.from_numpy([1, 2])
    with pytest.raises(TypeError, match="object"):
        tm.from_numpy(np.array([object()]))
    with pytest.raises(ValueError, match="byte order"):
        tm.from_numpy(np.zeros(2, dtype=">f8"))


def test_as_tensor_shares_when_it_can():
    a = np.arange(3.0)
    assert tm.as_tensor(a).array is a
    assert tm.as_tensor(a, dtype=tm.float32).array is not a  # a cast is a copy
    t = tm.ones(2)
    assert tm.as_tensor(t) is t and tm.as_tensor(t, dtype=tm.float64).dtype == tm.float64
    listed = tm.as_tensor([1, 2])
    assert listed.dtype == tm.int64 and listed.tolist() == [1, 2]
    x = tm.ones(2, requires_grad=True)
    tm.as_tensor(x, dtype=tm.float64).sum().backward()  # the graph is kept, as in PyTorch
    assert x.grad.tolist() == [1.0, 1.0]


def test_from_dlpack_shares_memory():
    a = np.arange(4.0)
    t = tm.from_dlpack(a)
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]
    u = tm.from_dlpack(t)
    assert u.array is t.array
    with pytest.raises(TypeError, match="__dlpack__"):
        tm.from_dlpack([1, 2])


@needs_torch
def test_from_dlpack_of_a_torch_tensor():
    src = torch.arange(3, dtype=torch.float32)
    t = tm.from_dlpack(src)
    src[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0] and t.dtype == tm.float32


def test_like_factories(device):
    x = tm.ones(2, 3, dtype=tm.float64, device=device)
    for fn in (tm.zeros_like, tm.ones_like, tm.empty_like, tm.rand_like, tm.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == tm.float64 and y.device == x.device
    assert tm.empty_like(x, dtype=tm.float32).dtype == tm.float32
    r = tm.randint_like(x, 5)
    assert r.dtype == tm.float64 and r.shape == (2, 3)
    assert ((r.numpy(force=True) >= 0) & (r.numpy(force=True) < 5)).all()
    r = tm.randint_like(tm.zeros(100, dtype=tm.int64), 3, 6).numpy(force=True)
    assert set(np.unique(r)) <= {3, 4, 5} and r.dtype == np.int64


def test_normal_forms():
    a = tm.normal(2.0, 3.0, size=(20000,))
    assert a.dtype == tm.float32 and a.shape == (20000,)
    assert abs(a.mean().item() - 2.0) < 0.1 and abs(a.std().item() - 3.0) < 0.1
    mean = tm.zeros(3, 1, dtype=tm.float64)
    b = tm.normal(mean, tm.ones(1, 4, dtype=tm.float64))
    assert b.shape == (3, 4) and b.dtype == tm.float64
    assert tm.normal(tm.zeros(5)).shape == (5,) and tm.normal(0.0, tm.ones(2)).shape == (2,)
    assert tm.normal(tm.full((1000,), 100.0), 0.0).tolist() == [100.0] * 1000
    tm.manual_seed(3)
    first = tm.normal(0.0, 1.0, (4,)).tolist()
    tm.manual_seed(3)
    assert tm.normal(0.0, 1.0, (4,)).tolist() == first


def test_normal_bad_input():
    with pytest.raises(ValueError, match="std >= 0.0"):
        tm.normal(0.0, -1.0, size=(2,))
    with pytest.raises(ValueError, match="std >= 0.0"):
        tm.normal(tm.zeros(2), tm.tensor([1.0, -1.0]))
    with pytest.raises(TypeError, match="needs a size"):
        tm.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="floating point"):
        tm.normal(tm.zeros(2, dtype=tm.int64))


def test_randperm():
    p = tm.randperm(10)
    assert p.dtype == tm.int64 and sorted(p.tolist()) == list(range(10))
    assert tm.randperm(0).shape == (0,) and tm.randperm(3, dtype=tm.int32).dtype == tm.int32
    tm.manual_seed(1)
    first = tm.randperm(50).tolist()
    tm.manual_seed(1)
    assert tm.randperm(50).tolist() == first and first != list(range(50))
    with pytest.raises(ValueError, match=r"randperm: Invalid n value: -1"):
        tm.randperm(-1)
    with pytest.raises(TypeError, match="randperm: n must be an int"):
        tm.randperm(2.0)


# ---------------------------------------------------------------------------------------------
# formatting and Size
def test_format_of_a_0d_tensor_is_its_number():
    loss = tm.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{loss:>7f}" == "0.123456"
    # str.format, as scripts write it, goes through the same __format__
    assert "{:+.2f}".format(tm.tensor(2.0)) == "+2.00"  # noqa: UP032
    assert "{}".format(tm.tensor(1.5)) == "1.5"  # noqa: UP032
    assert f"{tm.tensor(7):>3d}" == "  7" and f"{tm.tensor(True)}" == "True"


def test_format_of_other_tensors():
    t = tm.tensor([1.5])
    assert f"{t}" == str(t) == repr(t)
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{t:.2f}"


@needs_torch
def test_format_matches_torch():
    for value in (0.5, -3.25, 1e-8):
        for spec in ("", ".4f", "+.2f", ">7f", "e"):
            assert format(tm.tensor(value), spec) == format(torch.tensor(value), spec)


def test_shape_is_a_size():
    t = tm.zeros(2, 3, 4)
    assert isinstance(t.shape, tm.Size) and isinstance(t.shape, tuple)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and isinstance(t.size(), tm.Size)
    assert t.shape.numel() == 24 and tm.Size([]).numel() == 1 and tm.Size([0, 5]).numel() == 0
    assert isinstance(t.shape[1:], tm.Size) and t.shape[1:] == (3, 4) and t.shape[-1] == 4
    assert isinstance(t.shape + (5,), tm.Size) and t.size(1) == 3
    assert repr(t.shape) == "(2, 3, 4)"  # prints as a tuple: messages read the same


# ---------------------------------------------------------------------------------------------
# the NumPy bridge
def test_numpy_shares_memory_on_the_cpu():
    t = tm.zeros(3)
    a = t.numpy()
    a[0] = 4.0
    assert t.tolist() == [4.0, 0.0, 0.0]
    assert np.shares_memory(t.numpy(force=True), t.numpy())


def test_numpy_of_a_tensor_that_requires_grad():
    p = tm.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        p.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(p)
    assert p.detach().numpy().tolist() == [1.0, 1.0] and p.numpy(force=True).tolist() == [1, 1]
    assert nn.Parameter(tm.ones(1)).detach().numpy().tolist() == [1.0]


def test_np_asarray_shares_and_np_array_copies():
    t = tm.ones(3)
    shared = np.asarray(t)
    shared[0] = 5.0
    copied = np.array(t)
    copied[1] = 7.0
    assert t.tolist() == [5.0, 1.0, 1.0]
    assert np.array(t, dtype=np.float64).dtype == np.float64
    assert np.asarray(t, dtype=np.float32) is not None and np.shares_memory(np.asarray(t), t.array)
    with pytest.raises(ValueError, match="copy=False"):
        np.array(t, dtype=np.float64, copy=False)
    assert tm.tensor([tm.tensor(1.0), tm.tensor(2.0)]).tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------
# tm.utils.data
def test_utils_data_holds_the_same_objects():
    from tinygrad_mom.utils.data import DataLoader, TensorDataset, random_split

    assert DataLoader is tm.data.DataLoader and TensorDataset is tm.data.TensorDataset
    assert random_split is tm.data.random_split
    for name in ("Dataset", "Subset", "ConcatDataset", "default_collate"):
        assert getattr(tm.utils.data, name) is getattr(tm.data, name)


def test_tensor_dataset_slicing_and_index_lists():
    x, y = tm.arange(10).reshape(5, 2), tm.arange(5) * 10
    ds = tm.utils.data.TensorDataset(x, y)
    xs, ys = ds[1:3]
    assert xs.tolist() == [[2, 3], [4, 5]] and ys.tolist() == [10, 20]
    assert ds[::-2][1].tolist() == [40, 20, 0] and ds[7:9][0].shape == (0, 2)
    assert ds[[4, 0]][1].tolist() == [40, 0] and ds[tm.tensor([1, -1])][1].tolist() == [10, 40]
    assert ds[np.array([2])][0].tolist() == [[4, 5]] and ds[-1][1].item() == 40
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ds[[0, 5]]
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        ds[[0.5]]


# ---------------------------------------------------------------------------------------------
# Module semantics
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2, 2)
        self.head = nn.Linear(2, 1)
        self.scale = nn.Parameter(tm.ones(1))
        self.register_buffer("steps", tm.zeros(1))

    def forward(self, x):
        return self.head(self.fc(x)) * self.scale


def test_reassigning_a_child_or_parameter_keeps_its_place():
    m = Net()
    m.fc = nn.Linear(2, 2)  # a fine-tuning script replacing a layer
    m.conv = nn.Conv2d(1, 2, 5)
    m.scale = nn.Parameter(tm.full((1,), 2.0))
    assert [n for n, _ in m.named_children()] == ["conv", "fc", "head"]
    assert list(m.children())[:-1] == [m.conv, m.fc]
    assert [n for n, _ in m.named_parameters()][:1] == ["scale"]
    assert list(m.state_dict()) == [
        "scale",
        "steps",
        "conv.weight",
        "conv.bias",
        "fc.weight",
        "fc.bias",
        "head.weight",
        "head.bias",
    ]
    assert m.scale.item() == 2.0 and m.conv.weight.shape == (2, 1, 5, 5)


def test_a_name_moving_between_kinds_is_registered_once():
    m = Net()
    m.fc = nn.Parameter(tm.ones(1))  # a module name becomes a parameter
    assert "fc" not in dict(m.named_children()) and "fc" in dict(m.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'Linear' as parameter 'fc'"):
        m.fc = nn.Linear(1, 1)  # as in PyTorch: a parameter's name takes a Parameter or None
    m.head = nn.Parameter(tm.zeros(1))
    assert [n for n, _ in m.named_children()] == ["conv"] and m.head.item() == 0.0


def test_traversal_and_buffers():
    m = nn.Sequential(OrderedDict([("block", Net()), ("act", nn.ReLU())]))
    names = [n for n, _ in m.named_modules()]
    assert names == ["", "block", "block.conv", "block.fc", "block.head", "act"]
    assert m.get_submodule("block.fc") is m.block.fc and m.get_submodule("") is m
    with pytest.raises(AttributeError, match="no submodule named 'nope'"):
        m.get_submodule("block.nope")
    m.block.register_buffer("cache", tm.zeros(2), persistent=False)
    assert "block.cache" not in m.state_dict() and "block.steps" in m.state_dict()
    assert "block.cache" in dict(m.named_buffers())


def test_forward_pre_hook_and_hook_with_handles():
    m = nn.Linear(2, 2)
    calls = []
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    post = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    x = tm.ones(3, 2)
    out = m(x)
    expected = (m.bias + 1).detach().numpy()[None].repeat(3, 0)  # the input was zeroed
    np.testing.assert_allclose(out.detach().numpy(), expected)
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    post.remove()  # removing twice is harmless
    np.testing.assert_allclose(m(x).detach().numpy(), (x @ m.weight.T + m.bias).detach().numpy())
    assert calls == [(3, 2)]


def test_hook_order_prepend_kwargs_and_context_manager():
    m = nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, a, out: order.append("first"))
    m.register_forward_hook(lambda mod, a, out: order.append("zeroth"), prepend=True)
    with m.register_forward_pre_hook(lambda mod, a, kw: ((a[0] + 1,), kw), with_kwargs=True):
        assert m(tm.tensor(1.0)).item() == 2.0
    assert m(tm.tensor(1.0)).item() == 1.0
    assert order == ["zeroth", "first", "zeroth", "first"]
    seen = []
    m.register_forward_hook(lambda mod, a, kw, out: seen.append(kw), with_kwargs=True)
    m(tm.tensor(1.0))
    assert seen == [{}]
    with pytest.raises(TypeError, match="hook must be callable"):
        m.register_forward_hook(3)
    bad = nn.Identity()
    bad.register_forward_pre_hook(lambda mod, a, kw: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_kwargs"):
        bad(tm.ones(1))


def test_hooks_see_gradients_flow():
    m = nn.Linear(2, 1)
    m.register_forward_hook(lambda mod, args, out: out * 2)
    x = tm.ones(1, 2, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * m.weight.detach().numpy())


def test_module_casts_requires_grad_share_memory_and_extra_repr():
    m = Net()
    assert m.half().fc.weight.dtype == tm.float16 and m.steps.dtype == tm.float16
    assert m.double().fc.weight.dtype == tm.float64 and m.float().fc.weight.dtype == tm.float32
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())
    assert m.share_memory() is m
    assert "in_features=2, out_features=2, bias=True" in repr(m.fc)

    class Scaled(nn.Module):
        def extra_repr(self):
            return "factor=3"

    assert repr(Scaled()).startswith("Scaled(factor=3)")


def test_summary_writer_takes_tensors_that_require_grad(tmp_path):
    pytest.importorskip("tensorboardX")
    from tinygrad_mom.utils.tensorboard import SummaryWriter

    model = nn.Linear(3, 2)
    loss = model(tm.ones(1, 3)).sum()
    with SummaryWriter(str(tmp_path)) as writer:  # as PyTorch's: no .detach() needed
        writer.add_scalar("loss", loss, 0)
        writer.add_histogram("weight", model.weight, 0)
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_utils_data_reaches_the_sampler_and_transforms():
    from tinygrad_mom.data import transforms as data_transforms
    from tinygrad_mom.data.distributed import DistributedSampler as Sampler
    from tinygrad_mom.utils.data import transforms
    from tinygrad_mom.utils.data.distributed import DistributedSampler

    assert DistributedSampler is Sampler and transforms is data_transforms
