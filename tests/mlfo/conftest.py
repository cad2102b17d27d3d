"""Fixtures of the mlfo tests: tiny datasets on disk."""

from __future__ import annotations

import pytest

from tests.mlfo.mlfo_data import Dataset, write_dataset


@pytest.fixture(scope="session")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The tiny regression dataset."""
    return write_dataset(tmp_path_factory.mktemp("regression"), "regression")


@pytest.fixture(scope="session")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The tiny binary classification dataset."""
    return write_dataset(tmp_path_factory.mktemp("binary"), "binary")
