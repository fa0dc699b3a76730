"""The nightly report: each new result against its baseline (:mod:`zarr_cryoet.tracking.regressions`), as Markdown.

Regressions come first, instruction counts before wall times (counts do not depend on the machine's speed),
then improvements, machine-state counters that moved (they inform, never alarm), new and changed benchmarks;
each row says how it was judged: its threshold and where it comes from, and its rank test where the two results
have processes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.asv.entries import History, value_text
from zarr_cryoet.tracking.regressions import (IMPROVED, MOVED, NEW, NOT_COMPARABLE, RANK_TEST, REGRESSED, UNCHANGED,
                                              Change, _isnan, is_instruction_count)
from zarr_cryoet.util import markdown


def env_label(env: str, history: History) -> str:
    params = history.env_params.get(env)
    return asv_config.env_label(params) if params else env


def _threshold(change: Change) -> str:
    """How the change was judged: the threshold and its source, and the timing's rank test
    (``rank test: slower (q = 0.004, 5 v 5)``)."""
    test = change.test
    tested = "" if test is None else \
        f"{RANK_TEST}: {test.verdict} ({test.text()}{', beyond the run-to-run band' if test.margin else ''})"
    if change.threshold_source == RANK_TEST and tested:
        return tested
    if change.threshold is None:
        text = change.threshold_source or "–"
    else:
        text = f"+{change.threshold * 100:.0f} % ({change.threshold_source})"
    return f"{text}; {tested}" if tested else text


def render_markdown(changes: list[Change], history: History, *, title: str, rule: str,
                    summary_lines: list[str] = (), notes: list[str] = (), commit_names: dict | None = None,
                    max_rows: int = 50) -> str:
    """The nightly report: regressions (instruction counts first, then wall time), improvements and new
    benchmarks, before → after with how each was judged (its threshold, and its rank test where the two results
    have processes). ``rule`` says in words how changes were judged."""
    commit_names = commit_names or {}
    by_kind = defaultdict(list)
    for change in changes:
        by_kind[change.kind].append(change)
    regressed = by_kind[REGRESSED]
    lines = [f"# {title}", ""]
    verdict = (f"**{len(regressed)} regression{'s' if len(regressed) != 1 else ''}**" if regressed
               else "**No regressions**")
    lines.append(f"{verdict} ({rule}).")
    lines += ["", *summary_lines]

    def short(commit):
        return commit_names.get(commit, commit[:8])

    def table(rows: list[Change]):
        out = markdown.table(["benchmark", "environment", "before", "after", "ratio", "judged by", "compared with"])
        for c in sorted(rows, key=lambda c: -abs(math.log(c.ratio)) if c.ratio > 0 else 0)[:max_rows]:
            base = short(c.baseline_commit) if c.baseline_env == c.env else env_label(c.baseline_env, history)
            ratio = "–" if _isnan(c.ratio) else f"{c.ratio:.2f}×"
            out.append(markdown.row([f"`{c.name}`", f"{env_label(c.env, history)} @ {short(c.commit)}",
                                     value_text(c.before), value_text(c.after), ratio, _threshold(c), base]))
        if len(rows) > max_rows:
            out.append(f"| … and {len(rows) - max_rows} more | | | | | | |")
        return out

    counted = [c for c in regressed if is_instruction_count(c)]
    if counted:  # the first alarm: instruction counts do not depend on the machine's speed
        lines += ["", f"## Regressed instruction counts ({len(counted)}): the first alarm", ""] + table(counted)
    for kind, heading in ((REGRESSED, "Regressed"), (IMPROVED, "Improved")):
        rows = [c for c in by_kind[kind] if not (kind == REGRESSED and is_instruction_count(c))]
        lines += ["", f"## {heading} ({len(rows)})", ""]
        lines += table(rows) if rows else ["None."]
    if by_kind[MOVED]:
        lines += ["", f"## Machine-state counters that moved ({len(by_kind[MOVED])}): they inform, they do not alarm",
                  ""] + table(by_kind[MOVED])
    new = by_kind[NEW]
    lines += ["", f"## New ({len(new)}): no earlier result to compare with", ""]
    if new:
        counts = Counter((c.benchmark, env_label(c.env, history), short(c.commit)) for c in new)
        lines += [f"- `{bench}` × {n} in {env} @ {commit}" for (bench, env, commit), n in sorted(counts.items())]
    else:
        lines.append("None.")
    if by_kind[NOT_COMPARABLE]:
        names = sorted({c.benchmark for c in by_kind[NOT_COMPARABLE]})
        lines += ["", f"## Changed benchmarks, not compared ({len(by_kind[NOT_COMPARABLE])})", "",
                  *[f"- `{n}` (its code changed)" for n in names]]
    lines += ["", f"Unchanged: {len(by_kind[UNCHANGED])} results."]
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"
