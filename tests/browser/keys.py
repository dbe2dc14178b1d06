"""Keyboard helpers for browser tests: what has the focus, and Tab until something does."""

ACTIVE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const label = (e.getAttribute("aria-label") || e.labels?.[0]?.textContent || e.textContent || "")
    .replace(/\\s+/g, " ").trim();
  return {tag: e.tagName.toLowerCase(), id: e.id, name: e.name || "", label,
          visible: e.matches(":focus-visible") && style.outlineStyle !== "none"
                   && parseFloat(style.outlineWidth) >= 2};
}"""


def active(page) -> dict | None:  # type: ignore[no-untyped-def]
    """What has the keyboard focus, and whether its focus ring shows."""
    return page.evaluate(ACTIVE)


def tab_to(page, matches, *, limit: int = 80, back: bool = False) -> dict:  # type: ignore[no-untyped-def]
    """Press Tab (or Shift+Tab) until ``matches(focused)``; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = active(page)
        if focused is None:
            continue
        assert focused["visible"], f"no visible focus on {focused}"
        if matches(focused):
            return focused
    raise AssertionError(f"not reachable by keyboard within {limit} presses of Tab")


def named(text: str):  # type: ignore[no-untyped-def]
    return lambda f: f["label"] == text
