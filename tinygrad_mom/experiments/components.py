"""Building blocks of the experiments: optimizer presets, models, initialisations, data splits.

The ``tinygrad-mom`` command and :func:`tinygrad_mom.experiments.compare` share them, so a
command-line run and a Python call build exactly the same thing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import tinygrad_mom as tm

from .. import backend, data, models, nn

# The Keras experiment's hyper-parameters: SGD and momentum SGD as in the article (lr 0.01,
# momentum 0.9); the adaptive methods at their usual defaults (RMSprop at Keras's 1e-3 because
# PyTorch's 1e-2 diverges on this CNN).
OPTIMIZER_PRESETS = {
    "sgd": ("SGD", {"lr": 0.01}),
    "momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "nesterov": ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {"lr": 0.01}),
    "rmsprop": ("RMSprop", {"lr": 0.001}),
    "adam": ("Adam", {"lr": 0.001}),
    "adamw": ("AdamW", {"lr": 0.001}),
}
#: the presets that a ``momentum`` override reaches
MOMENTUM_PRESETS = ("momentum", "nesterov", "rmsprop")
DATASETS = data.DATASETS
MODELS = ("seedcnn", "lenet", "mlp", "resnet", "linear")
#: ``torch``: PyTorch's layer defaults; ``keras``: glorot_uniform kernels and zero biases
INITS = ("torch", "keras")


class ConfigError(ValueError):
    """An experiment setting that cannot work (unknown name, missing data, bad split)."""


def make_optimizer(
    name: str,
    params: Iterable,
    *,
    lr: float | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
    log: Callable[[str], None] | None = print,
) -> tm.optim.Optimizer:
    """The named preset, with ``lr``/``momentum``/``weight_decay`` overriding its values."""
    if name not in OPTIMIZER_PRESETS:
        raise ConfigError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZER_PRESETS)}")
    cls_name, hyper = OPTIMIZER_PRESETS[name]
    hyper = dict(hyper)
    if lr is not None:
        hyper["lr"] = lr
    if momentum is not None:
        # "sgd" is plain SGD by definition (the baseline of the comparison): a momentum override
        # never turns it into momentum SGD, nor does it reach optimizers that have no momentum
        if name in MOMENTUM_PRESETS:
            hyper["momentum"] = momentum
        elif log:
            log(f"note: --momentum does not apply to {name!r}; ignored for it")
    if weight_decay is not None:
        hyper["weight_decay"] = weight_decay
    try:
        return getattr(tm.optim, cls_name)(params, **hyper)
    except ValueError as exc:
        raise ConfigError(f"optimizer {name!r}: {exc}") from None


def describe_optimizer(optimizer: tm.optim.Optimizer) -> str:
    """``SGD lr=0.01, momentum=0.9``: the class and the hyper-parameters that are set."""
    group = optimizer.param_groups[0]
    keys = [k for k in ("lr", "momentum", "nesterov", "weight_decay") if group.get(k)]
    return f"{type(optimizer).__name__} " + ", ".join(f"{k}={group[k]}" for k in keys)


def make_model(name: str, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """One of :data:`MODELS` for images of ``in_channels`` × ``image_size`` × ``image_size``."""
    if name == "seedcnn":
        return models.SeedCNN(
            in_channels=in_channels, num_classes=num_classes, image_size=image_size
        )
    if name == "lenet":
        return models.LeNet5(
            in_channels=in_channels, num_classes=num_classes, image_size=image_size
        )
    if name == "mlp":
        return models.MLP(in_channels * image_size * image_size, num_classes=num_classes)
    if name == "resnet":
        return models.ResNet(in_channels=in_channels, num_classes=num_classes)
    if name == "linear":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes)
        )
    raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def keras_init_(model: nn.Module) -> nn.Module:
    """Re-initialise like Keras's layer defaults: glorot_uniform kernels, zero biases.

    Applies to every ``Linear`` (Keras ``Dense``) and ``Conv2d``. Glorot's fans for a
    convolution (in/out channels × kernel area) are the same in Keras and in
    :func:`tm.nn.init.xavier_uniform_`, so the bound is √(6 / (fan_in + fan_out)) in both.
    BatchNorm keeps its defaults (ones and zeros in both frameworks). Draws from the
    generator ``tm.manual_seed`` seeds. Returns ``model``.
    """
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def initialise_(model: nn.Module, init: str) -> nn.Module:
    """Apply the initialisation named by ``init`` (one of :data:`INITS`) in place."""
    if init == "keras":
        return keras_init_(model)
    if init != "torch":  # PyTorch's defaults are what the layers' constructors drew
        raise ConfigError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    return model


def load_splits(
    dataset: str,
    *,
    data_dir: str | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    val_split: float = 0.2,
    seed: int = 0,
) -> tuple[data.Dataset, data.Dataset, data.Dataset]:
    """(train, validation, test): the dataset, subset as asked, its training part split."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConfigError(f"--data-dir {data_dir}: no such directory")
    try:
        train, test = data.load_dataset(dataset, root=data_dir)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    if train_size:
        train = data.Subset(train, range(min(train_size, len(train))))
    if test_size:
        test = data.Subset(test, range(min(test_size, len(test))))
    n_val = int(round(len(train) * val_split))
    if n_val < 1 or n_val >= len(train):
        raise ConfigError(
            f"--val-split {val_split} leaves no training or no validation data "
            f"({len(train)} training samples)"
        )
    train, val = data.random_split(train, [len(train) - n_val, n_val], seed=seed)
    return train, val, test


