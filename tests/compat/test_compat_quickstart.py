"""PyTorch's beginner tutorial "Quickstart" (FashionMNIST), with only the imports changed.

The model, the train and test loops and the save/load/predict steps are the tutorial's, line for
line, written for PyTorch: ``import torch`` became ``import tinygrad_mom as torch``. The one
other change is the data: torchvision's download is replaced by local random images whose class
shows in their mean brightness pattern (learnable in two epochs), wrapped in a TensorDataset.
"""

import re

import numpy as np

import tinygrad_mom as torch
from tinygrad_mom import nn
from tinygrad_mom.utils.data import DataLoader, TensorDataset

classes = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _local_fashion_mnist(n: int, seed: int) -> TensorDataset:
    """Stand-in for datasets.FashionMNIST(transform=ToTensor()): (n, 1, 28, 28) floats, labels."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(0).random((10, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = 0.7 * patterns[labels] + 0.3 * rng.random((n, 1, 28, 28), dtype=np.float32)
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


# --- from here on, the tutorial's code -----------------------------------------------------------
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def run_quickstart(tmp_path, epochs=2):
    torch.manual_seed(0)
    training_data = _local_fashion_mnist(640, seed=1)
    test_data = _local_fashion_mnist(256, seed=2)

    batch_size = 64

    # Create data loaders.
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    device = (
        torch.accelerator.current_accelerator().type
        if torch.accelerator.is_available()
        else "cpu"
    )
    print(f"Using {device} device")

    model = NeuralNetwork().to(device)
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)

            # Compute prediction error
            pred = model(X)
            loss = loss_fn(pred, y)

            # Backpropagation
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

            if batch % 5 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        return correct, test_loss

    results = []
    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer)
        results.append(test(test_dataloader, model, loss_fn))
    print("Done!")

    torch.save(model.state_dict(), str(tmp_path / "model.pth"))
    print("Saved PyTorch Model State to model.pth")

    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(str(tmp_path / "model.pth"), weights_only=True))

    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')
    return results, predicted, actual


def test_quickstart_runs_unchanged_and_learns(tmp_path, capsys):
    results, predicted, actual = run_quickstart(tmp_path)
    out = capsys.readouterr().out
    assert "Shape of X [N, C, H, W]: (64, 1, 28, 28)" in out
    assert "Shape of y: (64,) int64" in out and re.search(r"Using (cpu|cuda) device", out)
    losses = [float(v) for v in re.findall(r"loss: +([0-9.]+)  \[", out)]
    assert len(losses) == 4 and all(re.fullmatch(r"\d\.\d{6}", f"{v:>7f}") for v in losses)
    assert losses[-1] < losses[0]  # it trains
    (acc1, loss1), (acc2, loss2) = results
    assert acc2 >= 0.8 and loss2 < loss1  # well above chance (10%) on the held-out set
    assert re.search(r"Accuracy: \d+\.\d%, Avg loss: \d\.\d{6}", out)
    assert predicted in classes and actual in classes and f'Actual: "{actual}"' in out
