"""Neural-network building blocks with PyTorch's names: ``tm.nn.Linear``, ``tm.nn.Conv2d``, ...

``import tinygrad_mom.nn as nn`` and ``import tinygrad_mom.nn.functional as F`` work as their
``torch`` counterparts do.
"""

from . import functional, init, utils
from .layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .lazy import LazyBatchNorm2d, LazyConv2d, LazyLinear
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    PairwiseDistance,
    SmoothL1Loss,
    TripletMarginLoss,
)
from .module import Module, ModuleList, Parameter, Sequential
from .normalization import GroupNorm, LayerNorm
from .pooling1d import AvgPool1d, Dropout2d, MaxPool1d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .sparse import Embedding
from .upsampling import Upsample

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "Dense",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "GroupNorm",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LSTM",
    "LSTMCell",
    "LayerNorm",
    "LazyBatchNorm2d",
    "LazyConv2d",
    "LazyLinear",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "NLLLoss",
    "PairwiseDistance",
    "Parameter",
    "RNN",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Tanh",
    "TripletMarginLoss",
    "Upsample",
    "functional",
    "init",
    "utils",
]
