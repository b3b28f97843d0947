"""MCP tasks for edit_image, in both forms: 2025-11-25 (experimental) and the 2026-07-28 tasks extension."""
