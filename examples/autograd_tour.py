"""A tour of autograd beyond backward(): the graph as a picture, a Hessian-vector product,
Newton's method with the exact Hessian, and a gradient penalty (double backprop).

    python examples/autograd_tour.py [--graph examples/autograd_tour.png]

Runs in a second on a CPU. The graph is written as DOT text always, and as a picture when
the graphviz package and Graphviz's dot program are installed (pip install
'tinygrad_mom[viz]').
"""

import argparse

import tinygrad_mom as tm
from tinygrad_mom.autograd.functional import hessian, hvp

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--graph", default="autograd_tour.png",
                    help="where to draw the MLP's graph (.png/.svg; default autograd_tour.png)")
args = parser.parse_args()
tm.manual_seed(0)

# 1. The graph of a small MLP's loss, with parameter names, saved memory and gradient norms.
model = tm.nn.Sequential(tm.nn.Linear(4, 8), tm.nn.Tanh(), tm.nn.Linear(8, 3))
x, y = tm.randn(16, 4), tm.randint(0, 3, (16,))
loss = tm.nn.functional.cross_entropy(model(x), y)
loss.backward(retain_graph=True)  # keep the graph so that it can still be drawn
graph = tm.viz.make_dot(loss, params=dict(model.named_parameters()))
try:
    print(f"1. graph of the MLP's loss drawn to {graph.render(args.graph)}")
except RuntimeError as exc:  # no Graphviz: the DOT text was still written
    print(f"1. {exc}")

# 2. A Hessian-vector product without forming the Hessian: d/dx <∇f(x), v>.
def f(t):
    return (t**3).sum() + (t[0] * t[1]) ** 2


point = tm.tensor([1.0, 2.0, -1.0], dtype=tm.float64)
direction = tm.tensor([1.0, 0.0, 0.5], dtype=tm.float64)
_, hv = hvp(f, point, direction)
print(f"2. Hessian-vector product H·v = {hv.tolist()}")


# 3. Newton's method on Rosenbrock's function with the exact Hessian: θ ← θ − H⁻¹∇f.
def rosenbrock(t):
    return (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2


theta = tm.tensor([-1.2, 1.0], dtype=tm.float64)
for step in range(1, 4):
    p = theta.detach().requires_grad_(True)
    (g,) = tm.autograd.grad(rosenbrock(p), p)
    h = hessian(rosenbrock, theta)
    # a 2×2 solve by hand keeps the example to the library's own ops
    (a, b), (c, d) = h.tolist()
    g0, g1 = g.tolist()
    det = a * d - b * c
    theta = theta - tm.tensor([(d * g0 - b * g1) / det, (a * g1 - c * g0) / det],
                              dtype=tm.float64)
    print(f"3. Newton step {step}: θ = {[round(v, 6) for v in theta.tolist()]}, "
          f"f(θ) = {rosenbrock(theta).item():.3e}")

# 4. A gradient penalty: differentiate ‖∂L/∂x‖² with respect to the weights.
x = tm.randn(16, 4, requires_grad=True)
loss = tm.nn.functional.cross_entropy(model(x), y)
(gx,) = tm.autograd.grad(loss, x, create_graph=True)
penalty = (gx * gx).sum()
model.zero_grad()
penalty.backward()
norm = sum((p.grad * p.grad).sum().item() for p in model.parameters()) ** 0.5
print(f"4. gradient penalty ‖∂L/∂x‖² = {penalty.item():.4g}; its gradient's norm over the "
      f"weights = {norm:.4g}")
