"""The reference models: output shapes, parameter counts, one forward + backward each."""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom import models


@pytest.mark.parametrize(
    "make, shape, params",
    [
        (lambda: models.SeedCNN(), (2, 3, 32, 32), 122_570),  # Keras's model.summary() total
        (lambda: models.SeedCNN(in_channels=1, image_size=28), (2, 1, 28, 28), 93_322),
        (lambda: models.LeNet5(), (2, 1, 32, 32), 61_706),  # the paper's 60k, with full C3
        (lambda: models.LeNet5(image_size=28), (2, 1, 28, 28), 61_706),
        (lambda: models.MLP(), (2, 1, 28, 28), 669_706),  # Keras mnist_mlp.py summary
        (
            lambda: models.MLP(in_features=12, hidden_sizes=(8,), num_classes=3, dropout=0.0),
            (4, 12),
            12 * 8 + 8 + 8 * 3 + 3,
        ),
        (lambda: models.ResNet(), (2, 3, 32, 32), None),
    ],
)
def test_model_forward_backward(make, shape, params, device):
    model = make().to(device)
    if params is not None:
        assert sum(p.numel() for p in model.parameters()) == params
    x = tm.randn(*shape, device=device)
    out = model(x)
    n_classes = 3 if shape == (4, 12) else 10
    assert out.shape == (shape[0], n_classes)
    target = tm.tensor([i % n_classes for i in range(shape[0])], device=device)
    loss = F.cross_entropy(out, target)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.all(np.isfinite(p.grad.numpy(force=True))), name
    assert "Total parameters" in repr(model)


def test_seed_cnn_flatten_size_and_layers():
    model = models.SeedCNN()
    assert model.classifier[1].in_features == 64 * 4 * 4
    text = repr(model)
    assert (
        text.count("Conv2d(") == 3 and text.count("MaxPool2d(") == 2 and text.count("Linear(") == 2
    )
    with pytest.raises(ValueError, match="image_size"):
        models.SeedCNN(image_size=10)


def test_resnet_train_eval_and_state_dict():
    model = models.ResNet()
    keys = list(model.state_dict())
    assert "stem.1.running_mean" in keys and "layers.1.shortcut.1.num_batches_tracked" in keys
    x = tm.randn(2, 3, 16, 16)
    model(x)
    model.eval()
    a = model(x).numpy(force=True).copy()
    b = model(x).numpy(force=True).copy()
    np.testing.assert_array_equal(a, b)  # eval is deterministic and does not update stats
    deep = models.ResNet(blocks=(3, 3, 3))  # ResNet-20
    assert sum(p.numel() for p in deep.parameters()) > sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="same non-zero length"):
        models.ResNet(blocks=(1, 1), widths=(16, 32, 64))


def test_mlp_dropout_only_in_training():
    model = models.MLP(in_features=6, hidden_sizes=(5,), num_classes=2, dropout=0.5)
    x = tm.randn(3, 6)
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(force=True), model(x).numpy(force=True))
    model.train()
    tm.manual_seed(1)
    a = model(x).numpy(force=True).copy()
    tm.manual_seed(2)
    assert not np.array_equal(a, model(x).numpy(force=True))


def test_lenet_rejects_other_sizes():
    with pytest.raises(ValueError, match="image_size"):
        models.LeNet5(image_size=64)
