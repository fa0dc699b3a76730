"""How long the README's two commands took: the records ``tasks.py`` writes, printed for the README.

``python3 tasks.py benchmark`` and ``python3 tasks.py test``, run without arguments, each record their
wall time (set-up included), the commit, whether they started on a fresh clone, the cores and their exit
status in ``.asv/command-times/<task>.json``. A recorded run keeps them in ``recorded/command-times/``;
``zarr-cryoet command-times --dir recorded/command-times`` prints them, and the README shows that output
in a generated block (:mod:`zarr_cryoet.answer.readme`), so its times always name the commit they were
measured at.
"""

from __future__ import annotations

import json
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError

DEFAULT_DIR = Path("recorded", "command-times")
TASKS = ("benchmark", "test")


class CommandTimesError(ZarrCryoetError):
    """No readable record of the commands' times."""


def load(directory=DEFAULT_DIR) -> list[dict]:
    """The records of :data:`TASKS` found in ``directory``, in that order."""
    directory = Path(directory)
    records = []
    for task in TASKS:
        path = directory / f"{task}.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            record["seconds"], record["commit"] = int(record["seconds"]), str(record["commit"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CommandTimesError(f"{path} cannot be read ({err}); run python3 tasks.py {task} again") from None
        records.append(record)
    if not records:
        raise CommandTimesError(f"no command times in {directory}; run python3 tasks.py benchmark (or test) "
                                "without arguments, then copy .asv/command-times there")
    return records


def render(directory=DEFAULT_DIR) -> str:
    """One Markdown line per command: its time, where it started and the commit."""
    lines = []
    for r in load(directory):
        minutes, seconds = divmod(r["seconds"], 60)
        where = "a fresh clone" if r.get("fresh_clone") else "a clone already set up"
        outcome = "" if r.get("status", 0) == 0 else f", exit status {r['status']}"
        lines.append(f"* `{r['command']}`: {minutes} min {seconds:02d} s from {where} of {r['commit'][:8]} "
                     f"({r.get('cores', '?')} cores, {r.get('finished', '')[:10]}{outcome}).")
    return "\n".join(lines) + "\n"
