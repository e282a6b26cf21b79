"""
A copy of the project for a test to change as a new user would: a new app, a model,
``makelive``, migrations. Servers run in it through ``LiveStack(project_dir=...)``.
"""

import re
import subprocess
import sys
from pathlib import Path

from .live_server import PROJECT_DIR

# The tutorial the comments app is written from: its model serves the makelive path too.
TUTORIAL = PROJECT_DIR / "docs" / "live-models.md"


def copy_of_the_project(destination: Path) -> Path:
    """The project's tracked files (and any not yet committed), without .venv or caches."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        source = PROJECT_DIR / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return destination


def run_in(project: Path, *command: str, env: dict[str, str]) -> str:
    completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, f"{' '.join(command)}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def tutorial_files(markdown: str) -> dict[str, str]:
    """The whole files a tutorial shows: each ```python block whose first line is ``# <path>``."""
    files = {}
    for block in re.findall(r"```python\n(.*?)```", markdown, re.DOTALL):
        first, _, rest = block.partition("\n")
        if re.fullmatch(r"# [\w/]+\.py", first.strip()):
            files[first.strip()[2:]] = rest
    return files


def project_with_comments_by_hand(destination: Path, env: dict[str, str], markdown: str) -> Path:
    """A copy of the project with ``comments`` made live from a tutorial's whole files, migrated."""
    project = _copy_with_comments_app(destination, env, tutorial_files(markdown))
    _migrate_comments(project, env)
    return project


def project_with_live_comments(destination: Path, env: dict[str, str]) -> Path:
    """A copy of the project with the tutorial's Comment made live by ``makelive``, migrated on ``env``'s database."""
    model = tutorial_files(TUTORIAL.read_text())["comments/models.py"]
    project = _copy_with_comments_app(destination, env, {"comments/models.py": model})
    output = run_in(
        project, sys.executable, "manage.py", "makelive", "comments.Comment", "--owner", "author", "--public",
        "approved=true", env=env,
    )  # fmt: skip
    assert "makemigrations comments" in output and "manager is not live" not in output, output
    _migrate_comments(project, env)
    return project


def _copy_with_comments_app(destination: Path, env: dict[str, str], files: dict[str, str]) -> Path:
    """A copy of the project, ``startapp comments`` in it with ``files`` written, and the app installed."""
    project = copy_of_the_project(destination)
    run_in(project, sys.executable, "manage.py", "startapp", "comments", env=env)
    for path, text in files.items():
        (project / path).write_text(text)
    # The one line of settings Django itself asks for: the app in INSTALLED_APPS.
    settings_file = project / "realtime_site" / "settings.py"
    settings_file.write_text(settings_file.read_text().replace('    "posts",\n', '    "posts",\n    "comments",\n', 1))
    return project


def _migrate_comments(project: Path, env: dict[str, str]) -> None:
    run_in(project, sys.executable, "manage.py", "makemigrations", "comments", env=env)
    run_in(project, sys.executable, "manage.py", "migrate", "--noinput", env=env)
