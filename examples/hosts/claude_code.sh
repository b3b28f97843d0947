# Claude Code: add the server for this project (use --scope user to have it everywhere). Paths are absolute, as in
# every host config here: a host may start the server with a bare PATH and `/` as its working directory.

# From a checkout or a wheel (works today), after `python3 -m venv .venv && .venv/bin/pip install .` in the checkout,
# or `.venv/bin/pip install qwen_image_edit_mcp-<version>-py3-none-any.whl` in a folder of your choice:
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key -- /absolute/path/to/qwen-image-edit-mcp/.venv/bin/qwen-image-edit-mcp

# The same, spending at most $5 in any 24 hours and asking before any edit dearer than $0.02:
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key --env QWEN_EDIT_MAX_SPEND_USD=5 --env QWEN_EDIT_CONFIRM_SPEND=above:0.02 -- /absolute/path/to/qwen-image-edit-mcp/.venv/bin/qwen-image-edit-mcp

# A remote server over streamable HTTP (see "Remote deployment" in the README):
claude mcp add --transport http qwen-image-edit https://mcp.example.com/mcp --header "Authorization: Bearer your-token"

# Once a release is published on PyPI (not yet): through uv, with uvx's absolute path (`command -v uvx` prints it):
claude mcp add qwen-image-edit --env WAVESPEED_API_KEY=your-wavespeed-key -- /absolute/path/to/uvx qwen-image-edit-mcp
