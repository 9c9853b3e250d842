import numpy as np

import tinygrad_mom as tm


def test_linear_regression_step_reduces_loss(device):
    x = tm.randn(32, 3).to(device)
    true_w = tm.Tensor([[1.0], [-2.0], [0.5]], device=device)
    y = x @ true_w
    w = tm.zeros(3, 1, device=device, requires_grad=True)
    losses = []
    for _ in range(50):
        loss = ((x @ w - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with tm.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert losses[-1] < 1e-3 * losses[0]
    np.testing.assert_allclose(w.numpy(force=True), true_w.numpy(force=True), atol=1e-2)
