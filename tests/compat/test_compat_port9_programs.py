"""Small PyTorch-style programs (written for this suite, not copied) that use what re-testing
real tutorial scripts found missing: ``Tensor.narrow``/``new_zeros`` and ``flatten_parameters``
in a word-level language-model loop, ``Dropout2d`` after an LSTM, torchvision-style transforms on
PIL images (``Pad``, ``Lambda``), and the activations ``GELU SiLU ELU PReLU Softplus Hardswish``,
``F.one_hot``, ``F.normalize``.

Each program is plain PyTorch code; it takes the framework as ``torch`` so the very same
function runs on ``tinygrad_mom`` (the import changed) and, where PyTorch is installed, on
PyTorch from the same weights, and the numbers are compared.
"""

import math

import numpy as np
import pytest

import tinygrad_mom

try:
    import torch as real_torch
except ImportError:
    real_torch = None

needs_torch = pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")


# --- program 1: a word-level LSTM language model, truncated backprop through time -------------
def language_model_program(torch, weights=None, steps=6):
    nn = torch.nn

    class WordModel(nn.Module):
        def __init__(self, ntoken, ninp, nhid, nlayers):
            super().__init__()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=0.0)
            self.decoder = nn.Linear(nhid, ntoken)
            self.nlayers, self.nhid = nlayers, nhid

        def forward(self, input, hidden):
            output, hidden = self.rnn(self.encoder(input), hidden)
            return torch.nn.functional.log_softmax(self.decoder(output), dim=-1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def detach_all(h):
        return h.detach() if isinstance(h, torch.Tensor) else tuple(detach_all(v) for v in h)

    stream = torch.tensor([(i * 7 + i // 3) % 11 for i in range(203)], dtype=torch.int64)
    source = batchify(stream, 4)
    model = WordModel(11, 8, 12, 2)
    if weights is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    model.rnn.flatten_parameters()
    criterion = nn.NLLLoss()
    hidden, losses, lr, bptt = model.init_hidden(4), [], 0.5, 5
    for step, i in enumerate(range(0, source.size(0) - 1, bptt)):
        if step == steps:
            break
        seq_len = min(bptt, len(source) - 1 - i)
        data, targets = source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)
        hidden = detach_all(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output.view(-1, 11), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, state


def test_language_model_loop_runs_and_learns():
    losses, state = language_model_program(tinygrad_mom, steps=12)
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    assert "rnn.weight_ih_l1" in state and state["encoder.weight"].shape == (11, 8)


@needs_torch
def test_language_model_loop_matches_pytorch_from_the_same_weights():
    _, start = language_model_program(tinygrad_mom, steps=0)
    ours, ours_end = language_model_program(tinygrad_mom, start)
    theirs, theirs_end = language_model_program(real_torch, start)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    for k in ours_end:
        np.testing.assert_allclose(ours_end[k], theirs_end[k], rtol=1e-4, atol=1e-6, err_msg=k)


# --- program 2: a classifier with the less common activations --------------------------------
def activation_mlp_program(torch, weights=None, steps=5):
    nn, F = torch.nn, torch.nn.functional
    model = nn.Sequential(
        nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 16), nn.SiLU(), nn.Linear(16, 16),
        nn.ELU(alpha=0.5), nn.Linear(16, 16), nn.PReLU(16), nn.Linear(16, 16),
        nn.Softplus(beta=2.0), nn.Linear(16, 16), nn.Hardswish(), nn.Linear(16, 4),
    )
    if weights is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    rng = np.random.default_rng(5)
    x = F.normalize(torch.tensor(rng.standard_normal((32, 6)), dtype=torch.float32), dim=1)
    y = torch.tensor(rng.integers(0, 4, 32))
    target = F.one_hot(y, num_classes=4).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) + 0.1 * F.mse_loss(out.softmax(dim=1), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    correct = model(x).argmax(1).eq(y).sum().item()
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, correct, state


def test_activation_mlp_trains():
    losses, correct, state = activation_mlp_program(tinygrad_mom, steps=30)
    assert losses[-1] < losses[0] and 0 <= correct <= 32 and state["7.weight"].shape == (16,)


@needs_torch
def test_activation_mlp_matches_pytorch_from_the_same_weights():
    _, _, start = activation_mlp_program(tinygrad_mom, steps=0)
    ours, ours_correct, _ = activation_mlp_program(tinygrad_mom, start)
    theirs, theirs_correct, _ = activation_mlp_program(real_torch, start)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert ours_correct == theirs_correct


# --- program 3: a Dataset of PIL images through torchvision-style transforms ----------------
def test_pil_image_dataset_with_transforms_trains_a_small_cnn():
    Image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    torch = tinygrad_mom
    nn, F = torch.nn, torch.nn.functional
    from tinygrad_mom.utils.data import DataLoader, Dataset, transforms

    class Shapes(Dataset):
        """Bright squares on the left (class 0) or on the right (class 1), as RGB images."""

        def __init__(self, n, transform=None, target_transform=None):
            rng = np.random.default_rng(1)
            self.labels = rng.integers(0, 2, n)
            self.images = rng.integers(0, 60, (n, 12, 12, 3)).astype(np.uint8)
            for img, label in zip(self.images, self.labels):
                img[3:9, (1 if label == 0 else 7):(5 if label == 0 else 11)] = 250
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            img, target = Image.fromarray(self.images[i]), int(self.labels[i])
            if self.transform is not None:
                img = self.transform(img)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return img, target

    transform = transforms.Compose([
        transforms.Pad(1, padding_mode="edge"), transforms.RandomCrop(12), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        transforms.Lambda(lambda t: t.float()),
    ])
    loader = DataLoader(Shapes(64, transform), batch_size=16, shuffle=True)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6(), nn.Dropout2d(0.1),
        nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.Mish(), nn.AdaptiveAvgPool2d((1, 2)),
        nn.Flatten(), nn.Linear(16, 2),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    first = last = None
    for _ in range(6):
        model.train()
        for images, labels in loader:
            assert images.shape[1:] == (3, 12, 12) and images.dtype == torch.float32
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            first = loss.item() if first is None else first
            last = loss.item()
    model.eval()
    with torch.no_grad():
        correct = sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)
    assert last < first and correct >= 40
    # the label transform of a torchvision tutorial: one-hot targets through Lambda
    one_hot = transforms.Lambda(lambda y: torch.zeros(2).scatter_(0, torch.tensor(y), value=1))
    _, target = Shapes(4, transform, one_hot)[0]
    assert target.tolist() in ([1.0, 0.0], [0.0, 1.0])


# --- program 4: an LSTM classifier with Dropout2d on its last output (2-D, as PyTorch warns) --
def test_lstm_classifier_with_dropout2d_on_a_2d_output():
    torch = tinygrad_mom
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(input_size=6, hidden_size=10, batch_first=True)
            self.norm = nn.BatchNorm1d(10)
            self.drop = nn.Dropout2d(0.25)
            self.fc = nn.Linear(10, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return F.log_softmax(self.fc(self.drop(self.norm(out[:, -1, :]))), dim=1)

    torch.manual_seed(2)
    model = Net()
    x, y = torch.randn(8, 5, 6), torch.randint(0, 3, (8,))
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        for _ in range(3):
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
    assert math.isfinite(loss.item())
