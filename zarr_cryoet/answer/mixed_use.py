"""``recommend --use viewer,particles,training``: one layout for several uses at once.

A lab reads the same tomograms with a viewer, for particle picking and for training, and stores them once.
The mixed-use answer is the layout (chunks × zarr format) with the **smallest worst-case cost** over the
chosen use cases, where a layout's cost in a use case is its time ÷ the best layout's time there (1× where it
is the best). Times of different use cases differ by orders of magnitude, so they are compared as these
ratios, never summed. For object storage a layout's time is that of its fastest library. Only layouts
measured in every chosen use case compete. Each cost is written with the answer's comparison of the layout with
the best (:meth:`Answer.versus <zarr_cryoet.answer.recommend.Answer.versus>`): ``~`` where the rule cannot tell
them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from zarr_cryoet.answer.recommend import SHORT, Answer, Ranked
from zarr_cryoet.stats.compare import Comparison, versus_text
from zarr_cryoet.store.stores import layout_label

#: the use cases of ``--use``'s default: a viewer, particle picking, training
DEFAULT_USES = ("xy-viewer", "particles", "whole-volume")


@dataclass(frozen=True)
class Cost:
    answer: Answer
    time: Ranked  # the layout's time in this use case

    @property
    def ratio(self) -> float:
        return self.time.seconds / self.answer.best.seconds

    @property
    def comparison(self) -> Comparison | None:
        """The layout against the use case's best by the answer's comparison rule (None for the best itself)."""
        return None if self.time is self.answer.best else self.answer.versus(self.time)


@dataclass(frozen=True)
class MixedUse:
    chunks: str
    zarr_format: int
    costs: tuple[Cost, ...]

    @property
    def worst(self) -> float:
        return max(c.ratio for c in self.costs)

    @property
    def label(self) -> str:
        return f"{layout_label(self.chunks, self.zarr_format)}"


def _by_layout(answer: Answer) -> dict:
    """Each layout's fastest time in ``answer`` (over the libraries, for object storage)."""
    out = {}
    for r in answer.ranked:  # fastest first
        out.setdefault((r.chunks, r.zarr_format), r)
    return out


def choose(answers: list[Answer], uses=DEFAULT_USES) -> tuple[list[MixedUse], list[str]]:
    """Every layout measured in all of ``uses``, smallest worst-case cost first; and the uses not measured."""
    chosen = [next((a for a in answers if a.use_case.key == key), None) for key in uses]
    missing = [key for key, a in zip(uses, chosen) if a is None]
    chosen = [a for a in chosen if a is not None]
    if not chosen:
        return [], missing
    tables = [_by_layout(a) for a in chosen]
    common = [layout for layout in tables[0] if all(layout in t for t in tables[1:])]
    candidates = [MixedUse(chunks, fmt, tuple(Cost(a, t[(chunks, fmt)]) for a, t in zip(chosen, tables)))
                  for chunks, fmt in common]
    return sorted(candidates, key=lambda m: (m.worst, sum(c.ratio for c in m.costs))), missing


def line(answers: list[Answer], uses=DEFAULT_USES) -> str | None:
    """The mixed-use row: the layout, its worst case, its cost in each use, and the runner-up."""
    ranked, missing = choose(answers, uses)
    if not ranked:
        return None
    best = ranked[0]
    scaled = "≈" if best.costs[0].answer.scaled_to else ""
    parts = [f"{SHORT[c.answer.use_case.key]} {scaled}{c.time} ({_times(c)})" for c in best.costs]
    text = (f"**Mixed use ({', '.join(SHORT[c.answer.use_case.key] for c in best.costs)}): {best.label}**, at most "
            f"{best.worst:.2f}× the best layout of any of them: " + "; ".join(parts))
    if len(ranked) > 1:
        text += f". Next: {ranked[1].label}, at most {ranked[1].worst:.2f}×"
    if missing:
        text += f". Not measured at this size, left out: {', '.join(SHORT[key] for key in missing)}"
    return text + "."


def _times(cost: Cost) -> str:
    if cost.time is cost.answer.best:
        return "the best"
    return f"{versus_text(cost.comparison)} the best, {cost.answer.best.label}"