def make_loaders(
    train: data.Dataset,
    val: data.Dataset,
    test: data.Dataset,
    *,
    batch_size: int,
    seed: int,
    device: str,
) -> tuple[data.DataLoader, data.DataLoader, data.DataLoader]:
    """Shuffled (seeded) training batches; validation and test in order, 256 at a time."""
    return (
        data.DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed, device=device),
        data.DataLoader(val, batch_size=256, device=device),
        data.DataLoader(test, batch_size=256, device=device),
    )


def standard_augmentation(image_size: int):
    """The usual CIFAR-10 training augmentation: a random crop of the image padded by 4 pixels
    (zeros), then a horizontal flip with probability 1/2 (He et al., 2016, section 4.2)."""
    from ..data import transforms

    return transforms.Compose(
        [transforms.RandomCrop(image_size, padding=4), transforms.RandomHorizontalFlip()]
    )


def augmented(dataset: data.Dataset, augment: bool) -> data.Dataset:
    """``dataset`` behind :func:`standard_augmentation` when ``augment`` is true."""
    if not augment:
        return dataset
    _, size = image_geometry(dataset)
    return data.TransformedDataset(dataset, standard_augmentation(size))


def image_geometry(dataset: data.Dataset) -> tuple[int, int]:
    """(channels, side) of the dataset's first image."""
    x, _ = dataset[0]
    shape = tuple(x.shape)
    return shape[0], shape[-1]


def check_device(device: str) -> str:
    """The canonical device name; ConfigError when it is unknown or unavailable."""
    try:
        device = backend.parse_device(device)
        backend.array_module_for(device)
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"--device {device}: {exc}") from None
    return device


def check_output_dir(option: str, path: str | Path) -> Path:
    """Create an output directory and write a probe file there up front, so a missing,
    read-only or non-directory path fails before any training."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot create it ({exc.strerror or exc})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=path)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: not writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def check_tensorboard(log_dir: str | Path | None) -> Path | None:
    """The TensorBoard directory, created; ConfigError when tensorboardX is not installed."""
    if log_dir is None:
        return None
    try:
        from ..utils import tensorboard  # noqa: F401  (only to fail now, before training)
    except ImportError as exc:
        raise ConfigError(f"--tensorboard {log_dir}: {exc}") from None
    return check_output_dir("--tensorboard", log_dir)
