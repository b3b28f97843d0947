"""The MCP surface: the server and its tools, tool texts, rendering outcomes as results, and the HTTP app."""
