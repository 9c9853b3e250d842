"""Where a training step's time goes: per layer and phase, host time against device time.

    PYTHONPATH=. python benchmarks/gpu_profile.py --device cuda        # batch 256
    PYTHONPATH=. python benchmarks/gpu_profile.py --device cpu --batch 16 --repeats 2

The seeds' CNN (``models.SeedCNN``, ``nn.CrossEntropyLoss``, ``optim.SGD`` with momentum) and
the same network in PyTorch (``torch.nn`` layers, same weights) run one training step at a
time; between the step's parts (zero_grad, each layer's forward, the loss, backward, the
optimizer step) the script notes the host clock and, on a GPU, records a CUDA event on the
stream. Per part it reports the median host time (how long Python took to launch it) and the
median device time between the events. Reading: where the host time is at least the device
time, the GPU waited for launches (the part is launch-bound: per-op overhead); where the device
time is clearly larger, the kernels themselves dominate (there cuDNN convolutions instead of
im2col + GEMM would help). The step's total is timed as a whole too. Prints a table and writes
JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from seed_step import LR, MOMENTUM, batch, initial_weights  # noqa: E402

import tinygrad_mom as tm  # noqa: E402


class Marks:
    """Host times and (on a GPU) CUDA events at the boundaries of a step's parts."""

    def __init__(self, framework: str, device: str):
        self.framework, self.device = framework, device
        self.names: list[str] = []
        self.host: list[float] = []
        self.events: list = []

    def _event(self):
        if self.device == "cpu":
            return None
        if self.framework == "torch":
            import torch

            event = torch.cuda.Event(enable_timing=True)
        else:
            import cupy

            event = cupy.cuda.Event()
        event.record()
        return event

    def mark(self, name: str) -> None:
        self.names.append(name)
        self.events.append(self._event())
        self.host.append(time.perf_counter())

    def durations(self) -> list[tuple[str, float, float | None]]:
        """(part, host ms, device ms or None) between consecutive marks; waits for the device."""
        if self.device != "cpu":
            self.events[-1].synchronize()
        out = []
        for k in range(1, len(self.names)):
            host = (self.host[k] - self.host[k - 1]) * 1e3
            device = None
            if self.device != "cpu":
                a, b = self.events[k - 1], self.events[k]
                if self.framework == "torch":
                    device = a.elapsed_time(b)
                else:
                    import cupy

                    device = cupy.cuda.get_elapsed_time(a, b)
            out.append((self.names[k], host, device))
        return out


def marked_step(layers, loss_fn, opt, x, y):
    """One training step over ``layers`` that marks the end of each part (either framework:
    both spell zero_grad, backward and step the same)."""

    def step(marks: Marks) -> None:
        marks.mark("start")
        opt.zero_grad()
        marks.mark("zero_grad")
        h = x
        for i, layer in enumerate(layers):
            h = layer(h)
            marks.mark(f"forward {i:2d} {type(layer).__name__}")
        loss = loss_fn(h, y)
        marks.mark("loss")
        loss.backward()
        marks.mark("backward")
        opt.step()
        marks.mark("optimizer step")

    return step


def tm_parts(device: str, n: int):
    """The library's step, split into parts: returns step(marks)."""
    import models

    weights = initial_weights(0)
    model = models.SeedCNN().to(device)
    with tm.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(tm.Tensor(w, device=device))
    layers = list(model.features) + list(model.classifier)
    loss_fn = tm.nn.CrossEntropyLoss()
    opt = tm.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xn, yn = batch(n, 2)
    x, y = tm.Tensor(xn, device=device), tm.Tensor(yn, device=device)

    return marked_step(layers, loss_fn, opt, x, y)


def torch_parts(device: str, n: int):
    """The same network and step in PyTorch (eager), the same weights."""
    import torch

    nn = torch.nn
    layers = [
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(1024, 64),
        nn.ReLU(), nn.Linear(64, 10),
    ]  # fmt: skip
    model = nn.Sequential(*layers).to(device)
    with torch.no_grad():
        for p, w in zip(model.parameters(), initial_weights(0), strict=True):
            p.copy_(torch.from_numpy(w))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xn, yn = batch(n, 2)
    x, y = torch.from_numpy(xn).to(device), torch.from_numpy(yn).to(device)

    return marked_step(layers, loss_fn, opt, x, y)


def profile(framework: str, step, device: str, warmup: int, repeats: int) -> dict:
    """Median host/device ms per part, and the whole step's median wall time (synchronised)."""
    for _ in range(warmup):
        marks = Marks(framework, device)
        step(marks)
        marks.durations()
    per_part: dict[str, dict[str, list[float]]] = {}
    totals = []
    for _ in range(repeats):
        marks = Marks(framework, device)
        step(marks)
        parts = marks.durations()  # waits for the device: the step's wall time ends here
        totals.append((time.perf_counter() - marks.host[0]) * 1e3)
        for name, host, dev in parts:
            entry = per_part.setdefault(name, {"host": [], "device": []})
            entry["host"].append(host)
            if dev is not None:
                entry["device"].append(dev)
    rows = {}
    for name, entry in per_part.items():
        host = statistics.median(entry["host"])
        dev = statistics.median(entry["device"]) if entry["device"] else None
        rows[name] = {
            "host_ms": host,
            "device_ms": dev,
            "launch_bound": None if dev is None else host >= 0.9 * dev,
        }
    return {"parts": rows, "step_ms": statistics.median(totals), "repeats": repeats}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-torch", action="store_true", help="profile tinygrad_mom only")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON path")
    args = parser.parse_args(argv)
    device = "cuda:0" if args.device == "cuda" else "cpu"
    if device != "cpu" and not tm.cuda.is_available():
        print("--device cuda: no CUDA GPU visible to CuPy", file=sys.stderr)
        return 2
    report = {"device": device, "batch": args.batch, "frameworks": {}}
    frameworks = [("tinygrad_mom", tm_parts)]
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None and (device == "cpu" or torch.cuda.is_available()):
            if device != "cpu":  # as in run.py: both frameworks in full float32
                torch.backends.cudnn.allow_tf32 = False
                torch.backends.cuda.matmul.allow_tf32 = False
            frameworks.append(("torch", torch_parts))
    for name, build in frameworks:
        report["frameworks"][name] = profile(
            name, build(device, args.batch), device, args.warmup, args.repeats
        )
    names = list(report["frameworks"])
    print(f"training step of the seeds' CNN, batch {args.batch}, {device}: median ms per part "
          "(host = launch time, device = between CUDA events)")
    header = f"{'part':<26}" + "".join(f"{n + ' host':>20}{n + ' device':>20}" for n in names)
    print(header)
    print("-" * len(header))
    parts = report["frameworks"][names[0]]["parts"]
    for part in parts:
        line = f"{part:<26}"
        for n in names:
            row = report["frameworks"][n]["parts"].get(part)
            host = "-" if row is None else f"{row['host_ms']:.3f}"
            dev = "-" if row is None or row["device_ms"] is None else f"{row['device_ms']:.3f}"
            line += f"{host:>20}{dev:>20}"
        print(line)
    print(f"{'whole step (wall)':<26}" + "".join(
        f"{report['frameworks'][n]['step_ms']:>20.3f}{'':>20}" for n in names
    ))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
