"""qwen-image-edit-mcp: edit images with Qwen-Image-Edit on WaveSpeedAI from any MCP host."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qwen-image-edit-mcp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
