"""Run under mpiexec: rank-aware fit against a single-process loop computed on every rank.

Prints "rank R: ok"; any failure aborts the job. argv[1]: a scratch directory.
"""

import sys
from pathlib import Path

import numpy as np

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist
from tinygrad_mom import training
from tinygrad_mom.data import DataLoader, DistributedSampler, TensorDataset

N, BATCH = 41, 10  # the last batch has one sample: one rank's share of it is empty


def make_model(seed):
    tm.manual_seed(seed)
    return tm.nn.Sequential(tm.nn.Linear(4, 8), tm.nn.Tanh(), tm.nn.Linear(8, 3)).double()


def datasets():
    rng = np.random.default_rng(5)
    x = tm.tensor(rng.standard_normal((N, 4)))
    y = tm.tensor(rng.integers(0, 3, N))
    xv = tm.tensor(rng.standard_normal((17, 4)))
    yv = tm.tensor(rng.integers(0, 3, 17))
    return TensorDataset(x, y), TensorDataset(xv, yv)


def reference(epochs):
    """The plain single-process loop, as fit runs it without a process group."""
    train, val = datasets()
    model = make_model(0)
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(train, batch_size=BATCH, shuffle=True, seed=3)
    losses = []
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        total = 0.0
        for x, y in loader:
            loss = tm.nn.functional.cross_entropy(model(x), y)
            total += loss.item() * len(y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(total / N)
    with tm.no_grad():
        x, y = val.tensors
        val_loss = tm.nn.functional.cross_entropy(model(x), y).item()
    return model, losses, val_loss


def run_fit(model, epochs, checkpoint_dir, resume=False, log=None):
    train, val = datasets()
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return training.fit(
        model,
        opt,
        DataLoader(train, batch_size=BATCH, shuffle=True, seed=3),
        DataLoader(val, batch_size=8),
        epochs=epochs,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        progress=False,
        log=log,
    )


def check_presharded_loader():
    """A loader with a DistributedSampler is used whole on each rank, as PyTorch's DDP loop."""
    rank, world = dist.get_rank(), dist.get_world_size()
    train, val = datasets()

    def loader(r):
        sampler = DistributedSampler(train, num_replicas=world, rank=r, seed=1)
        return DataLoader(train, batch_size=4, sampler=sampler)

    # reference: one process whose batch is every rank's batch of the step, concatenated
    ref = make_model(0)
    opt = tm.optim.SGD(ref.parameters(), lr=0.1)
    for batches in zip(*(loader(r) for r in range(world))):
        x = tm.cat([b[0] for b in batches])
        y = tm.cat([b[1] for b in batches])
        loss = tm.nn.functional.cross_entropy(ref(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = make_model(0)
    history = training.fit(
        model, tm.optim.SGD(model.parameters(), lr=0.1), loader(rank), epochs=1, log=None
    )
    for p, q in zip(model.parameters(), ref.parameters()):
        assert np.abs(p.numpy(force=True) - q.numpy(force=True)).max() <= 1e-10, (
            "a presharded loader was split"
        )
    assert 0.0 <= history[0]["train_acc"] <= 1.0


def main(scratch):
    rank, world = dist.get_rank(), dist.get_world_size()
    ref_model, ref_losses, ref_val = reference(2)

    saves = []
    original_save = training.save_checkpoint

    def counting_save(*args, **kwargs):
        saves.append(args[4])
        return original_save(*args, **kwargs)

    training.save_checkpoint = counting_save
    lines = []
    model = make_model(0 if rank == 0 else 50 + rank)
    history = run_fit(model, 2, f"{scratch}/full", log=lines.append)
    for p, q in zip(model.parameters(), ref_model.parameters()):
        assert np.abs(p.numpy(force=True) - q.numpy(force=True)).max() <= 1e-10, (
            "fit differs from one process"
        )
    got = [row["train_loss"] for row in history]
    assert np.allclose(got, ref_losses, rtol=0, atol=1e-12), (got, ref_losses)
    assert abs(history[-1]["val_loss"] - ref_val) <= 1e-12, (history[-1]["val_loss"], ref_val)
    # logs and checkpoints on rank 0 only, once per epoch
    everyone = [None] * world
    dist.all_gather_object(everyone, (saves, len(lines)))
    assert everyone[0] == ([1, 2], 2) and all(e == ([], 0) for e in everyone[1:]), everyone
    assert rank != 0 or (Path(scratch) / "full" / "last.safetensors").exists()

    # resume: rank 0 wrote epoch 1 into its own directory; every rank resumes from it
    own = f"{scratch}/resume_rank{rank}"
    run_fit(make_model(0), 1, own)
    model = make_model(99 + rank)
    history = run_fit(model, 2, own, resume=True)
    assert [row["epoch"] for row in history] == [1, 2]
    for p, q in zip(model.parameters(), ref_model.parameters()):
        assert np.abs(p.numpy(force=True) - q.numpy(force=True)).max() <= 1e-10, (
            "the resumed run differs"
        )

    # a missing checkpoint fails on every rank alike (no rank left waiting)
    try:
        run_fit(make_model(0), 2, f"{scratch}/nothing_rank{rank}", resume=True)
    except FileNotFoundError as exc:
        assert "does not exist" in str(exc)
    else:
        raise AssertionError("resuming from nothing did not fail")
    check_presharded_loader()
    print(f"rank {rank}: ok", flush=True)


if __name__ == "__main__":
    dist.init_process_group("mpi")
    main(sys.argv[1])
    dist.destroy_process_group()
