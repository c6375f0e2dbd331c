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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors: one thread beats two fighting over a busy CPU (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def digit_classifier():
    """The shipped CNN digit classifier (models/classifier/, 98.6% test accuracy, checked in
    tests/test_classifier.py), as a function images -> predicted labels (B,)."""
    from kit.models.classifier import load_classifier

    model = load_classifier()

    def classify(imgs: torch.Tensor) -> torch.Tensor:
        return model.predict(imgs.reshape(-1, 1, 28, 28).float())

    return classify


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """One ``python app.py`` per test session on a free 127.0.0.1 port (see kit/testing/server.py),
    shared by the HTTP-level tests and the browser tests; its Gradio cache is a temp folder."""
    from kit.testing.server import start_app

    tmp = tmp_path_factory.mktemp("live-app")
    env = {"GRADIO_TEMP_DIR": str(tmp / "gradio-cache"), "LATENT_LAB_DATA_DIR": str(tmp / "data")}
    server = start_app(env=env, log_dir=tmp)
    yield server
    server.stop()
