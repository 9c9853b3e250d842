"""The project's main job as a Python API: the Keras article's SGD-vs-momentum experiment.

    from tinygrad_mom.experiments import compare
    result = compare(["sgd", "momentum"], init="keras", seeds=3, epochs=10)
    print(result.table); print(result.verdict)

The ``tinygrad-mom`` command is a thin wrapper over these functions.
"""

from . import stats
from .compare import (
    BASELINE,
    CompareResult,
    Comparison,
    RunResult,
    compare,
    compare_runs,
    format_table,
    plot_histories,
    predict_test,
    summary_rows,
)
from .components import (
    DATASETS,
    INITS,
    MODELS,
    OPTIMIZER_PRESETS,
    ConfigError,
    describe_optimizer,
    initialise_,
    keras_init_,
    load_splits,
    make_loaders,
    make_model,
    make_optimizer,
)

__all__ = [
    "BASELINE",
    "DATASETS",
    "INITS",
    "MODELS",
    "OPTIMIZER_PRESETS",
    "CompareResult",
    "Comparison",
    "ConfigError",
    "RunResult",
    "compare",
    "compare_runs",
    "describe_optimizer",
    "format_table",
    "initialise_",
    "keras_init_",
    "load_splits",
    "make_loaders",
    "make_model",
    "make_optimizer",
    "plot_histories",
    "predict_test",
    "stats",
    "summary_rows",
]
