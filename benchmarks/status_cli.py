"""Benchmark: ``sessiontui status`` wall time per call with 50 live sessions (a status bar's cost).

Setup: 50 live ``sleep`` processes, one Claude-Code-shaped ``<pid>.json`` each (statuses mixed),
in the default registry of a temporary ``HOME`` / ``CLAUDE_CONFIG_DIR``; no config file, no
names file; an empty private tmux socket directory (``status`` asks no tmux server anyway); a
private ``XDG_RUNTIME_DIR``.

Two paths, each call a fresh process as a status bar starts it (``python -m sessiontui status``,
this checkout's code, bytecode cached as an installed package has it):

1. **With a running monitor** (what a user who has the TUI or ``sessiontui --bg`` open gets): a
   child process runs the TUI's monitor and summary publisher (``cli.make_monitor`` +
   ``cli.publish_summary``, the code ``sessiontui`` runs, without Textual) on the same
   environment, so ``status`` renders the published summary (``sessiontui.entry``). Measured:
   wall and CPU time per call, for ``python -m sessiontui`` and for the installed
   ``sessiontui`` console script when there is one next to this Python; the split of one call
   (interpreter start-up, imports, the work); and which heavy modules were loaded (none of
   ``sessiontui.cli``, psutil, dataclasses, typing, pathlib may be).
2. **Without one** (the publisher stopped, its file removed): the full read, as before:

* wall time from spawn to exit, and the process's CPU time (user + system, ``wait4``), over
  many calls: min / p50 / p95 / max; the CPU time per call says what ``status-interval 1`` costs;
* where the time goes, in one fresh process: interpreter start-up (``python -c pass``), the
  imports (``sessiontui.cli`` and what ``status`` imports lazily) and the work (configuration,
  50 registry files, liveness, the Codex scan, the summary); plus the floor no code of ours can
  go below: ``python -c "import argparse, json, pathlib, dataclasses, psutil"``;
* that neither Textual nor libtmux was imported;
* for comparison, ``sessiontui ls --json`` (which also asks every tmux server and reads
  transcripts).

The output of both paths is checked against the expected counts.

Run: ``python benchmarks/status_cli.py [--quick] [--calls N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from benchlib import (
    Cleanup,
    _die_with_parent,
    banner,
    isolated_env,
    percentile,
    registry_entry,
    verdict,
    write_like_claude,
)
from sessiontui.model.processes import read_proc_start

TARGET_MS = 60.0
N_SESSIONS = 50
STATUSES = ("idle", "busy", "waiting", "shell", "idle")

#: Runs in the child: where one ``status`` call spends its time (printed as ms, tab-separated).
CHILD = """
import io, sys, time
t0 = time.perf_counter()
import sessiontui.cli as cli
t1 = time.perf_counter()
import sessiontui.model.monitor, sessiontui.model.codex, sessiontui.model.claude_jobs
import sessiontui.model.registries, sessiontui.model.summary
t2 = time.perf_counter()
out, sys.stdout = sys.stdout, io.TextIOWrapper(io.BytesIO())
code = cli.main(["status"])
t3 = time.perf_counter()
sys.stdout = out
loaded = [m for m in ("textual", "rich", "libtmux", "watchdog") if m in sys.modules]
print(f"{(t1 - t0) * 1000:.2f}\\t{(t2 - t1) * 1000:.2f}\\t{(t3 - t2) * 1000:.2f}\\t{code}\\t"
      + (",".join(loaded) or "-"))
