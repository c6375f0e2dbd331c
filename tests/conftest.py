import pytest
import torch

from kit.data import bundled_test_set


@pytest.fixture(scope="session")
def test_digits():
    return bundled_test_set()


@pytest.fixture
def batch(test_digits):
    """Eight real test digits, float (8, 1, 28, 28), with labels."""
    return test_digits.as_float(slice(0, 8)), test_digits.labels[:8]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
