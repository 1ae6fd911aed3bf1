"""Benchmark: a Claude transcript append → the new context percentage on screen (issue 8).

Setup: ``--sessions`` live ``sleep`` processes (default 10), each with a registry entry shaped
like Claude Code's (``benchlib.registry_entry``) and a transcript
``<tmp>/projects/<encoded cwd>/<sessionId>.jsonl`` that starts with one assistant record. The
monitor is built by the CLI's own ``make_monitor`` (``--sessions-dir`` on the temporary registry;
no tmux, no Zellij) with a configuration whose ``[context_windows]`` table gives the model
``claude-opus-4-8`` a window of 500,000 tokens (through the prefix ``claude-opus-4``), so the
table's wiring is on the measured path. The real app (``make_app``) runs headless in a 160x72
terminal with the columns status, name, activity, ctx.

Each append picks a session and appends one assistant record the way Claude Code does (one
``write`` of a JSON line with ``message.id``, ``requestId``, ``message.usage``) whose context
(input + cache read + cache creation + output tokens) moves that row's CTX to a percentage it did
not show before. The clock starts just before the ``open``; it stops at the first frame Textual
hands to the terminal driver (``App._display``) that, applied to a virtual terminal, shows the
session's row with the new percentage (``status_latency.Probe``). ``cell`` is when the table's
row first holds it.

Then (skip with ``--no-cpu``) the CPU of this process (the app and its monitor; the writer is a
separate process) while every transcript grows at 50 KB/s for ``--grow-s`` seconds (default 20),
after an idle baseline of the same app over the same time.

With ``--streaming`` every transcript also grows at 50 KB/s during the appends (records of a
type the reader skips, so CTX stays), so each append lands in a file read on the streaming
timer (``sessiontui.model.streaming``) rather than through a watcher event.

Run: ``PYTHONPATH=src python benchmarks/transcript_latency.py [--quick] [--appends N]``
``[--sessions N] [--grow-s S] [--no-cpu] [--streaming]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchlib import Cleanup, banner, percentile, registry_entry, verdict, write_like_claude
from sessiontui.cli import make_monitor, parse_args
from sessiontui.config import Config
from sessiontui.model.processes import read_proc_start
from sessiontui.model.transcripts import encode_project_dir
from sessiontui.ui.app import make_app
from status_latency import SIZE, Armed, Probe

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI

MODEL = "claude-opus-4-8"
#: The configured window of :data:`MODEL` (prefix ``claude-opus-4``), tokens.
WINDOW = 500_000
TARGET_P95_MS = 150.0
TIMEOUT_S = 5.0
CPU_TARGET_PERCENT = 2.0
GROWTH_BYTES_PER_S = 50 * 1024
COLUMNS = ("status", "name", "activity", "ctx")


def assistant_line(n: int, context_tokens: int, output_tokens: int = 40) -> bytes:
    """One assistant record as Claude Code writes it (one JSON line, newline-terminated).

    Args:
        n: Makes ``message.id`` / ``requestId`` unique.
        context_tokens: input + cache read + cache creation + output, tokens.
        output_tokens: ``usage.output_tokens``.
    """
    read = context_tokens // 2
    record = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "type": "assistant",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestId": f"req_bench_{n}",
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "message": {
            "id": f"msg_bench_{n}",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "Done."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": context_tokens - read - output_tokens - 100,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": 100,
                "output_tokens": output_tokens,
                "service_tier": "standard",
            },
        },
    }
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


@dataclass
class Agent:
    """A stand-in Claude session: a live process, its registry file and its transcript."""

    pid: int
    proc_start: str
    name: str
    transcript: Path
    percent: int = 10

    @property
    def key(self) -> str:
        """The table row key (``Session.key``)."""
        return f"claude:{self.pid}:{self.proc_start}"


class CtxProbe(Probe):
    """:class:`Probe` whose ``cell`` instant is the row holding the new CTX text."""

    def cell_shows(self, line: str, label: str) -> bool:
        """True when the row's line ends with the new CTX text."""
        return line.rstrip().endswith(label)


