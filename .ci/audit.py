"""Security audit for CI (run by ``.ci/audit`` inside the project's virtualenv).

1. The lock is what runs: every distribution installed in the virtualenv is pinned in
   ``requirements.lock`` at the installed version, and every pin is installed.
2. ``bandit`` over ``dashboard/`` (inline ``# nosec`` ignored).
3. Known vulnerabilities of every locked version: ``pip-audit`` with PyPI's vulnerability data
   (the default service, reached through PyPI's per-version JSON API). Where that API does not
   answer (some PyPI mirrors and proxies serve only the project-level JSON: then pip-audit skips
   every package with "not found on PyPI" and reports nothing), the project-level JSON is read
   instead: its ``vulnerabilities`` describe the newest release, so they are exact for a locked
   version that is the newest one; other packages are listed as not audited.

Fails (exit 1) on any finding that ``.ci/audit-allowlist.toml`` does not explain, on an
allowlist entry that matches nothing, on a lock that differs from the virtualenv, and when no
package could be audited at all. ``AUDIT_STRICT=1`` also fails on packages not audited.
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
ALLOWLIST = ROOT / ".ci" / "audit-allowlist.toml"
CODE = "dashboard"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
# In the virtualenv but never in the lock: the project itself and the installers.
NOT_LOCKED = {"dashboard", "pip", "setuptools"}


def canonical(name: str) -> str:
    """PEP 503 name: ``Flask_SQLAlchemy`` and ``flask-sqlalchemy`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class CodeFinding:
    test: str
    file: str
    line: int
    line_text: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.test} {self.text}\n    {self.line_text.strip()}"


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]

    def __str__(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fix = ", ".join(self.fixed_in) or "no fixed version"
        return f"{self.package}=={self.version}: {self.id}{aliases}; fixed in {fix}"


def read_lock() -> dict[str, str]:
    """``name==version`` pins of requirements.lock (pip-compile output)."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version.split(";")[0].strip()
    return pins


def lock_problems(pins: dict[str, str]) -> list[str]:
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
    }
    problems = []
    for name, version in sorted(installed.items()):
        if name in NOT_LOCKED:
            continue
        if name not in pins:
            problems.append(f"{name}=={version} is installed but not in requirements.lock")
        elif pins[name] != version:
            problems.append(f"{name}: installed {version}, locked {pins[name]}")
    problems += [
        f"{n}=={v} is locked but not installed" for n, v in pins.items() if n not in installed
    ]
    return problems


def _run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        sys.exit(f"audit: {args[0]} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def bandit_findings() -> list[CodeFinding]:
    report = json.loads(_run("bandit", "-r", CODE, "-f", "json", "-q", "--ignore-nosec"))
    if report["errors"]:
        sys.exit(f"audit: bandit could not read files: {report['errors']}")
    findings = []
    for item in report["results"]:
        path = Path(item["filename"])
        lines = (ROOT / path).read_text().splitlines()
        line = item["line_number"]
        findings.append(
            CodeFinding(item["test_id"], path.as_posix(), line, lines[line - 1], item["issue_text"])
        )
    return findings


def pip_audit(pins: dict[str, str]) -> tuple[list[Vulnerability], list[str]]:
    """Vulnerabilities pip-audit found, and the packages it skipped."""
    report = json.loads(
        _run(
            "pip_audit",
            "--requirement",
            str(LOCK),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        )
    )
    found, skipped = [], []
    for dep in report["dependencies"]:
        name = canonical(dep["name"])
        if "skip_reason" in dep:
            skipped.append(name)
            continue
        found += [
            Vulnerability(
                name, pins[name], v["id"], tuple(v.get("aliases", ())), tuple(v["fix_versions"])
            )
            for v in dep["vulns"]
        ]
    return found, skipped


def newest_release_vulnerabilities(name: str, version: str) -> list[Vulnerability] | None:
    """PyPI's project JSON: exact for ``version`` only when it is the newest release, else None."""
    url = PYPI_JSON.format(name=name)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # a fixed https URL
            project = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        print(f"audit: {url}: {exc}", file=sys.stderr)
        return None
    if project["info"]["version"] != version:
        return None
    return [
        Vulnerability(name, version, v["id"], tuple(v.get("aliases") or ()), tuple(v["fixed_in"]))
        for v in project.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]


def load_allowlist() -> tuple[list[dict], list[dict]]:
    data = tomllib.loads(ALLOWLIST.read_text())
    code, deps = data.get("code", []), data.get("dependency", [])
    for entry in code + deps:
        if not str(entry.get("reason", "")).strip():
            sys.exit(f"audit: allowlist entry without a reason: {entry}")
    return code, deps


def _code_entry_matches(entry: dict, finding: CodeFinding) -> bool:
    return (
        entry["test"] == finding.test
        and entry["file"] == finding.file
        and entry["line_contains"] in finding.line_text
    )


def _dependency_entry_matches(entry: dict, vuln: Vulnerability) -> bool:
    return canonical(entry["package"]) == vuln.package and entry["id"] in (vuln.id, *vuln.aliases)


def unexplained(findings: list, entries: list[dict], matches) -> tuple[list, list[dict]]:  # type: ignore[no-untyped-def]
    """Findings no entry explains, and entries that explain no finding."""
    left = [f for f in findings if not any(matches(e, f) for e in entries)]
    unused = [e for e in entries if not any(matches(e, f) for f in findings)]
    return left, unused


def _section(title: str, lines: list) -> None:  # type: ignore[type-arg]
    if lines:
        print(f"\n{title}:")
        for line in lines:
            print(f"  {line}")


def main() -> int:
    pins = read_lock()
    code_entries, dep_entries = load_allowlist()
    failures = 0

    problems = lock_problems(pins)
    _section("requirements.lock does not match the virtualenv (run `make lock`)", problems)
    failures += len(problems)

    code = bandit_findings()
    code_left, code_unused = unexplained(code, code_entries, _code_entry_matches)
    print(f"bandit over {CODE}/: {len(code)} findings, {len(code) - len(code_left)} allowlisted")

    vulns, skipped = pip_audit(pins)
    with ThreadPoolExecutor(max_workers=8) as pool:
        fallback = dict(
            zip(
                skipped,
                pool.map(lambda n: newest_release_vulnerabilities(n, pins[n]), skipped),
                strict=True,
            )
        )
    for found in fallback.values():
        vulns += found or []
    not_audited = sorted(f"{n}=={pins[n]}" for n, found in fallback.items() if found is None)
    audited = len(pins) - len(not_audited)
    by_fallback = len(skipped) - len(not_audited)
    print(
        f"dependencies: {audited} of {len(pins)} locked versions audited "
        f"({audited - by_fallback} by pip-audit, {by_fallback} from the newest release's data); "
        f"{len(vulns)} known vulnerabilities"
    )
    vuln_left, dep_unused = unexplained(vulns, dep_entries, _dependency_entry_matches)

    _section("bandit findings not in .ci/audit-allowlist.toml", code_left)
    _section("known vulnerabilities not in .ci/audit-allowlist.toml", vuln_left)
    _section(
        "allowlist entries that match no finding (delete them)",
        [
            f"{e.get('test') or e.get('id')} {e.get('file') or e.get('package')}"
            for e in code_unused + dep_unused
        ],
    )
    failures += len(code_left) + len(vuln_left) + len(code_unused) + len(dep_unused)
    if not_audited:
        _section(
            "not audited: PyPI's per-version vulnerability data is unreachable from here and "
            "these pins are older than the newest release (upgrade with `make lock "
            "LOCK_ARGS=--upgrade`, or run where pypi.org answers in full)",
            not_audited,
        )
        if os.environ.get("AUDIT_STRICT") == "1":
            failures += len(not_audited)
    if audited == 0:
        print("\naudit: no locked dependency could be audited")
        failures += 1
    print(f"\naudit: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
