"""A PyTorch user's CNN training loop with the import changed — nothing else.

Trains the seeds' CNN on the embedded shapes dataset for a few epochs and prints the loss and
the test accuracy.

    python examples/train_cnn.py [--epochs 2] [--device cpu]
"""

import argparse

import tinygrad_mom as torch  # the only change from the PyTorch version
import tinygrad_mom.nn as nn
import tinygrad_mom.nn.functional as F
from tinygrad_mom.data import DataLoader, load_dataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.fc1 = nn.Linear(64 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.manual_seed(0)
    train_set, test_set = load_dataset("shapes")
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, device=args.device)
    test_loader = DataLoader(test_set, batch_size=256, device=args.device)

    model = Net().to(args.device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    for epoch in range(args.epochs):
        model.train()
        running, batches = 0.0, 0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running += loss.item()
            batches += 1
        print(f"epoch {epoch + 1}: mean loss {running / batches:.4f}")

    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in test_loader:
            predicted = model(inputs).argmax(dim=1)
            correct += (predicted == labels).sum().item()
            total += labels.shape[0]
    print(f"test accuracy: {correct / total:.3f}")


if __name__ == "__main__":
    main()
