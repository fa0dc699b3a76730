"""Markdown tables, written one way everywhere: ``| a | b |``, then ``|---|---|``, then a line per row."""

from __future__ import annotations

from collections.abc import Iterable


def row(cells: Iterable) -> str:
    """One table line: ``| a | b |`` (each cell as text, as given)."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(header: list, rows: Iterable[Iterable] = ()) -> list[str]:
    """A table's lines: the header, the rule under it and a line per row."""
    return [row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)]
