"""``zarr-cryoet nightly``: benchmark what is new, publish the dashboard, and fail on a regression.

One run, meant for cron (see docs/nightly.md) or a scheduled CI workflow:

1. take an exclusive lock (``<state>/nightly.lock``, released by the kernel
   even when the run is killed), so two runs never overlap;
2. restore the results directory from the results branch if it is empty, and
   repair files that a killed run left unreadable (:mod:`zarr_cryoet.asv.history`);
3. write a run configuration: the asv config with absolute paths, an optional
   ``--repo`` override, an environment for the newest zarr release when the
   matrix lacks it (:mod:`zarr_cryoet.tracking.releases`), and without the
   environments whose Python is not installed;
4. ``asv machine --yes`` if the machine is not known yet;
5. ``asv run --skip-existing`` on the commits that need it (the new commits
   on the configured branches, and the newest benchmarked commit again when
   an environment is missing there: a new zarr release, or a run that was
   killed), pinned to one CPU (asv's ``--cpu-affinity``, what ``taskset``
   does) so that timings stay comparable night after night;
6. compare every result that is not in the last committed snapshot with its
   baseline (:mod:`zarr_cryoet.tracking.regressions`, each timing against its own
   threshold: :mod:`zarr_cryoet.tracking.alarm`); run the timings flagged as slower
   once more (a fresh set of processes) and compare again, so an alarm needs two looks;
   on a confirmed alarm, find the first bad commit between the last benchmarked one and tonight's
   and profile it against its parent (:mod:`zarr_cryoet.tracking.bisection`);
7. ``asv publish``; write a Markdown report, and commit the results to the results branch.

Exit status: 0 nothing regressed, 1 something regressed (or now fails),
2 an error (asv or publish failed, bad config), 75 another run holds the lock.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.data.provenance import PROVENANCE_DIR_ENV, provenance_dir
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.tracking import alarm, bisection, night_report, regressions, releases
from zarr_cryoet.asv import config as asv_config, history
from zarr_cryoet.asv.process import asv_command, ensure_machine, run_foreground, run_suite
from zarr_cryoet.asv.entries import load_history
from zarr_cryoet.asv.results import read_asv

EXIT_OK, EXIT_REGRESSION, EXIT_ERROR, EXIT_LOCKED = 0, 1, 2, 75


class NightlyError(ZarrCryoetError):
    """The nightly run could not do its job."""


class NightlyLocked(NightlyError):
    """Another nightly run holds the lock."""

    exit_status = 75  # EX_TEMPFAIL: try again later


@dataclass
class NightlyOptions:
    config: Path = Path("asv.conf.json")
    machine: str | None = None
    repo: str | None = None
    factor: float | None = None  # None: each timing's own threshold (noise profile, else the rank test)
    noise: Path | None = None  # the noise profile (default: noise.default_path)
    cpu: str = "auto"  # "auto" (the last core), "none", or a core number
    results_branch: str | None = None  # None: asv-results/<project>; "": do not commit results
    follow_releases: bool = True
    max_commits: int = 10
    confirm: bool = True  # run flagged timings again before raising the alarm
    bisect: bool = True  # on an alarm, find the first bad commit and profile it (tracking.bisection)
    report: Path | None = None
    publish: bool = True
    asv_args: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[nightly] {message}", flush=True)


@contextmanager
def exclusive_lock(path: Path):
    """Hold ``path`` locked for this process; NightlyLocked if another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            raise NightlyLocked(f"another nightly run is in progress ({holder}; lock {path}); "
                                "this run did nothing - try again after it ends") from None
        os.ftruncate(fd, 0)
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (deleting lock files races)


def _resolve(conf_dir: Path, value: str) -> str:
    return value if os.path.isabs(value) else str((conf_dir / value).resolve())


def load_config(path: Path) -> dict:
    if not path.is_file():
        raise NightlyError(f"asv config {path} not found; pass --config PATH (asv.conf.json or "
                           "asv.upstream.conf.json in this repository)")
    try:
        conf = asv_config.load(path)
        asv_config.environments(conf)  # its matrix must make sense too
    except (OSError, ValueError) as err:
        raise NightlyError(f"asv config {path} is not valid: {err}; fix it (asv allows only whole-line "
                           "// comments)") from None
    return conf


