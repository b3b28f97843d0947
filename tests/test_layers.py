"""The house rules. Data flows downward only: surface -> jobs -> media -> wavespeed -> the ground floor (the
package's own modules). A module may import from its own floor or any floor below, never above; the dev wing
(emulator) is outside the building, and `__main__` is the entrance that may reach every floor. And every module, the
emulator's included, stays small: at most 300 lines, no function longer than 60.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tooling import REPO

FLOORS = {"surface": 4, "jobs": 3, "media": 2, "wavespeed": 1}  # anything else in the package is floor 0
OUTSIDE = {"emulator", "__main__"}


def _floor(parts: list[str]) -> int:
    return FLOORS.get(parts[0], 0) if len(parts) > 1 or parts[0] in FLOORS else 0


def upward_imports(package: Path) -> list[str]:
    """Every relative import from a floor to a higher one (or into the dev wing), as 'module -> target'."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[0] in OUTSIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = parts[:-1][: len(parts) - node.level]
            targets = [base + node.module.split(".")] if node.module else [[*base, a.name] for a in node.names]
            found.extend(
                f"{'.'.join(parts)} -> {'.'.join(target)}"
                for target in targets
                if target and (target[0] in OUTSIDE or _floor(target) > _floor(parts))
            )
    return found


def test_no_module_imports_from_a_floor_above_its_own() -> None:
    assert upward_imports(REPO / "server" / "qwen_image_edit_mcp") == []


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "config.py").write_text("from .media.saving import save_output\n")
    (tmp_path / "media" / "saving.py").write_text("from ..jobs import edit\nfrom . import previews\n")
    assert upward_imports(tmp_path) == ["config -> media.saving", "media.saving -> jobs"]


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
