"""Check a rendered page's form controls as a screen reader meets them: each has a label, and an
error shown for it is tied to it (``aria-invalid`` plus ``aria-describedby`` naming the message).
A tiny DOM built with the standard library's HTML parser; no browser needed."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
NOT_FIELDS = {"hidden", "submit", "button", "reset", "image"}
ERROR_CLASSES = {"error", "demo-error"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: "Node | None" = None
    children: list["Node"] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def ancestors(self):  # type: ignore[no-untyped-def]
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def all_text(self) -> str:
        return (self.text + " ".join(c.all_text() for c in self.children)).strip()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.nodes: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        self.nodes.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        for node in [self.current, *self.current.ancestors()]:
            if node.tag == tag:
                self.current = node.parent or self.root
                return

    def handle_data(self, data: str) -> None:
        self.current.text += data


def parse(html: str) -> list[Node]:
    """Every element of the page, in document order."""
    builder = _Builder()
    builder.feed(html)
    return builder.nodes


def _controls(nodes: list[Node]) -> list[Node]:
    return [
        n
        for n in nodes
        if n.tag in ("select", "textarea")
        or (n.tag == "input" and n.attrs.get("type", "text") not in NOT_FIELDS)
    ]


def form_problems(html: str) -> tuple[list[str], int]:
    """What a screen-reader user would miss, and how many fields are marked invalid."""
    nodes = parse(html)
    by_id = {n.attrs["id"]: n for n in nodes if "id" in n.attrs}
    labelled = {n.attrs.get("for") for n in nodes if n.tag == "label"}
    problems: list[str] = []
    invalid = 0
    described: set[str] = set()
    for n in nodes:
        described.update(n.attrs.get("aria-describedby", "").split())
    for control in _controls(nodes):
        name = control.attrs.get("name") or control.attrs.get("id") or control.tag
        has_label = (
            control.attrs.get("id") in labelled
            or any(a.tag == "label" for a in control.ancestors())
            or control.attrs.get("aria-label")
            or control.attrs.get("aria-labelledby")
        )
        if not has_label:
            problems.append(f"{name}: no label")
        if control.attrs.get("aria-invalid") == "true":
            invalid += 1
            ids = control.attrs.get("aria-describedby", "").split()
            messages = [by_id[i] for i in ids if i in by_id and by_id[i].classes & ERROR_CLASSES]
            if not any(m.all_text() for m in messages):
                problems.append(f"{name}: aria-invalid without a described error message")
    for n in nodes:
        error_id = n.attrs.get("id", "")
        if n.classes & ERROR_CLASSES and error_id.endswith("-error") and error_id not in described:
            problems.append(f"error #{error_id} ({n.all_text()!r}) is tied to no field")
    return problems, invalid
