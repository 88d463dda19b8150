"""Writing a benchmark's result: one JSON file under bench/results/, stamped with when and where it ran."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any


def write_result(path: Path, benchmark: str, command: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Write the figures with the benchmark's name, its command, the date and the machine; return it all."""
    result = {"benchmark": benchmark, "command": command, "date": time.strftime("%Y-%m-%d"),
              "cpus": os.cpu_count(), "python": platform.python_version(), **figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result