def run_config(options: NightlyOptions, notes: list[str]) -> dict:
    """The asv config this run uses: absolute paths, overrides, newest release, available Pythons."""
    source = options.config.resolve()
    conf_dir = source.parent
    conf = load_config(source)
    if options.repo:
        conf["repo"] = options.repo  # relative to where the command runs
    conf = asv_config.with_absolute_paths(conf, conf_dir, repo_base=Path.cwd() if options.repo else None)
    if not asv_config.is_url(conf["repo"]) and not Path(conf["repo"]).exists():
        raise NightlyError(f"repository {conf['repo']} does not exist; pass --repo PATH_OR_URL")

    if options.follow_releases and "zarr" in conf.get("matrix", {}).get("req", {}):
        python = releases.newest_python(conf)
        try:
            newest = releases.newest_release("zarr", python)
        except releases.ReleaseLookupError as err:
            notes.append(f"Newest zarr release not checked: {err}.")
        else:
            if releases.follow_newest(conf, newest):
                notes.append(f"zarr {newest} is newer than the matrix in {source.name}; benchmarked it in an "
                             f"extra environment (Python {python}). Pin it in {source.name} to keep it.")
            else:
                notes.append(f"The newest zarr release for Python {python} is {newest}; the matrix has it.")

    missing = [p for p in asv_config.pythons(conf) if shutil.which(f"python{p}") is None]
    if missing:
        conf["pythons"] = [p for p in conf.get("pythons", []) if p not in missing]
        conf["include"] = [r for r in conf.get("include", []) if r.get("python") not in missing]
        notes.append(f"Skipped the environments on Python {', '.join(missing)}: no python{missing[0]} on PATH "
                     "(python3 tasks.py nightly provides it).")
        if not conf["pythons"] and not conf["include"]:
            raise NightlyError(f"none of the config's Pythons ({', '.join(missing)}) is on PATH; install one "
                               "or run through python3 tasks.py nightly")
    return conf


def cpu_affinity(choice: str) -> list[str]:
    """asv's --cpu-affinity arguments (:func:`asv_config.cpu_affinity`), a bad choice as a NightlyError."""
    try:
        return asv_config.cpu_affinity(choice)
    except ValueError as err:
        raise NightlyError(str(err)) from None


@dataclass
class Plan:
    commits: list[str]  # to run, newest first
    branch_commits: list[str]  # every commit on the benchmarked branches, newest first
    names: dict[str, str]  # commit -> "abc12345 (tag or subject)"
    reason: str


def plan_commits(conf_path: Path, machine: str, max_commits: int) -> Plan:
    """Which commits asv runs tonight (see the module docstring)."""
    from asv import environment
    from asv.config import Config
    from asv.repo import get_repo

    conf = Config.load(str(conf_path))
    repo = get_repo(conf)
    repo.pull()
    branch_commits = []
    for branch in conf.branches or [None]:
        branch_commits += [c for c in repo.get_branch_commits(branch) if c not in branch_commits]
    if not branch_commits:
        raise NightlyError(f"no commits on branch(es) {conf.branches} of {conf.repo}")
    done: dict[str, set[str]] = {}
    for result in read_asv(conf.results_dir, machine, every_commit=True).results:
        done.setdefault(result.commit_hash, set()).add(result.env_name)
    wanted = {env.name for env in environment.get_environments(conf, None, verbose=False)}
    benchmarked = [i for i, c in enumerate(branch_commits) if c in done]
    if not benchmarked:
        commits, reason = branch_commits[:1], "no results yet for this machine: only the newest commit " \
            "(backfill older ones with asv run RANGE --steps N)"
    else:
        newest = benchmarked[0]
        commits = branch_commits[:newest]
        reason = f"{len(commits)} new commit(s)"
        if wanted - done[branch_commits[newest]]:
            commits.append(branch_commits[newest])
            reason += f"; {', '.join(sorted(wanted - done[branch_commits[newest]]))} missing at " \
                      f"{branch_commits[newest][:8]}"
    if len(commits) > max_commits:
        reason += f"; only the newest {max_commits} of {len(commits)} (--max-commits)"
        commits = commits[:max_commits]
    names = {c: repo.get_decorated_hash(c, 8) for c in commits}
    return Plan(commits, branch_commits, names, reason)


