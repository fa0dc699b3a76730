"""asv's results, kept durable: checked before each run and committed to a git branch after it.

asv keeps its results as JSON files in ``results_dir`` (one file per machine,
commit and environment) and rewrites a file in place when it saves, so a run
killed at the wrong moment can leave a truncated file that the next ``asv
run`` or ``asv publish`` cannot read. The nightly job therefore

* **checks** every JSON file before it starts (:func:`repair`): a file that
  does not parse is restored from the results branch, or, if it was never
  committed, moved aside into a quarantine directory (not deleted);
* **restores** a missing or empty results directory from the branch
  (:func:`restore`), e.g. on a fresh clone after
  ``git fetch origin asv-results/zarr-cryoet:asv-results/zarr-cryoet``;
* **commits** the results directory to the branch after each run
  (:func:`commit_snapshot`), with git plumbing and a private index, so the
  checked-out branch, its index and working tree are never touched. Push the
  branch to keep the history somewhere else: ``git push origin asv-results/zarr-cryoet``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically


class HistoryError(ZarrCryoetError):
    """The results branch could not be read or written."""


def _git(repo: Path, *args: str, env: dict | None = None, check: bool = True, text: bool = True):
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=text,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        raise HistoryError(f"git {' '.join(args[:2])} failed in {repo}: {stderr.strip().splitlines()[-1:]}")
    return proc


def branch_commit(repo: Path, branch: str) -> str | None:
    """The commit the results branch points to, or None if there is no such branch."""
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
    return proc.stdout.strip() or None


def _tracked_files(repo: Path, branch: str) -> set[str]:
    if branch_commit(repo, branch) is None:
        return set()
    out = _git(repo, "ls-tree", "-r", "--name-only", f"refs/heads/{branch}").stdout
    return set(out.splitlines())


def _branch_file(repo: Path, branch: str, path: str) -> bytes:
    return _git(repo, "show", f"refs/heads/{branch}:{path}", text=False).stdout


def restore(repo: Path, results_dir: Path, branch: str) -> int:
    """Fill an empty or missing results directory from the branch; the number of files written."""
    if results_dir.is_dir() and any(results_dir.iterdir()):
        return 0
    files = sorted(_tracked_files(repo, branch))
    for name in files:
        write_atomically(results_dir / name, _branch_file(repo, branch, name))
    return len(files)


def repair(repo: Path | None, results_dir: Path, branch: str | None, quarantine: Path) -> list[str]:
    """Make every JSON file in ``results_dir`` readable again; what was done, one line per file."""
    done = []
    if not results_dir.is_dir():
        return done
    tracked = _tracked_files(repo, branch) if repo is not None and branch else set()
    for path in sorted(results_dir.rglob("*.json")):
        try:
            json.loads(path.read_bytes())
            continue
        except (ValueError, UnicodeDecodeError):
            pass
        name = path.relative_to(results_dir).as_posix()
        if name in tracked:
            write_atomically(path, _branch_file(repo, branch, name))
            done.append(f"{name}: unreadable (a run was killed while writing it); restored from branch {branch}")
        else:
            target = quarantine / time.strftime("%Y%m%dT%H%M%S") / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            done.append(f"{name}: unreadable and never committed; moved to {target}")
    return done


def _identity(repo: Path) -> dict:
    """A committer for cron jobs on machines where git has no user configured."""
    if _git(repo, "config", "user.email", check=False).stdout.strip():
        return {}
    name, email = "zarr-cryoet nightly", "zarr-cryoet-nightly@localhost"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


def commit_snapshot(repo: Path, results_dir: Path, branch: str, message: str) -> str | None:
    """Commit the results directory as the new tip of ``branch``; None when nothing changed."""
    parent = branch_commit(repo, branch)
    git_dir = _git(repo, "rev-parse", "--absolute-git-dir").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        base = ["--git-dir", git_dir, "--work-tree", str(results_dir)]
        _git(results_dir, *base, "add", "--all", "--force", ".", env=env)
        tree = _git(results_dir, *base, "write-tree", env=env).stdout.strip()
    if parent is not None and _git(repo, "rev-parse", f"{parent}^{{tree}}").stdout.strip() == tree:
        return None
    commit = _git(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message,
                  env=_identity(repo)).stdout.strip()
    # compare-and-swap: fails rather than losing a commit made by someone else meanwhile
    _git(repo, "update-ref", "-m", "zarr-cryoet nightly", f"refs/heads/{branch}", commit, parent or "")
    return commit
