"""utils.tensorboard.SummaryWriter and fit(tensorboard=...): event files read back."""

import struct
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mom as tm

pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402

from tinygrad_mom.utils.tensorboard import SummaryWriter  # noqa: E402


def read_events(directory) -> list:
    """Every Event in the TFRecord files under ``directory``: length, crc, payload, crc."""
    events = []
    for path in sorted(Path(directory).rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            payload = data[offset + 12 : offset + 12 + length]
            events.append((path.parent.name, event_pb2.Event.FromString(payload)))
            offset += 12 + length + 4
    return events


def values(directory, kind="simple_value"):
    """{(run folder, tag): [(step, value)]} of the summaries under ``directory``."""
    found = {}
    for run, event in read_events(directory):
        for v in event.summary.value:
            if kind == "simple_value" and v.HasField("simple_value"):
                found.setdefault((run, v.tag), []).append((event.step, v.simple_value))
            elif kind != "simple_value" and v.HasField(kind):
                found.setdefault((run, v.tag), []).append((event.step, getattr(v, kind)))
    return found


def test_scalars_histogram_and_image_round_trip(tmp_path):
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_scalar("loss", 0.5, 1)
        writer.add_scalar("loss", tm.tensor(0.25), 2)  # a one-element Tensor, as in PyTorch
        writer.add_scalars("acc", {"train": 0.9, "val": tm.tensor([0.8])}, 3)
        writer.add_histogram("w", tm.tensor([0.0, 1.0, 1.0, 2.0, 3.0]), 4)
        image = np.zeros((3, 4, 5), dtype=np.float32)
        image[0] = 1.0  # a red image, CHW in [0, 1]
        writer.add_image("img", tm.tensor(image), 5)
        writer.flush()
    assert writer.get_logdir() == str(tmp_path / "run")
    scalars = values(tmp_path)
    assert scalars[("run", "loss")] == [(1, 0.5), (2, 0.25)]
    # add_scalars writes one run per entry: <log_dir>/<main_tag>_<tag>, as PyTorch does
    assert scalars[("acc_train", "acc")] == [(3, pytest.approx(0.9))]
    assert scalars[("acc_val", "acc")] == [(3, pytest.approx(0.8))]
    (step, histo), *_ = values(tmp_path, "histo")[("run", "w")]
    assert step == 4 and histo.num == 5 and histo.sum == 7.0
    assert (histo.min, histo.max) == (0.0, 3.0)
    (step, img), *_ = values(tmp_path, "image")[("run", "img")]
    assert step == 5 and (img.height, img.width, img.colorspace) == (4, 5, 3)
    assert img.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_values_are_rejected_with_the_tag(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match="add_scalar\\('loss'\\): expected a single number"):
            writer.add_scalar("loss", tm.zeros(3))
        with pytest.raises(TypeError, match="tag_scalar_dict must be a dict"):
            writer.add_scalars("acc", [0.5])
        with pytest.raises(ValueError, match="values is empty"):
            writer.add_histogram("w", tm.zeros(0))


def test_fit_logs_each_epoch(tmp_path):
    from tinygrad_mom import nn
    from tinygrad_mom.data import DataLoader, TensorDataset
    from tinygrad_mom.training import fit

    rng = np.random.default_rng(0)
    ds = TensorDataset(
        tm.tensor(rng.standard_normal((32, 4)).astype(np.float32)),
        tm.tensor(rng.integers(0, 2, 32)),
    )
    tm.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = tm.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        opt,
        DataLoader(ds, 8, shuffle=True, seed=0),
        DataLoader(ds, 16),
        epochs=2,
        tensorboard=tmp_path / "tb",
        progress=False,
        log=None,
    )
    scalars = values(tmp_path / "tb")
    for key, tag in [("train_loss", "loss/train"), ("val_acc", "accuracy/val"), ("lr", "lr")]:
        assert scalars[("tb", tag)] == [
            (r["epoch"], pytest.approx(r[key], rel=1e-6)) for r in history
        ], tag
    with pytest.raises(TypeError, match="SummaryWriter or a directory"):
        fit(model, opt, DataLoader(ds, 8), epochs=1, tensorboard=3, log=None)


def test_compare_writes_one_tensorboard_run_per_optimizer_and_seed(tmp_path):
    pytest.importorskip("safetensors")
    from tinygrad_mom.experiments import compare

    compare(
        ["sgd"],
        seeds=2,
        baseline=False,
        epochs=1,
        train_size=60,
        test_size=20,
        out_dir=None,
        tensorboard=tmp_path,
        progress=False,
        log=None,
    )
    runs = {run for run, _ in values(tmp_path)}
    assert runs == {"sgd_seed0", "sgd_seed1"}


def test_a_resumed_fit_purges_what_came_after_its_checkpoint(tmp_path):
    pytest.importorskip("safetensors")
    from tinygrad_mom import nn
    from tinygrad_mom.data import DataLoader, TensorDataset
    from tinygrad_mom.training import fit

    ds = TensorDataset(tm.zeros(8, 2), tm.zeros(8, dtype=tm.int64))

    def run(epochs, resume):
        tm.manual_seed(0)
        model = nn.Linear(2, 2)
        opt = tm.optim.SGD(model.parameters(), lr=0.1)
        fit(
            model,
            opt,
            DataLoader(ds, 4),
            epochs=epochs,
            checkpoint_dir=tmp_path / "ck",
            resume=resume,
            tensorboard=tmp_path / "tb",
            progress=False,
            log=None,
        )

    run(2, resume=False)
    run(3, resume=True)
    starts = [
        e.step
        for _, e in read_events(tmp_path / "tb")
        if e.HasField("session_log") and e.session_log.status == event_pb2.SessionLog.START
    ]
    assert starts == [3]  # TensorBoard drops earlier points from step 3 on
    assert [s for s, _ in values(tmp_path / "tb")[("tb", "loss/train")]] == [1, 2, 3]