"""


#: Runs in a child: the TUI's monitor and summary publisher until its stdin closes.
PUBLISHER = """
import sys
from sessiontui import cli
args = cli.parse_args(["--no-zellij"])
monitor = cli.make_monitor(args)
publisher = cli.publish_summary(monitor, args)
monitor.refresh()
monitor.start()
print(publisher.path, flush=True)
sys.stdin.read()
monitor.unsubscribe(publisher.on_change)
publisher.close()
monitor.close()
"""

#: Runs in the child: where one fast ``status`` call spends its time (ms, tab-separated).
FAST_HEAVY = "sessiontui.cli, psutil, dataclasses, typing, pathlib, textual, argparse"
FAST_CHILD = """
import sys, time
t0 = time.perf_counter()
import sessiontui.entry as entry
t1 = time.perf_counter()
import sessiontui.model.summary_file
t2 = time.perf_counter()
line = entry.fast_status(["status"])
t3 = time.perf_counter()
heavy = ("sessiontui.cli", "psutil", "dataclasses", "typing", "pathlib", "textual", "argparse")
loaded = [m for m in heavy if m in sys.modules]
print(f"{(t1 - t0) * 1000:.2f}\t{(t2 - t1) * 1000:.2f}\t{(t3 - t2) * 1000:.2f}\t"
      + f"{line is not None}\t" + (",".join(loaded) or "-"))
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Run ``argv`` once: (wall ms, CPU ms of the process, its stdout)."""
    read, write = os.pipe()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=write, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env
    )
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    os.close(read)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv[-3:])} exited with {status}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, b"".join(chunks)


def series(label: str, values: list[float]) -> str:
    return (
        f"  {label:<38} min {min(values):6.1f}  p50 {percentile(values, 50):6.1f}  "
        f"p95 {percentile(values, 95):6.1f}  max {max(values):6.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="15 calls (smoke test)")
    parser.add_argument("--calls", type=int, default=None, help="measured calls (default 60)")
    args = parser.parse_args(argv)
    calls = args.calls or (15 if args.quick else 60)

    with Cleanup() as cleanup:
        root = cleanup.tempdir("stui-bench-status-")
        registry = root / "claude" / "sessions"
        registry.mkdir(parents=True, mode=0o700)
        (root / "run").mkdir(mode=0o700)
        env = isolated_env(
            root, PYTHONPYCACHEPREFIX=str(root / "pyc"), XDG_RUNTIME_DIR=str(root / "run")
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
        for i, proc in enumerate(cleanup.sleepers(N_SESSIONS)):
            start = read_proc_start(proc.pid)
            entry = registry_entry(
                proc.pid,
                name=f"agent-{i:02d}",
                status=STATUSES[i % len(STATUSES)],
                proc_start=start,
            )
            write_like_claude(registry / f"{proc.pid}.json", entry)
        expected = "◆10 ●10 ○20 ◐10"

        status = [sys.executable, "-m", "sessiontui", "status"]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        banner(f"1. sessiontui status with a running monitor publishing, {N_SESSIONS} sessions")
        print(
            f"{calls} calls, one fresh process each (spawn → exit); python {sys.version.split()[0]}"
            f"; {os.cpu_count()} cores; load average at start: {load}"
        )
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
        cleanup.track_pid(publisher.pid)
        assert publisher.stdout is not None
        assert publisher.stdin is not None
        published = Path(publisher.stdout.readline().decode().strip())
        deadline = time.monotonic() + 30
        while not published.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"summary: {published}")
        script = Path(sys.executable).parent / "sessiontui"
        commands = {"python -m sessiontui status": status}
        if script.exists():
            commands["sessiontui status (script)"] = [str(script), "status"]
        fast: dict[str, list[float]] = {}
        for label, argv_ in commands.items():
            for _ in range(3):
                *_, out = timed(argv_, env)
            if out.decode().strip() != expected:
                print(f"unexpected output {out!r} (expected {expected!r})", file=sys.stderr)
                return 1
            walls_, cpus_ = [], []
            for _ in range(calls):
                wall, cpu, _out = timed(argv_, env)
                walls_.append(wall)
                cpus_.append(cpu)
                time.sleep(0.05)
            print(series(f"{label} wall", walls_))
            print(series(f"{label} CPU", cpus_))
            fast[label] = walls_
        parts_fast: list[list[float]] = [[], [], []]
        fast_loaded, used = "-", ""
        for _ in range(15):
            *_, out = timed([sys.executable, "-c", FAST_CHILD], env)
            fields_ = out.decode().split("\t")
            for i in range(3):
                parts_fast[i].append(float(fields_[i]))
            used, fast_loaded = fields_[3], fields_[4].strip()
        py_pass = [timed([sys.executable, "-c", "pass"], env)[0] for _ in range(15)]
        print(f"  interpreter start-up (python -c pass)  {percentile(py_pass, 50):6.1f} ms")
        print(f"  import sessiontui.entry                {percentile(parts_fast[0], 50):6.1f} ms")
        print(f"  its imports (json, re, string, enum)   {percentile(parts_fast[1], 50):6.1f} ms")
        print(f"  the work (read, checks, render)        {percentile(parts_fast[2], 50):6.1f} ms")
        print(f"  summary used: {used}; loaded among {FAST_HEAVY}: {fast_loaded}")
        publisher.stdin.close()  # the monitor stops and removes its summary
        publisher.wait(timeout=30)
        if published.exists():
            print("the publisher left its summary behind", file=sys.stderr)
            return 1

        banner(f"2. sessiontui status without a monitor (full read), {N_SESSIONS} sessions")
        print(
            f"{calls} calls, one fresh process each (spawn → exit); python {sys.version.split()[0]}"
            f"; {os.cpu_count()} cores; load average at start: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        for _ in range(3):  # warm up: bytecode written once, files in the page cache
            *_, out = timed(status, env)
        line = out.decode().strip()
        if line != expected:
            print(f"unexpected output {line!r} (expected {expected!r})", file=sys.stderr)
            return 1
        print(f"output: {line}")
        walls, cpus = [], []
        for _ in range(calls):
            wall, cpu, _out = timed(status, env)
            walls.append(wall)
            cpus.append(cpu)
            time.sleep(0.05)
        print(series("status wall", walls))
        print(series("status CPU (user+sys)", cpus))
        per_s = percentile(cpus, 50) / 10
        print(f"  status-interval 1 costs ~{per_s:.1f} % of one core (p50 CPU per call / 1 s)")

        banner("where one call spends its time (p50 of the runs)")
        py_pass = [timed([sys.executable, "-c", "pass"], env)[0] for _ in range(15)]
        floor_code = "import argparse, json, pathlib, dataclasses, psutil"
        floor = [timed([sys.executable, "-c", floor_code], env)[0] for _ in range(15)]
        parts: list[list[float]] = [[], [], []]
        loaded = "-"
        for _ in range(15):
            *_, out = timed([sys.executable, "-c", CHILD], env)
            fields = out.decode().split("\t")
            for i in range(3):
                parts[i].append(float(fields[i]))
            loaded = fields[4].strip()
        p50 = [percentile(values, 50) for values in parts]
        print(f"  interpreter start-up (python -c pass)  {percentile(py_pass, 50):6.1f} ms")
        print(f"  import sessiontui.cli                  {p50[0]:6.1f} ms")
        print(f"  imports status adds (model, Codex)     {p50[1]:6.1f} ms")
        print(f"  the work (config, 50 files, liveness,  {p50[2]:6.1f} ms")
        print("            Codex scan, summary)")
        print(
            f"  floor: python -c '{floor_code}'  {percentile(floor, 50):6.1f} ms "
            f"(min {min(floor):.1f})"
        )
        print(f"  loaded among textual, rich, libtmux, watchdog: {loaded}")

        banner("for comparison: sessiontui ls --json (asks every tmux server, reads transcripts)")
        ls = [sys.executable, "-m", "sessiontui", "ls", "--json"]
        ls_walls = [timed(ls, env)[0] for _ in range(max(5, calls // 4))]
        print(series("ls --json wall", ls_walls))

    print("\nload average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for label, values in fast.items():
        p50_fast = percentile(values, 50)
        print(
            f"target: {label} with a monitor running <= {TARGET_MS:g} ms per call ... "
            f"{verdict(p50_fast <= TARGET_MS)} (p50 {p50_fast:.1f} ms, p95 "
            f"{percentile(values, 95):.1f} ms)"
        )
    p50_wall = percentile(walls, 50)
    print(
        f"target: status wall without a monitor <= {TARGET_MS:g} ms per call ... "
        f"{verdict(p50_wall <= TARGET_MS)} (p50 {p50_wall:.1f} ms, p95 "
        f"{percentile(walls, 95):.1f} ms)"
    )
    print(f"target: no Textual import ... {verdict('textual' not in loaded)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
