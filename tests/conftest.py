"""Shared fixtures: every op test runs on each available backend through ``device``."""

import signal
import threading

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


def pytest_addoption(parser):
    parser.addoption(
        "--test-timeout",
        type=float,
        default=0.0,
        help="fail any test whose call phase runs longer than this many seconds (SIGALRM; "
        "for machines without pytest-timeout; 0: no limit)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Enforce ``--test-timeout``: the alarm raises inside the test, which then fails."""
    limit = item.config.getoption("--test-timeout")
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not limit or not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"test ran longer than --test-timeout={limit:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_collection_modifyitems(config, items):
    # Name the CUDA variants in the JUnit report (benchmarks/gpu_report.py counts them apart,
    # so that a GPU run whose CuPy variants all skipped cannot pass for a GPU run).
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.user_properties.append(("device", "cuda"))


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
