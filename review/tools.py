"""Where the tools the review runs live: this checkout's Node tools, its Python venv and checkov's own venv.

checkov has a venv of its own (.venv-checkov, requirements-checkov.txt): its pins of boto3, botocore
and others conflict with the project's. A BASE ref is synthesized with these same tools.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True)
class Tools:
    node_bin: Path  # node_modules/.bin: the CDK CLI and Node 22
    python_bin: Path  # the project's venv bin: python3 (synth), cfn-lint, the review itself
    checkov: Path
    cfn_diff_script: Path

    @classmethod
    def default(cls, root: Path = ROOT) -> Tools:
        return cls(node_bin=root / "node_modules" / ".bin", python_bin=Path(sys.executable).parent,
                   checkov=root / ".venv-checkov" / "bin" / "checkov",
                   cfn_diff_script=Path(__file__).resolve().parent / "cfn_diff.js")

    @property
    def cdk(self) -> Path:
        return self.node_bin / "cdk"

    @property
    def node(self) -> Path:
        return self.node_bin / "node"

    @property
    def cfn_lint(self) -> Path:
        return self.python_bin / "cfn-lint"

    def environment(self) -> dict[str, str]:
        """The environment for synth and Node: Node 22 and the venv first on PATH, no telemetry, no colour."""
        path = os.pathsep.join([str(self.node_bin), str(self.python_bin), os.environ.get("PATH", "")])
        return {**os.environ, "PATH": path, "CDK_DISABLE_CLI_TELEMETRY": "true", "FORCE_COLOR": "0",
                "NO_COLOR": "1"}
