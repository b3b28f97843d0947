"""An LLM tool-calling loop over the MCP tools, for any OpenAI-compatible chat completions API.

    OPENAI_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=... OPENAI_MODEL=gpt-4o-mini WAVESPEED_API_KEY=... \\
        python examples/tool_calling_chain.py "Make the sky in https://example.com/street.jpg a sunset"

1. Start the MCP server over stdio and list its tools.
2. Turn each tool into the function-calling format: {"type": "function", "function": {name, description, parameters}}.
3. Ask the model; run every tool call it makes through MCP; hand back the results as "tool" messages; repeat until
   the model answers in words (or a round limit is reached).

Any OpenAI-compatible endpoint works (OpenAI, Azure-style proxies, vLLM, Ollama's /v1, LM Studio...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import CallToolResult, TextContent, Tool

MAX_ROUNDS = 8
SYSTEM = (
    "You edit images for the user with the tools you have. Call edit_image with the image URL and a precise "
    "instruction. If the result is pending, call get_prediction with its prediction_id. Finish by giving the user "
    "the output URL."
)


def to_function(tool: Tool) -> dict[str, Any]:
    """An MCP tool in the function-calling shape OpenAI-compatible chat APIs take."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description or "", "parameters": tool.input_schema},
    }


def for_the_model(tool: Tool) -> bool:
    """False for a tool meant only for an app's view (MCP Apps `_meta.ui.visibility` without "model"): a host keeps
    those away from the model."""
    meta: dict[str, Any] = tool.meta or {}
    ui: dict[str, Any] = meta.get("ui") or {}
    visibility: list[str] | None = ui.get("visibility")
    return visibility is None or "model" in visibility


def as_tool_message(result: CallToolResult) -> str:
    """What the model reads back: the text blocks (summary and structured JSON). Images are left out: tool
    messages in chat completions carry text only, and every output is also there as its URL."""
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    return ("ERROR: " if result.is_error else "") + text


async def chat(http: httpx.AsyncClient, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    response = await http.post(
        "/chat/completions",
        json={"model": os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), "messages": messages, "tools": tools},
    )
    response.raise_for_status()
    return response.json()["choices"][0]["message"]


async def run(request: str) -> int:
    env = {
        name: value
        for name, value in os.environ.items()
        if name == "PATH" or name.startswith(("WAVESPEED_", "QWEN_EDIT_"))
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "qwen_image_edit_mcp"], env=env)
    api = httpx.AsyncClient(
        base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        headers={"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', '')}"},
        timeout=120,
    )
    async with api, Client(server) as mcp:
        tools = [to_function(tool) for tool in (await mcp.list_tools()).tools if for_the_model(tool)]
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
        for _ in range(MAX_ROUNDS):
            reply = await chat(api, messages, tools)
            messages.append(reply)
            calls: list[dict[str, Any]] = reply.get("tool_calls") or []
            if not calls:
                print(f"assistant: {reply.get('content', '')}")
                return 0
            for call in calls:
                function: dict[str, Any] = call["function"]
                name = str(function["name"])
                arguments: dict[str, Any] = json.loads(function.get("arguments") or "{}")
                print(f"tool call: {name}({json.dumps(arguments, ensure_ascii=False)})")
                result = await mcp.call_tool(name, arguments)
                print(f"tool result: {'error' if result.is_error else 'ok'}")
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": as_tool_message(result)})
    print(f"no answer after {MAX_ROUNDS} rounds", file=sys.stderr)
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("request", help="what the user asks for, with the image URL in it")
    raise SystemExit(anyio.run(run, parser.parse_args().request))


if __name__ == "__main__":
    main()
