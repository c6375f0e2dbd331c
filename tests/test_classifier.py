"""The shipped digit classifier that the class-mix claims are measured with: safetensors only,
and its accuracy recomputed on the 10k test digits, not read back from metrics.json."""

import json

import pytest
import torch

from kit.classify import main
from kit.models.classifier import CLASSIFIER_DIR, DigitClassifier, load_classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_shipped_classifier_is_at_least_98_percent_accurate(test_digits):
    model = load_classifier()
    correct = model.predict(test_digits.as_float()) == test_digits.labels  # (10000,)
    acc = float(correct.float().mean())
    assert acc >= 0.98
    recorded = json.loads((CLASSIFIER_DIR / "metrics.json").read_text())["test_accuracy"]
    assert acc == pytest.approx(recorded, abs=1e-4)  # the record matches the weights
    per_class = [float(correct[test_digits.labels == c].float().mean()) for c in range(10)]
    assert min(per_class) > 0.95  # no class it cannot see


def test_classifier_loads_without_pickle_and_rejects_a_mismatched_file(tmp_path):
    assert not list(CLASSIFIER_DIR.glob("*.bin")) and not list(CLASSIFIER_DIR.glob("*.pt"))
    wrong = DigitClassifier()
    wrong.fc2 = torch.nn.Linear(128, 5)
    wrong.save(tmp_path, {})
    (tmp_path / "config.json").write_text((CLASSIFIER_DIR / "config.json").read_text())
    with pytest.raises(RuntimeError):
        load_classifier(tmp_path)


def test_loss_is_cross_entropy_and_training_lowers_it(test_digits):
    torch.manual_seed(0)
    model = DigitClassifier()
    x, y = test_digits.as_float(slice(0, 256)), test_digits.labels[:256]
    with torch.no_grad():
        logp = torch.log_softmax(model(x), dim=1)
        loss = float(model.loss(x, y))
    assert loss == pytest.approx(float(-logp[torch.arange(256), y].mean()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = float(model.loss(x, y).detach())
    for _ in range(30):
        opt.zero_grad()
        model.loss(x, y).backward()
        opt.step()
    assert float(model.loss(x, y).detach()) < 0.5 * first


def test_cli_reports_missing_data_with_an_exit_code(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "c")]) == 1
    assert "error: MNIST not found" in capsys.readouterr().err
    assert main(["train", "--epochs", "0"]) == 2
