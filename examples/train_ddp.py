"""A PyTorch DistributedDataParallel script with the imports changed — nothing else.

Trains a small CNN on the embedded shapes dataset, data-parallel over the processes that
mpiexec starts: each rank reads its own shard (DistributedSampler), gradients are averaged
after every backward (DistributedDataParallel), rank 0 prints and saves the checkpoint.

    mpiexec -n 2 python examples/train_ddp.py [--epochs 2] [--train-size 2000]
"""

import argparse

import tinygrad_mom as torch  # the changed imports: torch -> tinygrad_mom
import tinygrad_mom.distributed as dist
import tinygrad_mom.nn as nn
import tinygrad_mom.nn.functional as F
from tinygrad_mom.data import DataLoader, DistributedSampler, Subset, load_dataset
from tinygrad_mom.nn.parallel import DistributedDataParallel as DDP


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(32 * 6 * 6, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--checkpoint", default="ddp_model.safetensors")
    args = parser.parse_args()

    dist.init_process_group(backend="mpi")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)

    train, test = load_dataset("shapes")
    train = Subset(train, range(min(args.train_size, len(train))))
    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)

    model = DDP(Net())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = torch.zeros(2, dtype=torch.float64)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()  # gradients are averaged over the ranks here
            optimizer.step()
            total += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        dist.all_reduce(total)  # the epoch's loss over every rank's samples
        if rank == 0:
            print(f"epoch {epoch + 1}: mean loss {total[0].item() / total[1].item():.4f}")

    if rank == 0:  # one process writes the checkpoint; the replicas are identical
        torch.save(model.module.state_dict(), args.checkpoint)
    dist.barrier()
    model.module.load_state_dict(torch.load(args.checkpoint))  # every rank can load it

    # every rank evaluates its shard of the test set; the counts are summed
    model.eval()
    test_loader = DataLoader(test, batch_size=256, sampler=DistributedSampler(test, shuffle=False))
    correct = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for x, y in test_loader:
            hits = (model(x).argmax(dim=1) == y).sum().item()
            correct += torch.tensor([hits, len(y)], dtype=torch.float64)
    dist.all_reduce(correct)
    if rank == 0:
        print(f"{world_size} rank(s); test accuracy: {correct[0].item() / correct[1].item():.3f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
