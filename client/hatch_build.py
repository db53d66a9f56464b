"""Build hook: make the wheel self-contained.

In the repository the SDK imports the hub's own protocol code (`hub.core`: states, hashes,
signatures, transitions), so the wallet and the hub cannot disagree about a rule. An installed SDK
must not need the repository, nor claim the top-level name `hub` in someone's environment, so
the wheel carries a copy of `hub/core` as `spoke_client._core` and the SDK's `from hub.core…`
imports are rewritten to it. The ChannelManager ABI is bundled the same way.

Sources: `../hub/core` and `../contracts/build/ChannelManager.json` in a checkout; the sdist keeps
copies under `_bundled/` so a wheel can also be built from the sdist alone. Editable installs
(the repository's own environment) change nothing: there `hub.core` is the hub's package.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# `from hub.core import x` / `from hub.core.state import y`, at any indentation
_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from hub\.core(?P<sub>(?:\.\w+)*) import ", re.MULTILINE)
_ANY_HUB = re.compile(r"^[ \t]*(?:from|import) hub\b", re.MULTILINE)


def _rewrite(source: str, target: Callable[[str], str], name: str) -> str:
    """Point `from hub.core[.sub] import` at `target(".sub")` and refuse any other hub import."""
    out = _IMPORT.sub(lambda m: f"{m['indent']}from {target(m['sub'])} import ", source)
    leftover = _ANY_HUB.search(out)
    if leftover:
        raise RuntimeError(f"{name}: cannot bundle an import of the hub: {leftover.group(0).strip()!r}")
    return out


def _relative(up: str, sub: str) -> str:
    """`hub.core` + `sub` seen from a module `len(up) - 1` packages below hub/core."""
    return up + sub.lstrip(".")


class BundleProtocolCore(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def _sources(self) -> tuple[Path, Path]:
        root = Path(self.root)
        for core, abi in (
            (root.parent / "hub" / "core", root.parent / "contracts" / "build" / "ChannelManager.json"),
            (root / "_bundled" / "hub_core", root / "_bundled" / "ChannelManager.json"),
        ):
            if (core / "__init__.py").is_file() and abi.is_file():
                return core, abi
        raise RuntimeError("hub/core and contracts/build/ChannelManager.json not found: build "
                           "spoke-client from a Spoke checkout (pip install ./client) or its sdist")

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        core, abi = self._sources()
        if self.target_name == "sdist":
            build_data["force_include"][str(core)] = "_bundled/hub_core"
            build_data["force_include"][str(abi)] = "_bundled/ChannelManager.json"
            return
        if self.target_name != "wheel":
            return
        self._tmp = tempfile.mkdtemp(prefix="spoke-client-build-")
        package = Path(self._tmp) / "spoke_client"
        for src in sorted((Path(self.root) / "spoke_client").glob("*.py")):
            package.mkdir(parents=True, exist_ok=True)
            text = _rewrite(src.read_text(), lambda sub: "._core" + sub, src.name)
            (package / src.name).write_text(text)
        for src in sorted(core.rglob("*.py")):
            relative = src.relative_to(core)
            up = "." * len(relative.parts)  # "." in hub/core itself, ".." one package down, ...
            text = _rewrite(src.read_text(), functools.partial(_relative, up), f"hub/core/{relative}")
            out = package / "_core" / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
        artifact = json.loads(abi.read_text())
        (package / "ChannelManager.abi.json").write_text(json.dumps(artifact["abi"], indent=1) + "\n")
        build_data["force_include"][str(package)] = "spoke_client"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
