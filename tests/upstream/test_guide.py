"""The README's model table is the curated table's, regenerated: the two cannot drift apart."""

from __future__ import annotations

import pytest

from qwen_image_edit_mcp.upstream.curated import CURATED
from qwen_image_edit_mcp.upstream.guide import END, START, rewritten, table
from tooling import REPO


def test_the_readme_holds_the_generated_model_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert rewritten(readme) == readme, "run: python -m qwen_image_edit_mcp.upstream.guide README.md"


def test_the_table_has_a_row_per_curated_model_saying_when_to_choose_it() -> None:
    rows = table().splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == list(CURATED)
    assert all(CURATED[name].summary in row for name, row in zip(CURATED, rows, strict=True))


def test_a_file_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        rewritten(f"no markers here, only {START}")
    assert rewritten(f"a\n{START}\nold\n{END}\nb").startswith(f"a\n{START}\n| `model` |")
