"""Where momentum shows: six optimizers from one start point on two classic surfaces.

Rosenbrock's banana valley f(x, y) = (1 − x)² + 100(y − x²)² and an ill-conditioned quadratic
f(x, y) = ½(x² + 50y²). Each optimizer runs the same number of steps from the same point; the
script prints the final loss of each and draws contour plots with every trajectory and the
loss against the step.

    python examples/optimizer_trajectories.py [--steps 300] [--out runs/trajectories.png]
"""

import argparse

import tinygrad_mom as tm


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def quadratic(p):
    return 0.5 * (p[0] ** 2 + 50 * p[1] ** 2)


SURFACES = {
    # name: (function, start point, plot window, learning rates per optimizer)
    "rosenbrock": (
        rosenbrock,
        (-1.5, 2.0),
        ((-2, 2), (-1, 3)),
        {
            "SGD": 1e-3,
            "momentum": 1e-3,
            "Nesterov": 1e-3,
            "Adagrad": 0.5,
            "RMSprop": 1e-2,
            "Adam": 5e-2,
        },
    ),
    "ill-conditioned quadratic": (
        quadratic,
        (-4.0, 1.5),
        ((-5, 5), (-2, 2)),
        {
            "SGD": 0.02,
            "momentum": 0.02,
            "Nesterov": 0.02,
            "Adagrad": 1.0,
            "RMSprop": 0.05,
            "Adam": 0.2,
        },
    ),
}


def make(name, params, lr):
    if name == "SGD":
        return tm.optim.SGD(params, lr=lr)
    if name == "momentum":
        return tm.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "Nesterov":
        return tm.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    return getattr(tm.optim, name)(params, lr=lr)


def trajectory(fn, start, name, lr, steps):
    p = tm.tensor(start, dtype=tm.float64, requires_grad=True)
    opt = make(name, [p], lr)
    points, losses = [p.detach().numpy().copy()], []
    for _ in range(steps):
        loss = fn(p)
        opt.zero_grad()
        loss.backward()
        opt.step()
        points.append(p.detach().numpy().copy())
        losses.append(loss.item())
    return points, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", default="runs/optimizer_trajectories.png")
    args = parser.parse_args()

    results = {}
    for surface, (fn, start, _, rates) in SURFACES.items():
        print(f"{surface} from {start}:")
        for name, lr in rates.items():
            points, losses = trajectory(fn, start, name, lr, args.steps)
            results[(surface, name)] = (points, losses)
            print(
                f"  {name:>9} (lr {lr:g}): final loss {losses[-1]:.3e} at "
                f"({points[-1][0]:.3f}, {points[-1][1]:.3f})"
            )

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        print("matplotlib is not installed: plot skipped (pip install 'tinygrad_mom[plot]')")
        return
    from pathlib import Path

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=80)
    for row, (surface, (fn, start, window, rates)) in enumerate(SURFACES.items()):
        xs, ys = np.meshgrid(np.linspace(*window[0], 200), np.linspace(*window[1], 200))
        zs = fn(tm.tensor(np.stack([xs, ys]))).numpy()
        ax_c, ax_l = axes[row]
        ax_c.contour(xs, ys, np.log1p(zs), levels=25, cmap="Greys", linewidths=0.6)
        for name in rates:
            points, losses = results[(surface, name)]
            pts = np.array(points)
            ax_c.plot(pts[:, 0], pts[:, 1], lw=1.2, label=name)
            ax_l.plot(losses, label=name)
        ax_c.plot(*start, "ko", ms=4)
        ax_c.set(title=surface, xlim=window[0], ylim=window[1])
        ax_l.set(title=f"{surface}: loss", xlabel="step", yscale="log")
        ax_c.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
