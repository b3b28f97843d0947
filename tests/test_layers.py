"""The house rules. Data flows downward only: surface -> jobs -> media -> upstream and wavespeed -> the ground floor
(the package's own modules). A module may import from its own floor or any floor below, never above; the dev wing
(emulator) is outside the building, and `__main__` is the entrance that may reach every floor. WaveSpeed is one
adapter of the `Upstream` seam: only the composition root (`surface/server.py`), the entrance and the dev wing name
it. And every module, the emulator's included, stays small: at most 300 lines, no function longer than 60.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tooling import REPO

FLOORS = {"surface": 4, "jobs": 3, "media": 2, "upstream": 1, "wavespeed": 1}  # anything else is floor 0
OUTSIDE = {"emulator", "__main__"}
ADAPTER = "wavespeed"
# Who may name the adapter besides itself: the composition root builds it; the entrance and the dev wing are outside.
KNOWS_THE_ADAPTER = {"wavespeed", "surface.server", "__main__", "emulator"}


def _floor(parts: list[str]) -> int:
    return FLOORS.get(parts[0], 0) if len(parts) > 1 or parts[0] in FLOORS else 0


def package_imports(package: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(module, target) for every import of the package's own modules, relative or by the package's name, as parts
    of dotted paths inside the package ('jobs.start' -> ['jobs', 'start'])."""
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, parts, package.name):
                yield parts, target


def _targets(node: ast.AST, parts: list[str], name: str) -> list[list[str]]:
    if isinstance(node, ast.Import):
        dotted = [alias.name.split(".") for alias in node.names]
        return [target[1:] for target in dotted if target[0] == name and len(target) > 1]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level == 0:
        module = (node.module or "").split(".")
        if module[0] != name:
            return []
        base = module[1:]
        return [base] if base else [[alias.name] for alias in node.names]
    base = parts[:-1][: len(parts) - node.level]
    return [base + node.module.split(".")] if node.module else [[*base, a.name] for a in node.names]


def upward_imports(package: Path) -> list[str]:
    """Every relative import from a floor to a higher one (or into the dev wing), as 'module -> target'."""
    return [
        f"{'.'.join(parts)} -> {'.'.join(target)}"
        for parts, target in package_imports(package)
        if parts[0] not in OUTSIDE and target and (target[0] in OUTSIDE or _floor(target) > _floor(parts))
    ]


def adapter_imports(package: Path) -> list[str]:
    """Every import of the WaveSpeed adapter from a module that should know only the `Upstream` seam."""
    return [
        f"{'.'.join(parts)} -> {'.'.join(target)}"
        for parts, target in package_imports(package)
        if target[:1] == [ADAPTER] and not _knows_the_adapter(".".join(parts))
    ]


def _knows_the_adapter(module: str) -> bool:
    return any(module == known or module.startswith(f"{known}.") for known in KNOWS_THE_ADAPTER)


def test_no_module_imports_from_a_floor_above_its_own() -> None:
    assert upward_imports(REPO / "server" / "qwen_image_edit_mcp") == []


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "config.py").write_text("from .media.saving import save_output\n")
    (tmp_path / "media" / "saving.py").write_text("from ..jobs import edit\nfrom . import previews\n")
    assert upward_imports(tmp_path) == ["config -> media.saving", "media.saving -> jobs"]


def test_only_the_composition_root_the_entrance_and_the_dev_wing_import_the_wavespeed_adapter() -> None:
    assert adapter_imports(REPO / "server" / "qwen_image_edit_mcp") == []


def test_an_import_of_the_adapter_is_found_relative_or_by_name(tmp_path: Path) -> None:
    package = tmp_path / "qwen_image_edit_mcp"
    for folder in ("jobs", "surface", "wavespeed", "emulator"):
        (package / folder).mkdir(parents=True)
    (package / "jobs" / "waiting.py").write_text("from ..wavespeed.client import WaveSpeedClient\n")
    (package / "jobs" / "listing.py").write_text("from qwen_image_edit_mcp.wavespeed import client\n")
    (package / "jobs" / "read.py").write_text("import qwen_image_edit_mcp.wavespeed.client\n")
    (package / "jobs" / "__init__.py").write_text("from ..wavespeed import endpoints\n")
    (package / "surface" / "server.py").write_text("from ..wavespeed.client import WaveSpeedClient\n")
    (package / "surface" / "tools.py").write_text("from .. import wavespeed\n")
    (package / "wavespeed" / "client.py").write_text("from .endpoints import RESULT_PATH\n")
    (package / "emulator" / "app.py").write_text("from ..wavespeed.endpoints import RESULT_PATH\n")
    assert adapter_imports(package) == [
        "jobs.__init__ -> wavespeed",
        "jobs.listing -> wavespeed",
        "jobs.read -> wavespeed.client",
        "jobs.waiting -> wavespeed.client",
        "surface.tools -> wavespeed",
    ]


def test_every_module_is_at_most_300_lines_and_every_function_at_most_60() -> None:
    package = REPO / "server" / "qwen_image_edit_mcp"
    too_long: list[str] = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = str(path.relative_to(package))
        if len(source.splitlines()) > 300:
            too_long.append(f"{name}: {len(source.splitlines())} lines")
        too_long.extend(
            f"{name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > 60
        )
    assert too_long == []
