"""The architecture as a Mermaid flowchart (GitHub renders it): one subgraph per service.

Solid edges carry data, dotted ones failures (dead-letter queues); each node's shape says what it is.
Node ids are the readable names (`CustomerNotification_Queue`), so the source reads well too. Text is
escaped with Mermaid's entity codes so that filter policies (`>=`, quotes) survive.
"""

from __future__ import annotations

import re

from review.architecture import Architecture, Node

_SHAPES = (("queue", '[["{}"]]'), ("topic", '{{{{"{}"}}}}'), ("function", '("{}")'), ("table", '[("{}")]'),
           ("API", '(["{}"])'), ("CloudWatch", '>"{}"]'), ("subscriber", '[/"{}"/]'))
_ARROWS = {"flow": "-->", "failure": "-.->", "notify": "-->"}


def _escape(text: str) -> str:
    return text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _identifiers(architecture: Architecture) -> dict[str, str]:
    identifiers: dict[str, str] = {}
    for node in architecture.nodes:
        base = re.sub(r"[^A-Za-z0-9]+", "_", f"{node.group}_{node.name}" if node.group else node.name).strip("_")
        candidate, suffix = base or "node", 2
        while candidate in identifiers.values():
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        identifiers[node.id] = candidate
    return identifiers


def _label(node: Node) -> str:
    details = [node.kind, *node.notes]
    if node.alarms:
        details.append(f"{node.alarms} alarm{'s' if node.alarms != 1 else ''}")
    return f"{_escape(node.name)}<br/>{_escape(' · '.join(details))}"


def render_mermaid(architecture: Architecture) -> str:
    ids = _identifiers(architecture)

    def node_line(node: Node) -> str:
        shape = next((s for word, s in _SHAPES if word in node.kind), '["{}"]')
        return ids[node.id] + shape.format(_label(node))

    lines = ["flowchart LR"]
    for group in architecture.groups:
        lines.append(f'  subgraph group_{re.sub(r"[^A-Za-z0-9]+", "_", group)}["{_escape(group)}"]')
        lines += [f"    {node_line(n)}" for n in architecture.nodes if n.group == group]
        lines.append("  end")
    lines += [f"  {node_line(n)}" for n in architecture.nodes if n.group is None]
    for edge in architecture.edges:
        label = f'|"{_escape(edge.label)}"|' if edge.label else ""
        lines.append(f"  {ids[edge.source]} {_ARROWS.get(edge.style, '-->')}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"
