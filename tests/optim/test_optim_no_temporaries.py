"""step() updates in place: after the first steps it allocates no parameter-sized temporaries."""

import tracemalloc

import numpy as np
import pytest
from test_optim_base import ALL

import tinygrad_mom as tm

N = 200_000
OPTIONS = [{}, {"weight_decay": 0.1}, {"maximize": True}]
EXTRA = [
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "momentum_style": "classic", "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "momentum_style": "ema", "nesterov": True}),
    ("Adam", {"amsgrad": True}),
]
CASES = [(n, {**ALL[n], **o}) for n in ALL for o in OPTIONS] + EXTRA


@pytest.mark.parametrize("name,kw", CASES)
def test_step_allocates_no_parameter_sized_temporaries(name, kw):
    p = tm.tensor(np.ones(N, dtype=np.float32), requires_grad=True)
    p.grad = tm.tensor(np.full(N, 0.5, dtype=np.float32))
    opt = getattr(tm.optim, name)([p], **kw)
    opt.step()  # creates the state and the reusable scratch buffers
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # NumPy reports its array allocations to tracemalloc: one temporary would be p.nbytes
    assert peak < p.array.nbytes / 20, f"{name} {kw}: step allocated {peak} bytes"