def _snapshot_history(git_repo: Path | None, branch: str | None, results_dir: Path, machine: str):
    """The results as of the last committed snapshot (or, without a branch, as they are now)."""
    tip = history.branch_commit(git_repo, branch) if git_repo is not None and branch else None
    if tip is None:
        return load_history(results_dir, machine)
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-snapshot-") as tmp:
        archive = subprocess.run(["git", "-C", str(git_repo), "archive", "--format=tar", tip],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            # the "data" filter from Python 3.11.4 on (Debian 12's 3.11.2 has none; the archive is our own branch's)
            tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        return load_history(tmp, machine)


def _self_contained(html_dir: Path) -> list[str]:
    """Vendor the dashboard's CDN libraries (see dashboard_assets); a note if that was not possible."""
    from zarr_cryoet.tracking.dashboard_assets import AssetError, make_self_contained

    try:
        make_self_contained(html_dir)
    except AssetError as err:
        return [f"The dashboard still needs internet access for its JavaScript libraries: {err}."]
    return []


def git_toplevel(path: Path) -> Path | None:
    proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def nightly(options: NightlyOptions) -> int:
    started = time.monotonic()
    cpu_affinity(options.cpu)  # reject a bad --cpu before taking the lock
    config = options.config.resolve()
    base = load_config(config)
    results_dir = Path(_resolve(config.parent, base.get("results_dir", "results")))
    state = results_dir.parent / "nightly"
    with exclusive_lock(state / "nightly.lock"):
        return _nightly_locked(options, config, results_dir, state, started)


def _nightly_locked(options, config: Path, results_dir: Path, state: Path, started: float) -> int:
    from asv.machine import Machine

    notes: list[str] = []
    conf = run_config(options, notes)
    machine = options.machine or Machine.get_unique_machine_name()
    git_repo = git_toplevel(config.parent)
    branch = options.results_branch
    if branch is None:
        branch = f"asv-results/{conf.get('project', 'asv')}"
    if git_repo is None and branch:
        notes.append(f"{config.parent} is not a git repository: results are not committed to a branch.")
        branch = ""

    if branch:
        restored = history.restore(git_repo, results_dir, branch)
        if restored:
            notes.append(f"Restored {restored} result files from branch {branch}.")
    for line in history.repair(git_repo, results_dir, branch or None, state / "quarantine"):
        notes.append(line)
        log(line)

    conf_path = state / "asv.conf.json"
    write_atomically(conf_path, json.dumps(conf, indent=2))
    cwd = config.parent
    ensure_machine(conf_path, machine, cwd)
    plan = plan_commits(conf_path, machine, options.max_commits)
    before = _snapshot_history(git_repo, branch, results_dir, machine)
    log(f"machine {machine}; {plan.reason}")

    status = EXIT_OK
    run_seconds = 0.0
    if plan.commits:
        hashfile = state / "commits.txt"
        write_atomically(hashfile, "\n".join(plan.commits) + "\n")
        t0 = time.monotonic()
        selection = [] if "--bench" in options.asv_args else ["--bench", asv_config.NIGHTLY_BENCH]
        os.environ[PROVENANCE_DIR_ENV] = str(provenance_dir(results_dir))  # for the report
        code = run_suite(conf_path, conf, [f"HASHFILE:{hashfile}", "--skip-existing", "--show-stderr",
                                           "--machine", machine, *cpu_affinity(options.cpu), *selection,
                                           *options.asv_args], cwd)
        run_seconds = time.monotonic() - t0
        if code == 2:
            notes.append("asv run reported failing benchmarks (listed above as regressions or new results).")
        elif code != 0:
            notes.append(f"asv run exited with status {code}; see the log.")
            status = EXIT_ERROR

    thresholds, rule = alarm.thresholds(options.factor, options.noise, results_dir, machine, config.parent,
                                        notes)
    order = list(reversed(plan.branch_commits))
    changes = regressions.compare_new(before, load_history(results_dir, machine), order, thresholds)
    suspects = alarm.confirmable(changes)
    if suspects and options.confirm:  # a second look before the alarm: the flagged timings, in more processes
        log(f"{len(suspects)} timing(s) flagged; running them again to confirm")
        t0 = time.monotonic()
        run_suite(conf_path, conf, [f"HASHFILE:{hashfile}", "--show-stderr", "--machine", machine,
                                    *cpu_affinity(options.cpu), *alarm.selecting(suspects)], cwd)
        run_seconds += time.monotonic() - t0
        changes = regressions.compare_new(before, load_history(results_dir, machine), order, thresholds)
        left = [c for c in alarm.confirmable(changes) if (c.env, c.commit, c.name) in
                {(s.env, s.commit, s.name) for s in suspects}]
        notes.append(f"{len(suspects)} timing(s) flagged at first were run again (a fresh set of processes, whose "
                     f"results replace the first): {len(left)} confirmed, {len(suspects) - len(left)} within their "
                     "threshold the second time.")
    regressed = [c for c in changes if c.kind == regressions.REGRESSED]
    culprit_section = ""
    if regressed and options.bisect and status == EXIT_OK:
        t0 = time.monotonic()
        passed = [a for i, a in enumerate(options.asv_args)
                  if a != "--bench" and (i == 0 or options.asv_args[i - 1] != "--bench")]
        culprits, culprit_section = bisection.on_alarm(changes, order, conf_path, conf, machine, cwd, thresholds,
                                                      [*cpu_affinity(options.cpu), *passed], state, log)
        run_seconds += time.monotonic() - t0
        if culprits:
            notes.append(f"Bisection and profiles: {_duration(time.monotonic() - t0)}, "
                         f"{len(culprits)} culprit(s) (below).")
    if options.publish:
        if run_foreground(asv_command(conf_path, "publish"), cwd) != 0:
            notes.append("asv publish failed; the dashboard is out of date.")
            status = EXIT_ERROR
        else:
            notes += _self_contained(Path(conf["html_dir"]))
    after = load_history(results_dir, machine)
    commit_list = ", ".join(plan.names[c] for c in plan.commits) or "none"
    title = f"zarr-cryoet nightly: {config.name}, {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    summary = [f"- Machine `{machine}`; repository `{conf['repo']}`.",
               f"- Benchmarked: {commit_list} ({plan.reason}).",
               f"- Wall time: {_duration(time.monotonic() - started)} in all, {_duration(run_seconds)} in asv run.",
               f"- Dashboard: `{conf['html_dir']}`" + ("" if options.publish else " (not published: --no-publish)")]
    report = night_report.render_markdown(changes, after, title=title, rule=rule, summary_lines=summary,
                                         notes=notes, commit_names=plan.names)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report += ("\n" + culprit_section) if culprit_section else ""
    for path in [state / "reports" / f"{stamp}.md", state / "latest.md", *([options.report] if options.report else [])]:
        write_atomically(path, report)
    print(report, flush=True)

    if branch and results_dir.is_dir():
        message = f"nightly {stamp}: {len(plan.commits)} commit(s), {len(changes)} new results, " \
                  f"{len(regressed)} regressed"
        commit = history.commit_snapshot(git_repo, results_dir, branch, message)
        log(f"results committed to branch {branch} ({commit[:8]})" if commit else "results unchanged")
    log(f"report: {state / 'latest.md'}")
    if regressed and status == EXIT_OK:
        status = EXIT_REGRESSION
    return status


def install_sigterm_handler() -> None:
    """Turn SIGTERM (cron, systemd, CI timeouts) into KeyboardInterrupt so the asv child is stopped too."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
