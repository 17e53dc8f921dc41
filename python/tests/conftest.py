"""Shared fixtures: the package's database, and the CLI binary of the same build (ctest passes its
path as RIDGELINE_CLI, as tests/python_tests.sh does for every Python test)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import ridgeline as rl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def db():
    return rl.database()


def cli_path():
    p = Path(os.environ.get("RIDGELINE_CLI", ROOT / "build" / "ridgeline"))
    return p if p.exists() else None


@pytest.fixture(scope="session")
def cli():
    """Runs `ridgeline ARGS --json` and returns the parsed JSON, or (with error=True) the exit code
    and the error message as the CLI prints it. Skips when no CLI binary of this build is around."""
    exe = cli_path()
    if exe is None or os.environ.get("RIDGELINE_COMPARE_CLI", "1") != "1":
        pytest.skip("no CLI binary (set RIDGELINE_CLI; ctest does)")

    def run(*args, error=False):
        r = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=ROOT)
        if error:
            assert r.returncode in (1, 2), (r.returncode, r.stdout, r.stderr)
            first = r.stderr.strip().splitlines()[0]
            return r.returncode, first.removeprefix("ridgeline: error: ")
        assert r.returncode in (0, 3), r.stderr
        return json.loads(r.stdout)

    return run
