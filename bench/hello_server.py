"""The baseline for cold start: a bare MCPServer with one tool, started and timed exactly like ours."""

from mcp.server import MCPServer

server = MCPServer("hello")


@server.tool()
def hello(name: str) -> str:
    """Say hello."""
    return f"hello {name}"


if __name__ == "__main__":
    server.run()
