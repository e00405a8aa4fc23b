"""The demo as `make run` leaves it, for tests that start a real server (made once per run: see the
`demo_data` fixture in tests/web/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_of(demo_data: Path, tmp_path: Path) -> Path:
    """A data folder of the test's own, holding the demo tenant already indexed (see the `demo_data`
    fixture): its server starts in seconds, and what the test changes stays in its copy."""
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    return data
