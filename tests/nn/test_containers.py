"""nn.ModuleDict, nn.ParameterList, nn.ParameterDict: registration, order, state_dict keys as
PyTorch's, and the optimizer seeing every parameter."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn

try:
    import torch
except ImportError:
    torch = None


def Heads(framework):
    """The same model class written against ``framework`` (tinygrad_mom or torch)."""
    fnn = framework.nn

    class _Heads(fnn.Module):
        def __init__(self):
            super().__init__()
            self.heads = fnn.ModuleDict({"a": fnn.Linear(3, 2), "b": fnn.Linear(3, 1)})
            self.heads["c"] = fnn.Linear(3, 4)
            self.scales = fnn.ParameterList([fnn.Parameter(framework.ones(2)) for _ in range(2)])
            self.scales.append(framework.zeros(3))  # a plain tensor becomes a Parameter
            self.extra = fnn.ParameterDict({"bias": fnn.Parameter(framework.zeros(1))})

        def forward(self, x):
            return {k: m(x) for k, m in self.heads.items()}

    return _Heads()


def test_containers_register_in_order_and_train():
    m = Heads(tm)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
                     "heads.c.weight", "heads.c.bias", "scales.0", "scales.1", "scales.2",
                     "extra.bias"]
    assert len(m.heads) == 3 and "b" in m.heads and list(m.heads) == ["a", "b", "c"]
    assert isinstance(m.scales[2], nn.Parameter) and m.scales[-1].shape == (3,)
    assert len(m.scales) == 3 and len(m.scales[:2]) == 2
    opt = tm.optim.SGD(m.parameters(), lr=0.1)
    out = m(tm.ones(5, 3))
    (out["a"].sum() + out["c"].sum() + m.scales[0].sum() + m.extra["bias"].sum()).backward()
    opt.step()
    assert m.scales[0].grad is not None and np.allclose(m.scales[0].numpy(force=True), 0.9)
    popped = m.heads.pop("b")
    assert isinstance(popped, nn.Linear) and list(m.heads.keys()) == ["a", "c"]
    m.heads.update([("d", nn.Identity())])
    assert list(m.heads) == ["a", "c", "d"]
    with pytest.raises(TypeError, match="keys must be strings"):
        m.heads[1] = nn.Identity()
    with pytest.raises(TypeError, match="holds Parameters or Tensors"):
        m.scales.append(3.0)
    with pytest.raises(IndexError):
        m.scales[5]
    with pytest.raises(NotImplementedError):
        m.heads(tm.ones(1))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_state_dict_keys_match_torch_and_load_across():
    ours, theirs = Heads(tm), Heads(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for k, v in ours(tm.Tensor(x)).items():
        np.testing.assert_allclose(v.detach().numpy(), theirs(torch.tensor(x))[k].detach().numpy(),
                                   rtol=1e-5, atol=1e-7)
