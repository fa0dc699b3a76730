"""How the nightly job decides that something got slower: each timing's threshold, and a second look.

* :func:`thresholds`: the rule of a night. With ``--factor``, asv compare's rules with that factor for
  every timing; otherwise each timing's own threshold from the machine's noise profile
  (:mod:`zarr_cryoet.asv.noise`: ``--noise FILE``, else ``.asv/noise/<machine>.json``, else the one
  recorded in the repository), and where the profile does not have a timing, the suite's comparison rule
  (:mod:`zarr_cryoet.stats.compare`: a rank test of the two results' processes, Benjamini–Hochberg across the
  night, with the machine's measured run-to-run band as the margin where it has an interval profile).
* :func:`confirmable`, :func:`selecting`: the timings flagged as slower are run once more, in a fresh
  set of processes whose results replace the first (as many processes as the baseline had: appending
  would compare a minimum over twice the processes with one over the baseline's, which favours the
  re-run), and judged again; only what is still beyond its threshold raises the alarm. On this VM a
  clean timing lands beyond its threshold when all its processes happened to miss the machine's fast
  state (docs/measurement.md, "The alarm"); a second set of processes rarely misses it again, while a
  real slowdown stays.
"""

from __future__ import annotations

import re
from pathlib import Path

from zarr_cryoet.stats.compare import ALPHA
from zarr_cryoet.asv import noise
from zarr_cryoet.tracking import regressions


def confirmable(changes) -> list:
    """The timings flagged as regressions that a second run can confirm or clear (not failures)."""
    return [c for c in changes if c.kind == regressions.REGRESSED and ".time_" in c.name
            and c.after is not None and c.after.value is not None]


def selecting(changes) -> list[str]:
    """asv --bench arguments that select exactly the given timings (benchmark name with parameters)."""
    return bench_arguments(c.name for c in changes)


def bench_arguments(names) -> list[str]:
    """asv --bench arguments that select exactly these benchmarks (names with parameters)."""
    return [a for name in sorted(set(names)) for a in ("--bench", f"^{re.escape(name)}$")]


def thresholds(factor: float | None, profile_path: Path | None, results_dir: Path, machine: str,
               repository: Path, notes: list[str]) -> tuple[regressions.Thresholds, str]:
    """The thresholds tonight's comparison uses, and the rule in words for the report (notes: what the reader
    should know, e.g. the timings too noisy to alarm on)."""
    if factor is not None:
        return regressions.Thresholds(factor=factor), \
            f"asv compare rules: factor {factor:g}, statistically significant changes only"
    path = profile_path or noise.default_path(results_dir, machine, repository)
    if path is None:
        notes.append(f"No noise profile for machine {machine}: each timing is judged by the rank test of its two "
                     "results' processes (timings of 3 processes or fewer a side are never called different); "
                     "measure one with zarr-cryoet stability --save (docs/nightly.md).")
        return regressions.Thresholds(), ("each timing by the rank test of its two results' processes (exact "
                                          "Mann–Whitney over the per-process minima, Benjamini–Hochberg across the "
                                          f"night at q < {ALPHA:g}, the machine's run-to-run band as the margin "
                                          "where measured); flagged timings run again to confirm; instruction "
                                          f"counts beyond {regressions.INSTRUCTIONS_CHANGE:.1%}")
    profile = noise.NoiseProfile.load(path)
    useless = profile.useless()
    if useless:
        notes.append(f"{len(useless)} timings are too noisy here to alarm on (they cannot detect a change below "
                     f"{noise.USELESS:.0%}): " + ", ".join(f"`{name}` ({env})" for env, name in useless[:10])
                     + (" …" if len(useless) > 10 else "") + ".")
    return regressions.Thresholds(noise=profile), (
        f"each timing against the smallest change it can detect, and each family of timings against its "
        f"common shift, from the noise profile {path} ({len(profile.runs)} runs of {profile.commit[:8]}; the "
        f"timings it lacks by the rank test of their processes); flagged timings run again to confirm; "
        f"instruction counts beyond {regressions.INSTRUCTIONS_CHANGE:.1%}")
