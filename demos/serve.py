"""Serve the pooling explorer (demos/explorer.ipynb) as a standalone page with Voila.

    .venv/bin/python demos/serve.py            # http://127.0.0.1:8866/
    .venv/bin/python demos/serve.py --port 9000 --token SECRET

Voila runs the notebook top to bottom and shows only its text and widgets, no code.
Needs the `voila` package (in poolkit's `course` extra).  Any further arguments are passed
on to voila unchanged.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent / "explorer.ipynb"


def voila_command(port: int, token: str | None, extra: list[str]) -> list[str]:
    """The voila command line for the explorer (voila from the running interpreter's env)."""
    local = Path(sys.executable).parent / "voila"
    voila = str(local) if local.exists() else shutil.which("voila")
    if voila is None:
        raise SystemExit("voila is not installed: pip install 'poolkit[course]' (or voila)")
    cmd = [voila, str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    if token:
        cmd.append(f"--token={token}")
    return cmd + extra


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--token", default=None, help="require ?token=... in the URL")
    args, extra = parser.parse_known_args(argv)
    cmd = voila_command(args.port, args.token, extra)
    # TensorFlow is quiet only with both set before it is imported by a kernel.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
