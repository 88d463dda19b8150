"""CPU time and memory of a process tree, read from /proc (Linux), for benchmarks that run `make local`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcessUsage:
    pid: int
    parent: int
    name: str
    cpu_seconds: float  # user + system, its own (not its children's)
    rss_mb: float


def _read(pid: int) -> tuple[int, ProcessUsage] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    parent = int(fields[1])
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    rss = next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)
    return parent, ProcessUsage(pid, parent, command.strip()[:160], cpu, rss)


def tree(root: int) -> list[ProcessUsage]:
    """The root process and all its descendants that are alive now."""
    found: dict[int, tuple[int, ProcessUsage]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            read = _read(int(entry.name))
            if read:
                found[int(entry.name)] = read
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in found.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return [found[pid][1] for pid in sorted(members) if pid in found]


def peak_rss_mb(pid: int) -> float:
    """The process's own high-water mark of resident memory."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)


def by_role(processes: list[ProcessUsage], root: int) -> dict[str, list[ProcessUsage]]:
    """The local cloud's processes by what they do: its own (API), the AWS process, and the execution
    environments each of them forked (through its zygote)."""
    roles: dict[str, list[ProcessUsage]] = {}
    pids = {p.pid: p for p in processes}

    def role(p: ProcessUsage) -> str:
        if p.pid == root:
            return "local cloud (API)"
        if "local.aws_process" in p.name:
            return "AWS process (moto, pollers)"
        owner = pids.get(p.parent)
        if owner and owner.pid == root:
            return "zygote (API side)"
        if owner and "local.aws_process" in owner.name:
            return "zygote (AWS side)"
        grand = pids.get(owner.parent) if owner else None
        return "API function environments" if grand and grand.pid == root else "consumer environments"

    for p in processes:
        roles.setdefault(role(p), []).append(p)
    return roles
