"""The line under the table for an ``s3://`` source read whole: its own store, read in place from its object store.

The table ranks candidate layouts written to this machine's disk from the volume; ``realistic.InPlace`` times the same
use cases on the source's own store where it is (its chunks, its format, its network), through zarr-python over s3fs
on every core. This line sets each of those times beside the table's best for that use case.
"""

from __future__ import annotations

from zarr_cryoet.answer.recommend import PORTAL, SHORT, Answer, choose_env
from zarr_cryoet.asv.families import REALISTIC
from zarr_cryoet.asv.results import ReportResults


def line(results: ReportResults, answers: list[Answer], zarr_version: str | None = None) -> str | None:
    """``Your store as it is ...``, or None where the run did not read the source in place."""
    mine = [a for a in answers if a.size == PORTAL and not a.scaled_to and not a.use_case.varies]
    if not mine or not any(name.startswith("realistic.InPlace.") for name in results.param_names):
        return None
    env = choose_env(results, zarr_version)
    parts = []
    for answer in mine:
        estimates = [results.estimate(env, REALISTIC.in_place(benchmark.rpartition(".")[2]), data=answer.data)
                     for benchmark, _ in answer.use_case.reads_at(PORTAL)]
        if all(estimates):
            seconds = sum(e.value for e in estimates)
            shown = estimates[0] if len(estimates) == 1 else f"{seconds * 1e3:.1f} ms"
            parts.append(f"{SHORT[answer.use_case.key]} {shown} ({seconds / answer.best.seconds:.1f}× the table's "
                         f"best, {answer.best.label} on local disk)")
    if not parts:
        return None
    return (f"Your store as it is, read in place from its object store (zarr-python over s3fs, every core; zarr "
            f"{env.zarr_version}): " + "; ".join(parts) + ".")
