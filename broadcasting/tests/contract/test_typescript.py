"""
`make types` and tsc (typescript/): the channels' TypeScript types come from the AsyncAPI
document, so a serializer change that breaks a front end fails the check, naming the field.
"""

import os
import subprocess
import sys

from testing.project_copy import copy_of_the_project
from testing.typescript import TYPESCRIPT_DIR, require_typescript_tools


def generate_and_check(project) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "realtime_site.test_settings"}
    document = project / "typescript" / "generated" / "asyncapi.json"
    subprocess.run(
        [sys.executable, "manage.py", "asyncapi", "--output", str(document)],
        cwd=project,
        env=env,
        check=True,
        timeout=120,
    )
    typescript = project / "typescript"
    subprocess.run(
        ["node", "generate_types.mjs", str(document), "generated/realtime-site.d.ts"], cwd=typescript, check=True
    )
    tsc = typescript / "node_modules" / ".bin" / "tsc"
    return subprocess.run([str(tsc), "-p", "."], cwd=typescript, capture_output=True, text=True, timeout=120)


def test_the_generated_types_check_and_a_renamed_field_fails_naming_it(tmp_path):
    require_typescript_tools()
    project = copy_of_the_project(tmp_path / "project")
    (project / "typescript" / "node_modules").symlink_to(TYPESCRIPT_DIR / "node_modules")
    checked = generate_and_check(project)
    assert checked.returncode == 0, checked.stdout

    serializer = project / "posts" / "serializers.py"
    text = serializer.read_text()
    assert '"title",' in text
    renamed = text.replace('"title",', '"headline",').replace(
        "class Meta:", 'headline = serializers.CharField(source="title", max_length=200)\n\n    class Meta:', 1
    )
    serializer.write_text(renamed)
    checked = generate_and_check(project)
    assert checked.returncode != 0
    assert "Property 'title' does not exist on type 'Post'" in checked.stdout, checked.stdout
