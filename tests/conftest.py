"""Shared fixtures: every op test runs on each available backend through ``device``."""

import numpy as np
import pytest

import tinygrad_mom as tm


def _cuda_skip_reason():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "CuPy is not installed (pip install 'tinygrad_mom[gpu]')"
    if not tm.cuda.is_available():
        return "CuPy is installed but no CUDA GPU is visible"
    return None


_CUDA_SKIP = _cuda_skip_reason()


def pytest_report_header(config):
    return f"cuda backend: {'skipped: ' + _CUDA_SKIP if _CUDA_SKIP else 'available'}"


@pytest.fixture(
    params=[
        "cpu",
        pytest.param("cuda", marks=[pytest.mark.gpu]),
    ]
)
def device(request):
    """The device to run on: 'cpu' always, 'cuda' where CuPy and a GPU are available."""
    if request.param == "cuda" and _CUDA_SKIP:
        pytest.skip(_CUDA_SKIP)
    return request.param


@pytest.fixture
def xp(device):
    """The array module that serves ``device``."""
    if device == "cpu":
        return np
    import cupy

    return cupy


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    tm.manual_seed(0)
    np.random.seed(0)
