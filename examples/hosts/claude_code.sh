# Claude Code: add the server for this project (use --scope user to have it everywhere).

# From PyPI, through uv:
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key -- uvx qwen-image-edit-mcp

# The same, spending at most $5 in any 24 hours and asking before any edit dearer than $0.02:
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key --env QWEN_EDIT_MAX_SPEND_USD=5 --env QWEN_EDIT_CONFIRM_SPEND=above:0.02 -- uvx qwen-image-edit-mcp

# From a checkout (after `python3 -m venv .venv && .venv/bin/pip install .` in it):
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key -- /absolute/path/to/qwen-image-edit-mcp/.venv/bin/qwen-image-edit-mcp

# A remote server over streamable HTTP (see "Remote deployment" in the README):
claude mcp add --transport http qwen-image-edit https://mcp.example.com/mcp --header "Authorization: Bearer your-token"
