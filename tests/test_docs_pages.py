"""The pages under docs/ are checked like the README: examples run, scenario files load, results.md lists every column.

Pages and their blocks are discovered when the tests are collected, so a new
page or a new example is tested without touching this file.
"""

import dataclasses
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

import notifsim
from notifsim.schema import ALL_TABLES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def _blocks(language: str) -> list[tuple[str, int, str]]:
    """(page name, index on the page, code) of every fenced block in ``language`` on every page."""
    out = []
    for page in PAGES:
        for i, code in enumerate(re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), flags=re.S | re.M)):
            out.append((page.name, i, code))
    return out


PYTHON = _blocks("python")
TOML = _blocks("toml")


def _section(text: str, sql_name: str) -> str:
    """The text under the heading that names the table (`` `sql_name` ``), up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) [^\n]*`{re.escape(sql_name)}`[^\n]*$", text, flags=re.M)
    assert match, f"docs/results.md has no heading naming `{sql_name}`"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


@pytest.mark.parametrize("table", [t.sql_name for t in ALL_TABLES])
def test_results_page_lists_every_column(table):
    declared = next(t for t in ALL_TABLES if t.sql_name == table)
    section = _section((DOCS / "results.md").read_text(), table)
    missing = [name for name in declared.names if f"`{name}`" not in section]
    assert not missing, f"docs/results.md, section `{table}`: columns not described: {missing}"


@pytest.mark.parametrize("page,index,code", PYTHON, ids=[f"{page}-{i}" for page, i, _ in PYTHON])
def test_page_python_example_runs(page, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    exec(compile(code, f"docs/{page} block {index}", "exec"), {})


def _is_policy_file(data: dict) -> bool:
    """A TOML block whose keys are all ``Policy`` fields (or ``preset``) is a policy file, not a scenario."""
    fields = {f.name for f in dataclasses.fields(notifsim.Policy)} | {"preset"}
    return bool(data) and set(data) <= fields


def _is_experiment_file(data: dict) -> bool:
    """A TOML block with ``replications`` and ``policies`` is an experiment file (docs/experiments.md)."""
    return "replications" in data and "policies" in data


@pytest.mark.parametrize("page,index,code", TOML, ids=[f"{page}-{i}" for page, i, _ in TOML])
def test_page_toml_block_loads_and_runs(page, index, code, tmp_path):
    if _is_experiment_file(tomllib.loads(code)):  # an experiment: every configuration once, for two hours, in this process
        from notifsim.experiments import experiment_from_dict

        experiment = dataclasses.replace(experiment_from_dict(tomllib.loads(code), base=tmp_path), replications=1, horizon_s=7200.0)
        outcome = experiment.run(tmp_path / "experiment.duckdb", executor=1, progress=False)
        assert not outcome.failures and outcome.written == len(experiment.configs)
        return
    if _is_policy_file(tomllib.loads(code)):  # a policy file: run it on the default scenario
        policy = notifsim.Policy.from_dict(tomllib.loads(code))
        result = notifsim.simulate("default", policy, seed=1, horizon="3d")
        assert result.summary()["created"] > 0
        return
    path = tmp_path / "world.toml"
    path.write_text(code)
    scenario = notifsim.Scenario.from_toml(path)
    result = notifsim.simulate(scenario, "certctl-i005", seed=1, horizon="3d")
    if scenario.workload is not None:
        assert result.summary()["created"] > 0


def _measure_tables():
    """scripts/measure_tables.py as a module (importing it measures nothing)."""
    spec = importlib.util.spec_from_file_location("measure_tables", ROOT / "scripts" / "measure_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measure_script_replaces_only_between_its_markers():
    replace = _measure_tables().replace_measured
    text = "intro\n<!-- measured:speed -->\nold numbers\n<!-- /measured:speed -->\nmiddle\n<!-- measured:presets -->\nkept\n<!-- /measured:presets -->\nend\n"
    out = replace(text, "speed", "new numbers\n")
    assert out == text.replace("old numbers", "new numbers")
    assert replace(out, "speed", "new numbers") == out  # idempotent
    assert replace(text, "other", "x") == text  # no markers of that name: nothing to do


def test_measure_script_rejects_unbalanced_markers():
    replace = _measure_tables().replace_measured
    with pytest.raises(ValueError, match="speed"):
        replace("<!-- measured:speed -->\nno end\n", "speed", "x")
