"""summary(): torchinfo's layout, per-layer shapes, parameters and mult-adds by hand."""

import pytest

import tinygrad_mom as tm
from tinygrad_mom import models, nn
from tinygrad_mom.summary import summary


def test_seed_cnn_rows_and_totals_by_hand(capsys):
    model = models.SeedCNN()
    stats = summary(model, input_size=(1, 3, 32, 32))
    text = capsys.readouterr().out
    assert text.strip() == str(stats)
    lines = text.splitlines()
    # conv 3→32, 3×3: (864 + 32) parameters, at each of 30 × 30 output positions
    conv1 = next(line for line in lines if "Conv2d: 2-1" in line)
    assert conv1.split()[-6:] == ["[1,", "32,", "30,", "30]", "896", "806,400"]
    # Dense 1024→64: batch 1 × 65,600 parameters
    dense = next(line for line in lines if "Linear: 2-10" in line)
    assert dense.split()[-4:] == ["[1,", "64]", "65,600", "65,600"]
    relu = next(line for line in lines if "ReLU: 2-2" in line)
    assert relu.split()[-2:] == ["--", "--"]
    assert stats.total_params == 122_570 == stats.trainable_params  # Keras's model.summary()
    # 896·900 + 18,496·169 + 36,928·16 + 65,600 + 650
    assert stats.total_mult_adds == 4_589_322
    assert "Total mult-adds (M): 4.59" in text and "Total params: 122,570" in text
    header = ["Layer", "(type:depth-idx)", "Output", "Shape", "Param", "#", "Mult-Adds"]
    assert lines[1].split() == header
    assert "├─Sequential: 1-1" in text and "│    └─MaxPool2d: 2-3" in text


def test_depth_folds_nested_layers_into_their_parent():
    stats = summary(models.SeedCNN(), (2, 3, 32, 32), depth=1, verbose=0)
    features = next(line for line in str(stats).splitlines() if "Sequential: 1-1" in line)
    # the three convolutions' parameters and mult-adds (batch 2 doubles the mult-adds)
    assert features.split()[-2:] == ["56,320", f"{2 * (806_400 + 3_125_824 + 590_848):,}"]
    assert "Conv2d" not in str(stats)


def test_batch_and_non_trainable_parameters():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    stats = summary(model, (5, 4), verbose=0)
    assert stats.total_params == 15 + 6 + 8 and stats.trainable_params == 29 - 12
    assert "Non-trainable params: 12" in str(stats)
    # torchinfo's rule for non-convolutions: batch × parameters
    assert stats.total_mult_adds == 5 * (15 + 6 + 8)
    assert [layer.output_size for layer in stats.layers] == [[5, 2], [5, 3], [5, 3], [5, 3], [5, 2]]


def test_a_shared_layer_is_listed_per_call_and_the_model_is_left_as_it_was():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(tm.relu(self.fc(x)))

    model = Twice()
    model.train()
    stats = summary(model, (1, 3), verbose=0)
    assert [(layer.class_name, layer.depth_index) for layer in stats.layers[1:]] == [
        ("Linear", 1),
        ("Linear", 2),
    ]
    assert stats.total_params == 12 and stats.total_mult_adds == 2 * 12
    assert model.training and all("forward" not in m.__dict__ for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert model(tm.zeros(1, 3)).shape == (1, 3)


def test_a_users_forward_hooks_still_run_and_stay():
    model = nn.Sequential(nn.Linear(3, 2))
    seen = []
    model[0].register_forward_hook(lambda module, args, out: seen.append(tuple(out.shape)))
    stats = summary(model, (4, 3), verbose=0)
    assert seen == [(4, 2)] and stats.layers[1].output_size == [4, 2]
    model(tm.zeros(1, 3))
    assert seen == [(4, 2), (1, 2)]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, ValueError, "exactly one of input_size and input_data"),
        ({"input_size": (1, 0)}, ValueError, "positive ints"),
        ({"input_size": (1, 3), "col_names": ("kernel_size",)}, ValueError, "col_names"),
        ({"input_size": (1, 3), "depth": -1}, ValueError, "depth"),
    ],
)
def test_summary_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        summary(nn.Linear(3, 2), verbose=0, **kwargs)


def test_an_error_in_forward_leaves_the_model_intact():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="in_features=3"):
        summary(model, (1, 5), verbose=0)  # wrong feature count
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
