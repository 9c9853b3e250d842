"""Quick start: fit y = 4 + 3x + noise with autograd and a hand-written momentum update.

Runs in about a second on a CPU; prints the fitted intercept and slope.
"""

import tinygrad_mom as tm

tm.manual_seed(0)
x = 2 * tm.rand(100, 1)
y = 4 + 3 * x + 0.1 * tm.randn(100, 1)

w = tm.zeros(1, 1, requires_grad=True)
b = tm.zeros(1, requires_grad=True)
velocity = {id(p): tm.zeros_like(p) for p in (w, b)}
lr, momentum = 0.05, 0.9
for _ in range(300):
    loss = ((x @ w + b - y) ** 2).mean()
    w.grad = b.grad = None
    loss.backward()
    with tm.no_grad():
        for p in (w, b):
            v = velocity[id(p)]
            v.mul_(momentum).sub_(lr * p.grad)  # v ← μv − η∇L
            p += v  # θ ← θ + v
print(f"intercept {b.item():.3f}, slope {w.item():.3f}, loss {loss.item():.4f}")
