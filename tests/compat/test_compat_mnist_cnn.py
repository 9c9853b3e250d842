"""pytorch/examples ``mnist/main.py`` (the CNN, its train and test functions, Adadelta + StepLR),
with only the imports changed: ``torch`` became ``tinygrad_mom``.

The data is a small local stand-in for torchvision's MNIST (class-dependent patterns plus noise,
normalised as the example's transform does); the command-line arguments become a Namespace.
"""

import argparse
import re

import numpy as np
import pytest

import tinygrad_mom as torch
import tinygrad_mom.nn as nn
import tinygrad_mom.nn.functional as F
import tinygrad_mom.optim as optim
from tinygrad_mom.optim.lr_scheduler import StepLR
from tinygrad_mom.utils.data import TensorDataset

pytestmark = pytest.mark.skipif(
    not hasattr(torch.Tensor, "eq"), reason="needs Tensor.eq (comparison methods, issue 9 item 8)"
)


def _local_mnist(n: int, seed: int) -> TensorDataset:
    """Stand-in for datasets.MNIST with ToTensor() and Normalize((0.1307,), (0.3081,))."""
    rng = np.random.default_rng(seed)
    patterns = (np.random.default_rng(0).random((10, 1, 28, 28)) > 0.7).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = np.clip(patterns[labels] + 0.3 * rng.standard_normal((n, 1, 28, 28)), 0, 1)
    images = ((images - 0.1307) / 0.3081).astype(np.float32)
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


# --- from here on, the example's code ------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008  (the example's spelling)
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032
                    epoch,
                    batch_idx * len(data),
                    len(train_loader.dataset),
                    100.0 * batch_idx / len(train_loader),
                    loss.item(),
                )
            )
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print(
        "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(  # noqa: UP032
            test_loss,
            correct,
            len(test_loader.dataset),
            100.0 * correct / len(test_loader.dataset),
        )
    )
    return test_loss, correct


test.__test__ = False  # the example's function, not a pytest test


def main(args, tmp_path):
    use_accel = not args.no_accel and torch.accelerator.is_available()

    torch.manual_seed(args.seed)

    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel:
        accel_kwargs = {"num_workers": 0, "pin_memory": True, "shuffle": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)

    dataset1 = _local_mnist(args.train_size, seed=1)
    dataset2 = _local_mnist(args.test_size, seed=2)
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    results = []
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        results.append(test(model, device, test_loader))
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), str(tmp_path / "mnist_cnn.pt"))
    return results, optimizer


@pytest.mark.slow
def test_mnist_example_runs_unchanged_and_learns(tmp_path, capsys):
    args = argparse.Namespace(
        batch_size=32,
        test_batch_size=64,
        epochs=2,
        lr=1.0,
        gamma=0.7,
        no_accel=False,
        dry_run=False,
        seed=1,
        log_interval=2,
        save_model=True,
        train_size=128,
        test_size=64,
    )
    results, optimizer = main(args, tmp_path)
    out = capsys.readouterr().out
    assert re.search(r"Train Epoch: 1 \[0/128 \(0%\)\]\tLoss: \d\.\d{6}", out)
    assert "Train Epoch: 2 [64/128 (50%)]" in out
    (loss1, _), (loss2, correct2) = results
    assert loss2 < loss1 and correct2 >= 32  # at least half right after two short epochs
    assert re.search(r"Accuracy: \d+/64 \(\d+%\)", out)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0 * 0.7**2)
    assert set(torch.load(str(tmp_path / "mnist_cnn.pt"))) == set(Net().state_dict())
