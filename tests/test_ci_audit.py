"""The CI security audit (.ci/audit.py): allowlist matching, the lock check and PyPI's data.

The audit itself runs in .ci/run; these tests prove its decisions without the network.
"""

import importlib.util
import io
import json
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def test_every_declared_dependency_is_locked():
    """pyproject's runtime and dev dependencies are all pinned in requirements.lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = audit.read_lock()
    for spec in declared:
        requirement = Requirement(spec)
        name = audit.canonical(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert audit.canonical(f"{name}-{extra}") in pins


def test_the_allowlist_explains_every_entry():
    code, deps = audit.load_allowlist()
    assert code, "the reviewed code findings are listed"
    for entry in code:
        assert {"test", "file", "line_contains", "reason"} <= set(entry)
        path = ROOT / entry["file"]
        assert entry["line_contains"] in path.read_text(), entry
    for entry in deps:
        assert {"id", "package", "reason"} <= set(entry)


def _finding(test="B105", file="dashboard/config.py", line="SECRET_KEY = 'x'"):
    return audit.CodeFinding(test, file, 6, line, "Possible hardcoded password")


def test_code_findings_need_an_entry_and_entries_need_a_finding():
    entries = [{"test": "B105", "file": "dashboard/config.py", "line_contains": "SECRET_KEY ="}]
    other = _finding(line="PASSWORD = 'x'")
    left, unused = audit.unexplained([_finding(), other], entries, audit._code_entry_matches)
    assert left == [other] and unused == []
    left, unused = audit.unexplained([], entries, audit._code_entry_matches)
    assert left == [] and unused == entries
    moved = _finding(file="dashboard/other.py")
    assert audit.unexplained([moved], entries, audit._code_entry_matches)[0] == [moved]


def test_vulnerabilities_match_by_id_or_alias_of_the_same_package():
    vuln = audit.Vulnerability("jinja2", "3.1.0", "PYSEC-1", ("CVE-2024-1", "GHSA-x"), ("3.1.5",))
    by_alias = {"id": "GHSA-x", "package": "Jinja2"}
    other_package = {"id": "PYSEC-1", "package": "flask"}
    assert audit._dependency_entry_matches(by_alias, vuln)
    assert not audit._dependency_entry_matches(other_package, vuln)
    left, unused = audit.unexplained([vuln], [other_package], audit._dependency_entry_matches)
    assert left == [vuln] and unused == [other_package]


def _pypi(monkeypatch, newest: str, vulnerabilities: list[dict]) -> None:
    body = json.dumps({"info": {"version": newest}, "vulnerabilities": vulnerabilities})
    monkeypatch.setattr(audit.urllib.request, "urlopen", lambda url, timeout: io.StringIO(body))


ADVISORY = {"id": "PYSEC-9", "aliases": ["CVE-9"], "fixed_in": ["2.0"], "withdrawn": None}


def test_the_newest_release_data_is_used_only_for_the_newest_version(monkeypatch):
    _pypi(monkeypatch, "1.0", [ADVISORY, {**ADVISORY, "id": "OLD", "withdrawn": "2024-01-01"}])
    found = audit.newest_release_vulnerabilities("pkg", "1.0")
    assert [(v.id, v.aliases, v.fixed_in) for v in found] == [("PYSEC-9", ("CVE-9",), ("2.0",))]
    _pypi(monkeypatch, "1.1", [])
    assert audit.newest_release_vulnerabilities("pkg", "1.0") is None  # not audited, not clean


@pytest.mark.parametrize(
    ("installed", "problem"),
    [
        ({"flask": "3.1.3", "extra": "1.0"}, "extra==1.0 is installed but not in"),
        ({"flask": "3.1.2"}, "flask: installed 3.1.2, locked 3.1.3"),
        ({}, "flask==3.1.3 is locked but not installed"),
    ],
)
def test_the_lock_must_match_the_virtualenv(monkeypatch, installed, problem):
    class Dist:
        def __init__(self, name: str, version: str) -> None:
            self.metadata, self.version = {"Name": name}, version

    dists = [Dist(n, v) for n, v in {**installed, "pip": "26.0", "dashboard": "0.1"}.items()]
    monkeypatch.setattr(audit.importlib.metadata, "distributions", lambda: dists)
    problems = audit.lock_problems({"flask": "3.1.3"})
    assert len(problems) == 1 and problem in problems[0]
