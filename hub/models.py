"""The hub's models live in sub-packages by concept; Django finds them through this module."""

from __future__ import annotations
