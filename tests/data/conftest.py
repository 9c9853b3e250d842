"""Data tests never touch the network, and never read or write the user's cache."""

import pytest

from tinygrad_mom.data import _files


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    def no_network(url, destination):
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr(_files, "_download", no_network)
    monkeypatch.setenv(_files.ENV_VAR, str(tmp_path / "cache"))
