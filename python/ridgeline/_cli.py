"""The `ridgeline` command of a pip-installed package: runs the C++ CLI shipped inside the package
(ridgeline/bin/ridgeline) with the package's hwdb/ and models/ as its data folder, unless
RIDGELINE_DATA_DIR or --data-dir says otherwise."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    exe = here / "bin" / "ridgeline"
    if not exe.is_file():
        sys.stderr.write(f"ridgeline: error: the CLI is not in this package ({exe} is missing). Fix: reinstall "
                         "with `pip install .` from the source tree (the wheel builds it).\n")
        raise SystemExit(1)
    env = dict(os.environ)
    data = here / "data"
    if not env.get("RIDGELINE_DATA_DIR") and (data / "hwdb").is_dir():
        env["RIDGELINE_DATA_DIR"] = str(data)
    os.execve(str(exe), ["ridgeline", *sys.argv[1:]], env)


if __name__ == "__main__":
    main()
