"""Optimizers and learning-rate schedulers with PyTorch's names and semantics.

``tm.optim.SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``,
``NAdam``, ``RAdam`` follow ``torch.optim`` exactly; ``tm.optim.lr_scheduler`` holds the
schedulers; :class:`StepStatsRecorder` records what every step did.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, ParamState, required
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .stats import StepStatsRecorder

__all__ = [
    "LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer",
    "ParamState", "RAdam", "RMSprop", "StepStatsRecorder", "lr_scheduler", "required",
]
