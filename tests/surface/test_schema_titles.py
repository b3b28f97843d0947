"""The titles pydantic writes on every property are dropped from the published schemas; nothing else is."""

from __future__ import annotations

from qwen_image_edit_mcp.surface.schema_titles import without_titles


def test_generated_titles_go_and_a_property_named_title_stays() -> None:
    schema = {
        "title": "Arguments",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "model_id": {"title": "Model Id", "type": "string", "examples": [{"title": "kept: data, not a keyword"}]},
        },
        "$defs": {"title": {"title": "Nested", "type": "object", "properties": {"a": {"title": "A"}}}},
    }
    assert without_titles(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "model_id": {"type": "string", "examples": [{"title": "kept: data, not a keyword"}]},
        },
        "$defs": {"title": {"type": "object", "properties": {"a": {}}}},
    }
