"""axe-core (from the npm registry, pinned in tests/browser/package-lock.json and installed by
``make test`` into tests/browser/node_modules) injected into a page, and its findings printed
so a person can act on them."""

import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    """The axe-core script; skip without it locally, fail in CI where ``make test`` installs it."""
    if not AXE_JS.exists():
        message = f"{AXE_JS} is missing: run `make test` (npm ci in tests/browser)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text()


def run_axe(page, source: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Inject axe into the page (as a script of the test, so the page's CSP does not apply) and
    return its violations of WCAG 2.x A/AA and best practices."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    return page.evaluate(
        """async () => {
          const result = await window.axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "wcag22aa", "best-practice"]},
            resultTypes: ["violations"],
          });
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary,
                                      html: n.html.slice(0, 200)})),
          }));
        }"""
    )


def blocking(violations: list[dict]) -> list[dict]:
    """The serious and critical violations."""
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(url: str, violations: list[dict]) -> str:
    """One readable block per violation: the rule, what to fix and where."""
    lines = []
    for v in violations:
        lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    at {node['target']}: {node['html']}\n      {summary}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more elements")
    return "\n".join(lines)