def ctx_text(percent: int) -> str:
    """The CTX column's text for ``percent`` (right-aligned in 4 cells), e.g. `` 42%``."""
    return f"{percent}%".rjust(4)


def build_app(directory: Path) -> SessionTUI:
    """The app over the CLI's own monitor, with the benchmark's columns and window table."""
    config = Config(columns=COLUMNS, context_windows={"claude-opus-4": WINDOW})
    args = parse_args(["--sessions-dir", str(directory), "--no-zellij", "-L", "stui-bench-none"])
    monitor = make_monitor(args, config=config, multiplexers=False, names=False)
    return make_app(monitor, config=config)


async def settle(probe: Probe, agents: list[Agent]) -> None:
    """Wait until every row shows its first CTX value.

    Raises:
        TimeoutError: Not within 20 s (the screen is in the message).
    """
    deadline = time.monotonic() + 20.0
    while not all(probe.terminal.shows(a.name, ctx_text(a.percent)) for a in agents):
        if time.monotonic() > deadline:
            raise TimeoutError("the app never showed every CTX:\n" + probe.terminal.text())
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)


async def measure_latency(
    agents: list[Agent],
    directory: Path,
    appends: int,
    warmup: int,
    seed: int,
    *,
    streaming: bool = False,
) -> dict[str, Any]:
    """Append, wait for the frame, repeat; return the figures (ms).

    With ``streaming``, every transcript also grows at 50 KB/s (records the reader skips)
    all along, so each append lands in a file that is read on the streaming timer.
    """
    rng = random.Random(seed)
    app = build_app(directory)
    probe = CtxProbe(app)
    screen_ms: list[float] = []
    cell_ms: list[float] = []
    timeouts = 0
    async with app.run_test(size=SIZE):
        await settle(probe, agents)
        writer = None
        if streaming:
            writer = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WRITER,
                "\n".join(str(a.transcript) for a in agents),
                str(GROWTH_BYTES_PER_S),
                "3600",
                "progress",
                stdout=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)  # every file is streaming by now
        for i in range(warmup + appends):
            agent = rng.choice(agents)
            # A percentage this row has not shown just before: 10 % .. 95 %, stepping.
            agent.percent = 10 + (agent.percent - 10 + rng.randint(1, 84)) % 86
            line = assistant_line(100_000 + i, agent.percent * WINDOW // 100)
            armed = Armed(key=agent.key, name=agent.name, label=ctx_text(agent.percent), t0=0.0)
            probe.armed = armed
            armed.t0 = time.perf_counter()
            with agent.transcript.open("ab") as handle:
                handle.write(line)
            try:
                await asyncio.wait_for(armed.event.wait(), TIMEOUT_S)
            except TimeoutError:
                timeouts += 1
            probe.armed = None
            if i >= warmup:
                screen = armed.t_screen if armed.t_screen is not None else armed.t0 + TIMEOUT_S
                screen_ms.append((screen - armed.t0) * 1000)
                if armed.t_cell is not None:
                    cell_ms.append((armed.t_cell - armed.t0) * 1000)
            await asyncio.sleep(rng.uniform(0.02, 0.06))
        if writer is not None:
            writer.terminate()
            await writer.wait()
    return {"screen": screen_ms, "cell": cell_ms, "timeouts": timeouts}


#: The writer process: every 100 ms, one ~5 KB burst of assistant records to each transcript.
WRITER = textwrap.dedent(
    """
    import json, sys, time
    paths, rate, seconds = sys.argv[1].split("\\n"), int(sys.argv[2]), float(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else "assistant"
    def line(n):
        if kind == "progress":  # a record type the reader skips: the file grows, CTX stays
            rec = {"type": "progress", "uuid": f"p{n}",
                   "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                   "data": {"type": "hook_progress", "output": "y" * 1200}}
            return (json.dumps(rec) + "\\n").encode()
        rec = {"type": "assistant", "isSidechain": False, "requestId": f"req_g{n}",
               "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
               "message": {"id": f"msg_g{n}", "model": "claude-opus-4-8", "role": "assistant",
                           "content": [{"type": "text", "text": "y" * 1100}],
                           "stop_reason": "end_turn",
                           "usage": {"input_tokens": 9000, "output_tokens": 30,
                                     "cache_read_input_tokens": 90000}}}
        return (json.dumps(rec) + "\\n").encode()
    n, start, ticks, done = 0, time.monotonic(), 0, dict.fromkeys(paths, 0)
    while time.monotonic() - start < seconds:
        ticks += 1
        for path in paths:  # whole records, as many as keep each file at `rate` bytes/s
            chunk = b""
            while done[path] + len(chunk) < rate * ticks / 10:
                chunk += line(n)
                n += 1
            with open(path, "ab") as f:
                f.write(chunk)
            done[path] += len(chunk)
        time.sleep(max(0.0, start + ticks * 0.1 - time.monotonic()))
    print(sum(done.values()) / (time.monotonic() - start) / len(paths))
    """
)


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each of this process's threads, by name.

    Names come from :mod:`threading` (``native_id``); threads it does not know are summed as
    ``other``. Read from ``/proc/self/task/<tid>/stat``; threads that end are left out.
    """
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        name = names.get(int(task.name), "other")
        out[name] = out.get(name, 0.0) + used
    return out


async def measure_cpu(agents: list[Agent], directory: Path, seconds: float) -> dict[str, Any]:
    """CPU of this process (% of one core): the app idle, then while the transcripts grow."""
    app = build_app(directory)
    probe = Probe(app)
    async with app.run_test(size=SIZE):
        await settle(probe, agents)
        # From here on only count frames: the probe's virtual terminal would add its own work.
        frames = [0]
        original = probe._orig_display

        def count_frames(screen: Any, renderable: Any) -> None:
            frames[0] += 1
            original(screen, renderable)

        setattr(app, "_display", count_frames)  # noqa: B010
        await asyncio.sleep(1.0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        idle = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
        frames0 = frames[0]
        threads0 = thread_cpu_s()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            "\n".join(str(a.transcript) for a in agents),
            str(GROWTH_BYTES_PER_S),
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await writer.communicate()
        wall = time.perf_counter() - wall0
        growing = (time.process_time() - cpu0) / wall * 100
        threads = {
            name: (used - threads0.get(name, 0.0)) / wall * 100
            for name, used in thread_cpu_s().items()
        }
        rate = float(out.decode().strip() or 0)
    return {
        "idle": idle,
        "growing": growing,
        "rate": rate,
        "frames": float(frames[0] - frames0),
        "threads": threads,
    }


def make_agents(cleanup: Cleanup, root: Path, count: int) -> tuple[Path, list[Agent]]:
    """Start ``count`` sleepers with registry entries and one-record transcripts."""
    directory = root / "sessions"
    directory.mkdir(mode=0o700)
    agents: list[Agent] = []
    for i, proc in enumerate(cleanup.sleepers(count)):
        start = read_proc_start(proc.pid)
        if start is None:
            raise RuntimeError(f"cannot read /proc/{proc.pid}/stat")
        cwd = f"/home/dev/src/tx-{i:02d}"
        session_id = f"00000000-0000-4000-8000-{i:012d}"
        folder = root / "projects" / encode_project_dir(cwd)
        folder.mkdir(parents=True)
        agent = Agent(
            pid=proc.pid,
            proc_start=start,
            name=f"bench-tx{i:02d}",
            transcript=folder / f"{session_id}.jsonl",
        )
        agent.transcript.write_bytes(assistant_line(i, agent.percent * WINDOW // 100))
        entry = registry_entry(
            proc.pid,
            name=agent.name,
            status="idle",
            proc_start=start,
            cwd=cwd,
            session_id=session_id,
            started_at_ms=int(time.time() * 1000) - 60_000,
        )
        write_like_claude(directory / f"{proc.pid}.json", entry)
        agents.append(agent)
    return directory, agents


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20 appends, 5 s of growth")
    parser.add_argument("--appends", type=int, default=None, help="measured appends (100)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--grow-s", type=float, default=None, help="growth seconds (20)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU measurement")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--streaming",
        action="store_true",
        help="measure appends while every transcript also grows at 50 KB/s",
    )
    args = parser.parse_args(argv)
    appends = args.appends or (20 if args.quick else 100)
    warmup = 3 if args.quick else 5
    grow_s = args.grow_s or (5.0 if args.quick else 20.0)
    with Cleanup() as cleanup:
        root = cleanup.tempdir("stui-bench-txlat-")
        directory, agents = make_agents(cleanup, root, args.sessions)
        banner("transcript append → CTX on screen")
        print(
            f"{len(agents)} live sessions (sleep processes, no tmux), temporary registry and "
            f"transcripts, headless app {SIZE[0]}x{SIZE[1]} (columns {', '.join(COLUMNS)}), "
            f"monitor from cli.make_monitor, [context_windows] claude-opus-4 = {WINDOW:,}; "
            "load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        print(
            f"{appends} measured appends (+{warmup} warm-up), one assistant record each "
            "(one write of one JSON line), 20-60 ms apart"
            + (
                "; meanwhile every transcript grows at 50 KB/s (progress records)"
                if args.streaming
                else ""
            )
        )
        print(
            "method: t0 just before the append; 'screen' = the first frame handed to the\n"
            "        terminal driver (App._display) that shows the row with the new CTX\n"
            "        percentage on a virtual terminal; 'cell' = the table row holds it."
        )
        result = asyncio.run(
            measure_latency(agents, directory, appends, warmup, args.seed, streaming=args.streaming)
        )
        screen, cell = result["screen"], result["cell"]
        p95 = percentile(screen, 95)
        print()
        print(f"{'':8}{'p50':>9}{'p95':>9}{'max':>9}   (ms, n={len(screen)})")
        for name, values in (("screen", screen), ("cell", cell)):
            if values:
                print(
                    f"{name:8}{percentile(values, 50):9.1f}{percentile(values, 95):9.1f}"
                    f"{max(values):9.1f}"
                )
        print(f"timeouts (> {TIMEOUT_S:g} s, counted as {TIMEOUT_S:g} s): {result['timeouts']}")
        print(
            f"target: screen p95 <= {TARGET_P95_MS:g} ms ... "
            f"{verdict(p95 <= TARGET_P95_MS)} ({p95:.1f} ms)"
        )
        if args.no_cpu:
            return 0
        banner("CPU while the transcripts grow")
        print(
            f"this process (app + monitor; the writer is another process): {grow_s:g} s idle, "
            f"then {grow_s:g} s while {len(agents)} transcripts grow at "
            f"{GROWTH_BYTES_PER_S // 1024} KB/s each (a burst every 100 ms); load average: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        cpu = asyncio.run(measure_cpu(agents, directory, grow_s))
        print(f"idle: {cpu['idle']:.2f} % of a core")
        print(
            f"growing ({cpu['rate'] / 1024:.1f} KB/s each measured): {cpu['growing']:.2f} % of a "
            f"core; {cpu['frames']:.0f} frames handed to the driver"
        )
        ranked = sorted(cpu["threads"].items(), key=lambda item: -item[1])
        print("  by thread: " + ", ".join(f"{name} {used:.1f} %" for name, used in ranked[:6]))
        print(
            f"target: CPU while growing <= {CPU_TARGET_PERCENT:g} % ... "
            f"{verdict(cpu['growing'] <= CPU_TARGET_PERCENT)} ({cpu['growing']:.2f} %)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
