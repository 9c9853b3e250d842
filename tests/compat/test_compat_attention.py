"""A PyTorch-style program using the indexing ops real code reaches for: a causal attention
mask with ``masked_fill``, one-hot targets with ``scatter_``, label smoothing, ``index_select``,
``masked_select`` over padding, ``nn.ReLU(inplace=True)`` and ``F.dropout(inplace=True)``.

It is written once against a ``torch`` parameter, as PyTorch code: run with tinygrad_mom
(always) and with PyTorch (where installed) from the same weights, the losses must agree.
"""

import numpy as np
import pytest

import tinygrad_mom

try:
    import torch as real_torch
except ImportError:
    real_torch = None

VOCAB, EMBED, SEQ, PAD = 7, 8, 5, 0


def build_model(torch):
    nn = torch.nn

    class TinyAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.qkv = nn.Linear(EMBED, 3 * EMBED)
            self.ff = nn.Sequential(nn.Linear(EMBED, 16), nn.ReLU(inplace=True),
                                    nn.Linear(16, VOCAB))

        def forward(self, tokens):
            x = self.embed(tokens)
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            scores = q @ k.transpose(-2, -1) / EMBED ** 0.5
            causal = torch.tril(torch.ones(SEQ, SEQ)).bool()
            scores = scores.masked_fill(~causal, float("-inf"))
            padding = (tokens == PAD).unsqueeze(1)  # do not attend to padding keys
            scores = scores.masked_fill(padding & ~torch.eye(SEQ).bool(), -1e9)
            attn = torch.softmax(scores, dim=-1)
            h = x + attn @ v
            return self.ff(h)

    return TinyAttention()


def training_program(torch, weights, tokens, targets, steps=8):
    F = torch.nn.functional
    model = build_model(torch)
    model.load_state_dict({k: torch.tensor(w, dtype=torch.float32) for k, w in weights.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    tokens = torch.tensor(tokens)
    targets = torch.tensor(targets)
    history = []
    for _ in range(steps):
        logits = model(tokens)  # (batch, seq, vocab)
        one_hot = torch.zeros(*targets.shape, VOCAB).scatter_(2, targets.unsqueeze(-1), 1.0)
        smooth = one_hot * 0.9 + 0.1 / VOCAB
        per_token = -(smooth * F.log_softmax(logits, dim=-1)).sum(-1)
        keep = targets != PAD
        loss = torch.masked_select(per_token, keep).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last = logits.index_select(1, torch.tensor([SEQ - 1]))[:, 0]
        correct = last.argmax(-1).eq(targets[:, -1]).sum().item()
        history.append((loss.item(), correct))
    with torch.no_grad():
        probe = torch.randn(3, 4).abs()
        F.dropout(probe, p=0.5, training=False, inplace=True)  # eval: unchanged, as PyTorch
        counts = torch.zeros(VOCAB, dtype=torch.int64).scatter_add_(
            0, targets.reshape(-1), torch.ones(targets.numel(), dtype=torch.int64))
    return history, counts.tolist()


def _inputs():
    rng = np.random.default_rng(11)
    model = build_model(tinygrad_mom)
    weights = {k: rng.standard_normal(tuple(v.shape)) * 0.3 for k, v in model.state_dict().items()}
    tokens = rng.integers(1, VOCAB, (4, SEQ))
    tokens[0, 3:] = PAD
    targets = np.roll(tokens, -1, axis=1)
    targets[:, -1] = PAD
    targets[1, -1] = 3
    return weights, tokens, targets


def test_attention_program_runs_and_learns():
    history, counts = training_program(tinygrad_mom, *_inputs())
    assert history[-1][0] < history[0][0]
    _, _, targets = _inputs()
    assert counts == np.bincount(targets.reshape(-1), minlength=VOCAB).tolist()


@pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")
def test_attention_program_matches_torch():
    ours = training_program(tinygrad_mom, *_inputs())
    theirs = training_program(real_torch, *_inputs())
    for (la, ca), (lb, cb) in zip(ours[0], theirs[0]):
        assert la == pytest.approx(lb, rel=1e-4)
        assert ca == cb
    assert ours[1] == theirs[1]
