"""The seeds' NumPy example, with tinygrad_mom's autograd and optimizers.

Data: y = 4 + 3x + Gaussian noise, x uniform on [0, 2). Full-batch gradient descent on the
mean squared error, once without momentum and once with momentum 0.9 (same learning rate).
Prints the fitted intercept and slope and plots the fitted lines and the loss curves.

    python examples/momentum_linear_regression.py [--steps 100] [--lr 0.05] [--out runs/linreg.png]
"""

import argparse

import tinygrad_mom as tm


def fit(x, y, momentum: float, lr: float, steps: int):
    """Fit y ≈ b + w·x with SGD(lr, momentum); returns (b, w, per-step losses)."""
    w = tm.zeros(1, 1, requires_grad=True)
    b = tm.zeros(1, requires_grad=True)
    opt = tm.optim.SGD([w, b], lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        loss = ((x @ w + b - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return b.item(), w.item(), losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default="runs/momentum_linear_regression.png")
    args = parser.parse_args()

    tm.manual_seed(42)
    x = 2 * tm.rand(100, 1)
    y = 4 + 3 * x + tm.randn(100, 1)

    results = {}
    for label, momentum in (("gradient descent", 0.0), ("momentum 0.9", 0.9)):
        b, w, losses = fit(x, y, momentum, args.lr, args.steps)
        results[label] = (b, w, losses)
        print(f"{label:>16}: intercept {b:.4f}, slope {w:.4f}, final loss {losses[-1]:.4f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: plot skipped (pip install 'tinygrad_mom[plot]')")
        return
    from pathlib import Path

    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    ax_fit.scatter(x.numpy(), y.numpy(), s=8, color="gray", label="data")
    grid = tm.arange(0.0, 2.01, 0.1)
    for label, (b, w, losses) in results.items():
        ax_fit.plot(grid.numpy(), (b + w * grid).numpy(), label=f"{label}: {b:.2f} + {w:.2f}x")
        ax_loss.plot(losses, label=label)
    ax_fit.set(xlabel="x", ylabel="y", title="fitted lines")
    ax_loss.set(xlabel="step", ylabel="MSE", yscale="log", title="loss")
    ax_fit.legend(fontsize=7)
    ax_loss.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
