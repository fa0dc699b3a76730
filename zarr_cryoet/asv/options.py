"""The command-line options that name an asv run, each defined once: ``--results``, ``--machine``, ``--commit``,
``--config`` and ``--cpu``. Every parser of the package (``cli``, the README's generated commands, the tracking jobs) adds
them from here; a command whose defaults differ passes its own ``default`` and ``help``."""

from __future__ import annotations

import argparse
import os

RESULTS_HELP = ("asv results directory (default: .asv/results once it holds results, else the run recorded in this "
                "repository, recorded/results)")
MACHINE_HELP = "asv machine name (default: this host's, as asv run records it; else the one with the newest results)"
COMMIT_HELP = "commit hash or prefix (default: the latest by date)"
#: where asv run writes: the commands that check or restate this machine's runs never fall back to recorded/
LOCAL_RESULTS = os.path.join(".asv", "results")
CONFIG_HELP = "asv config (default: %(default)s)"


def add_results(parser: argparse.ArgumentParser, help: str = RESULTS_HELP, **kwargs) -> None:
    parser.add_argument("--results", help=help, **kwargs)


def add_machine(parser: argparse.ArgumentParser, help: str = MACHINE_HELP, **kwargs) -> None:
    parser.add_argument("--machine", help=help, **kwargs)


def add_commit(parser: argparse.ArgumentParser, help: str = COMMIT_HELP) -> None:
    parser.add_argument("--commit", help=help)


def add_config(parser: argparse.ArgumentParser, help: str = CONFIG_HELP, **kwargs) -> None:
    parser.add_argument("--config", default="asv.conf.json", help=help, **kwargs)


def add_cpu(parser: argparse.ArgumentParser,
            help: str = "core for the benchmarks (default: auto, the last one; none to disable)") -> None:
    """``--cpu``: the core asv pins the benchmarks to (:func:`zarr_cryoet.asv.config.cpu_affinity`)."""
    parser.add_argument("--cpu", default="auto", help=help)


def add_run(parser: argparse.ArgumentParser) -> None:
    """``--results``, ``--machine`` and ``--commit``: which run (``report`` and ``recommend`` alike)."""
    add_results(parser)
    add_machine(parser)
    add_commit(parser)
