"""The bundled test set is the real MNIST test set, and ``python -m kit.data`` rebuilds it."""

from pathlib import Path

import numpy as np
import pytest

from kit.data import BUNDLED_TEST, main

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "mnist"


@pytest.mark.skipif(
    not (SHARED_MNIST / "MNIST" / "raw").is_dir(), reason="no MNIST IDX files beside the repo"
)
def test_rebuilding_from_the_idx_files_gives_the_shipped_asset(tmp_path, capsys):
    out = tmp_path / "mnist_test.npz"
    assert main(["--data-dir", str(SHARED_MNIST), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    with np.load(out) as rebuilt, np.load(BUNDLED_TEST) as shipped:
        assert rebuilt["images"].shape == (10000, 28, 28) and rebuilt["images"].dtype == np.uint8
        assert np.array_equal(rebuilt["images"], shipped["images"])
        assert np.array_equal(rebuilt["labels"], shipped["labels"])


def test_missing_idx_files_are_a_one_line_error(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: MNIST not found in")
    assert not (tmp_path / "x.npz").exists()
