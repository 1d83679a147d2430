"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    exec(compile(BLOCKS[index], f"README block {index}", "exec"), {})


def test_package_doctest():
    import doctest

    import notifsim

    failures, _ = doctest.testmod(notifsim)
    assert failures == 0


TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(TOML_BLOCKS)))
def test_readme_scenario_file_loads_and_runs(index, tmp_path):
    import notifsim

    path = tmp_path / "world.toml"
    path.write_text(TOML_BLOCKS[index])
    scenario = notifsim.Scenario.from_toml(path)
    result = notifsim.simulate(scenario, "certctl-i005", seed=1, horizon="3d")
    assert result.summary()["created"] > 0
