"""benchmarks/run.py's command line stays backward compatible (a GPU check script calls it)."""

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run as module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_old_and_new_flags_parse(run):
    old = "--quick --device cuda --repeats 3 --torch-threads 2 --default-malloc --no-torch"
    args = run.build_parser().parse_args([*old.split(), "--workloads", "train", "--out", "x.json"])
    assert args.device == "cuda" and args.default_malloc and args.processes is None  # main: 1
    new = "--processes 5 --in-process --keep-freed-memory --threads 1 --cpu-time".split()
    args = run.build_parser().parse_args([*new, "--batch-sizes", "8,16", "--optim-params", "9"])
    assert args.processes == 5 and args.in_process and args.threads == 1 and args.cpu_time
    assert run._batch_sizes(args) == [8, 16] and args.optim_params == 9


@pytest.mark.parametrize(
    "argv",
    [
        ["--workloads", "train,nonsense"],
        ["--processes", "0"],
        ["--device", "tpu"],
        ["--batch-sizes", "8,x"],
    ],
)
def test_bad_arguments_exit_with_a_usage_error(run, argv):
    with pytest.raises(SystemExit) as info:
        run.main(argv)
    assert info.value.code == 2


def test_step_gemms_cover_every_layer_and_skip_the_first_input_gradient(run):
    train = {label for label, *_ in run.step_gemms(64, train=True)}
    infer = {label for label, *_ in run.step_gemms(64, train=False)}
    assert "conv1 input" not in train and {"conv2 input", "conv3 weight", "fc2 input"} <= train
    assert infer == {"conv1 fwd", "conv2 fwd", "conv3 fwd", "fc1 fwd", "fc2 fwd"}
    # (M, K, N) of the second conv's forward: N·13·13 rows of 9·32 columns, 64 outputs
    assert dict((label, mkn) for label, mkn, *_ in run.step_gemms(2, True))["conv2 fwd"] == (
        2 * 169,
        288,
        64,
    )
