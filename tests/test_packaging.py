"""The kit is an installable package: what pyproject.toml ships, and a wheel actually built."""

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]


def _kit_files() -> list[Path]:
    return [p for p in (ROOT / "kit").rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_every_data_file_of_the_kit_is_package_data():
    patterns = SETUPTOOLS["package-data"]["kit"]
    data = [p.relative_to(ROOT / "kit").as_posix() for p in _kit_files() if p.suffix != ".py"]
    assert "assets/mnist_test.npz" in data
    unshipped = [d for d in data if not any(fnmatch(d, pat) for pat in patterns)]
    assert unshipped == [], f"add these to [tool.setuptools.package-data]: {unshipped}"


def test_every_folder_of_python_code_is_a_package():
    """setuptools' find only ships folders with an __init__.py; a new one without it is lost."""
    folders = {p.parent for p in _kit_files() if p.suffix == ".py"}
    assert [f for f in folders if not (f / "__init__.py").is_file()] == []


def test_the_dev_requirements_install_the_kit_and_its_dependencies():
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert any(line.split("#")[0].strip() == "-e ." for line in dev)
    assert SETUPTOOLS["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"


def _benchmarks():
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        if script.name == "app_latency.py":  # its --before worker imports another checkout's kit
            continue
        yield pytest.param(script, id=script.name)


@pytest.mark.parametrize("script", list(_benchmarks()))
def test_benchmarks_import_the_installed_kit(script):
    text = script.read_text(encoding="utf-8")
    assert "sys.path" not in text
    # run as `python benchmarks/<script>.py`, the benchmarks folder is not a package: shared
    # helpers live in kit.testing
    assert "from benchmarks" not in text and "import benchmarks" not in text


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("setuptools.command.bdist_wheel") is None,
    reason="setuptools >= 70.1 is not installed here (the wheel is built without network)",
)
def test_the_built_wheel_holds_the_code_and_the_assets(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "kit", src / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [*PIP_WHEEL, str(src), "-w", str(tmp_path / "wheel")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "wheel").glob("latent_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"kit/assets/mnist_test.npz", "kit/assets/README.md"} <= names
    code = {p.relative_to(ROOT).as_posix() for p in _kit_files() if p.suffix == ".py"}
    assert code <= names
    assert not any(n.startswith(("tests/", "benchmarks/", "models/")) for n in names)
