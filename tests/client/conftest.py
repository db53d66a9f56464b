"""The SDK's tests need no hub and no Django: `spoke_client` is imported from client/."""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT_DIR = str(Path(__file__).resolve().parents[2] / "client")
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)
