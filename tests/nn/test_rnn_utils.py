"""nn.utils.rnn.pad_sequence and nn.utils.parameters_to_vector / vector_to_parameters, against
PyTorch where it is installed; pad_sequence gradchecked."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn
from tinygrad_mom.nn.utils.rnn import pad_sequence

try:
    import torch
except ImportError:
    torch = None

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch_and_is_differentiable(device, batch_first, side):
    arrays = [RNG.standard_normal((n, 2)) for n in (3, 1, 4)]
    seqs = [tm.Tensor(a, device=device, requires_grad=True) for a in arrays]
    out = pad_sequence(seqs, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    assert out.shape == ((3, 4, 2) if batch_first else (4, 3, 2))
    assert tm.gradcheck(lambda *s: pad_sequence(list(s), batch_first, 0.5, side), seqs)
    assert tm.gradgradcheck(lambda *s: pad_sequence(list(s), batch_first, 0.5, side), seqs)
    if torch is not None:
        theirs = torch.nn.utils.rnn.pad_sequence(
            [torch.tensor(a) for a in arrays], batch_first=batch_first, padding_value=-1.0,
            padding_side=side)
        np.testing.assert_array_equal(out.detach().numpy(force=True), theirs.numpy())


def test_pad_sequence_bad_input():
    with pytest.raises(ValueError, match="empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match="trailing dimensions must match"):
        pad_sequence([tm.ones(2, 3), tm.ones(2, 4)])
    with pytest.raises(TypeError, match="sequences\\[1\\]"):
        pad_sequence([tm.ones(2), [1.0]])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([tm.ones(2)], padding_side="top")
    assert nn.utils.rnn.pad_sequence is pad_sequence


def test_parameters_to_vector_round_trip():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (11,) and vec.requires_grad
    nn.utils.vector_to_parameters(tm.arange(11, dtype=tm.float32), model.parameters())
    assert model[0].weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert model[1].bias.tolist() == [10.0]
    with pytest.raises(ValueError, match="vec has 3 elements, the parameters 11"):
        nn.utils.vector_to_parameters(tm.ones(3), model.parameters())
    if torch is not None:
        tmodel = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
        assert torch.nn.utils.parameters_to_vector(tmodel.parameters()).shape[0] == 11
