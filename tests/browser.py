"""Debian's Chromium driven by Playwright for Python: shared by every end-to-end suite.

One sync Playwright per test process: a second ``sync_playwright()`` while the first runs fails
("Sync API inside the asyncio loop"), so the suites share the session fixtures of
``tests/conftest.py`` instead of starting their own.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium"))
# As root in a container, without the network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
