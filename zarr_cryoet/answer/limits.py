"""What an answer covers and what it does not: the lines that head ``recommend`` and the README's answer.

Everything is read from the results themselves (the data's provenance, the machine's cores, which
modules ran) and from the machine's noise profile (:mod:`zarr_cryoet.asv.noise`: how far a timing
moves between runs of one commit); nothing is typed in.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from zarr_cryoet.answer.recommend import PORTAL, Answer
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.asv import noise


def _data(results: ReportResults, data) -> str:
    volume = results.volume(data)
    recorded = results.provenance(data) or {}
    kind = ("the suite's synthetic phantom (a noisy float32 tomogram with known particles, not your data: "
            "`recommend --source` answers on yours)" if str(data).startswith("phantom") else
            f"{recorded.get('source', data)}")
    size = f"{'×'.join(map(str, volume.shape))} voxels, {volume.nbytes / 1e6:.0f} MB" if volume else "size unrecorded"
    return f"{kind}; {size}"


def covers(results: ReportResults, answers: list[Answer]) -> list[str]:
    """The limits block: data, size, cores, cache, storage, what is not covered, and the precision."""
    if not answers:
        return []
    cores = results.machine_info().get("num_cpu")
    here = f" ({cores} here)" if cores else ""
    first = answers[0]
    sizes = "; ".join(dict.fromkeys(_data(results, a.data) for a in answers))
    how = (f"every core{here}" if first.size == PORTAL else "one core (asv pins the process: the work per chunk)")
    lines = [
        f"**Covers:** {sizes}; read on {how}; zarr {first.zarr_version} (the newest in the run unless --zarr); "
        "warm page cache (the cold-cache line below says what a first read adds); this machine's local disk; "
        "\"object storage\" is moto's S3 API on 127.0.0.1 behind a proxy adding 20 ms per request and a "
        "1 Gbit/s link, and \"over HTTP\" a loopback server adding 20 ms per request.",
        "**Does not cover:** " + ("your tomograms' content and noise (run it on them: `recommend --source`)"
                                  if str(first.data).startswith("phantom") else "your other tomograms (this answer "
                                  "is for this volume; the layouts were written from it to this machine's disk)")
        + "; " + _not_covered(results),
    ]
    spread = run_to_run(results)
    if spread:
        lines.append(spread)
    return lines


def _not_covered(results: ReportResults) -> str:
    """What the run left out: multiscale levels and conversion on a scheduler where those tiers did not run."""
    converted = results.has("conversion")
    parts = [] if results.has("multiscale") else ["multiscale levels (level 0 only)"]
    parts.append("a cluster larger than this machine (the conversion ran on dask.distributed's local workers)"
                 if converted else "dask or other schedulers")
    parts.append("a real network, cloud store or GPU")
    parts.append("writes of every layout at portal size (write times are at 128³"
                 + (", and the conversion's at portal size" if converted else "") + ").")
    return "; ".join(parts)


def run_to_run(results: ReportResults, repository: Path | None = None) -> str | None:
    """One line: what the intervals mean on this machine (its measured bands and their coverage), and how far a
    timing moves between runs of one commit (its noise profile)."""
    from zarr_cryoet.asv.results import intervals_profile

    bands = intervals_profile(results.results_dir, results.machine)
    if bands is None:
        first = (f"**Precision:** no interval of machine {results.machine} is measured (`zarr-cryoet intervals`): "
                 "each time shows the range of its processes and their count, which is what was seen, not where "
                 "another run lands.")
    else:
        measured = bands.notes.get("held_out_coverage")
        first = (f"**Precision:** [a–b] is where {next(iter(bands.bands.values())).coverage:.0%} of other runs of "
                 f"one commit on this machine land"
                 + (f" ({measured * 100:.0f} % of held-out runs hours apart did)" if measured else "")
                 + f", for the {', '.join(bands.modules)} timings; other tiers show the range of their processes "
                 f"(recorded/noise/{results.machine}-intervals.json, docs/measurement.md).")
    path = noise.default_path(results.results_dir, results.machine, repository or Path.cwd())
    if path is None:
        return first
    profile = noise.NoiseProfile.load(path)
    changes = sorted(d for d in (profile.detectable(*key) for key in profile.sigma) if d is not None)
    if not changes:
        return first
    return (f"{first} Between {len(profile.runs)} runs of one commit a timing's alarm threshold is "
            f"{statistics.median(changes) * 100:.0f} % (median; {changes[len(changes) // 10] * 100:.0f}–"
            f"{changes[-(len(changes) // 10) - 1] * 100:.0f} % for 80 % of them; recorded/noise/{path.name}); "
            "between machines wall times move by some 20 %, so compare layouts within one run.")
