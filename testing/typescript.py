"""The project's TypeScript tools (typescript/, installed by `make typecheck-js`) for tests to run."""

import subprocess
from pathlib import Path

from testing.live_server import PROJECT_DIR
from testing.services import require

TYPESCRIPT_DIR = PROJECT_DIR / "typescript"


def require_typescript_tools() -> None:
    """Skip (fail under CI) when typescript/node_modules is not installed."""
    require(
        (TYPESCRIPT_DIR / "node_modules" / ".installed").exists(), "typescript/node_modules missing: make typecheck-js"
    )


def node(script: str, *args: str, cwd: Path = TYPESCRIPT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(["node", script, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
