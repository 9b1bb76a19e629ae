"""The package on its own: its wheel declares httpx and pandas as its only dependencies, and its code
imports nothing else (no part of the Langhouse server)."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SOURCES = sorted((PACKAGE_DIR / "langhouse_client").glob("*.py"))


def test_the_wheel_depends_on_httpx_and_pandas_only(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(PACKAGE_DIR)],
        check=True,
        cwd=tmp_path,
        timeout=240,
    )
    [wheel] = tmp_path.glob("langhouse_client-*.whl")
    with zipfile.ZipFile(wheel) as z:
        files = set(z.namelist())
        [metadata_name] = [n for n in files if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(z.read(metadata_name).decode())
    assert metadata["Name"] == "langhouse-client"
    requires = sorted(metadata.get_all("Requires-Dist") or [])
    assert [r.split(">")[0].split("=")[0].strip() for r in requires] == ["httpx", "pandas"], requires
    assert {
        "langhouse_client/__init__.py",
        "langhouse_client/client.py",
        "langhouse_client/py.typed",
    } <= files
    assert not [n for n in files if n.startswith(("app/", "tests/"))]


def test_the_code_imports_only_the_standard_library_httpx_and_pandas() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__", "httpx", "pandas", "langhouse_client"}
    assert SOURCES
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]] if node.level == 0 else []
            else:
                continue
            assert set(roots) <= allowed, f"{path.name}:{node.lineno} imports {roots}"


def test_the_version_matches_the_project_file() -> None:
    import tomllib

    import langhouse_client

    project = tomllib.loads((PACKAGE_DIR / "pyproject.toml").read_text())["project"]
    assert langhouse_client.__version__ == project["version"]
    assert project["dependencies"] == ["httpx>=0.27", "pandas>=2.2"]
