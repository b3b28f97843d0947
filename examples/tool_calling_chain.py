"""An LLM tool-calling loop over the MCP tools, for any OpenAI-compatible chat completions API, or offline.

Offline, against the emulator and the scripted stand-in model shipped beside this file (stand_in_model.py):

    qwen-image-edit-mcp emulator --port 8765 &
    WAVESPEED_BASE_URL=http://127.0.0.1:8765 WAVESPEED_API_KEY=anything \\
        python examples/tool_calling_chain.py "Make the sky in https://example.com/street.jpg a sunset"

With a real model: set OPENAI_BASE_URL (and OPENAI_API_KEY, OPENAI_MODEL), e.g.
OPENAI_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=... OPENAI_MODEL=gpt-4o-mini.

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

import stand_in_model  # beside this file

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


class ModelError(Exception):
    """The model endpoint could not be used; the message says why in one line."""


async def chat(http: httpx.AsyncClient, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"model": os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), "messages": messages, "tools": tools}
    try:
        response = await http.post("/chat/completions", json=body)
    except httpx.HTTPError as error:
        raise ModelError(f"cannot reach the model endpoint {http.base_url}: {error or type(error).__name__}") from None
    if response.status_code in (401, 403):
        raise ModelError(f"the model endpoint answered {response.status_code}: check OPENAI_API_KEY")
    if response.is_error:
        raise ModelError(f"the model endpoint answered {response.status_code}: {response.text[:200]}")
    return response.json()["choices"][0]["message"]


def model_client() -> httpx.AsyncClient:
    """The endpoint OPENAI_BASE_URL names, or else the scripted stand-in shipped with this example (offline)."""
    base_url = os.environ.get("OPENAI_BASE_URL", "").strip()
    if not base_url:
        print("model: the scripted stand-in (stand_in_model.py); set OPENAI_BASE_URL to use a real one")
        return httpx.AsyncClient(base_url="http://stand-in.invalid/v1", transport=stand_in_model.transport())
    print(f"model: {os.environ.get('OPENAI_MODEL', 'gpt-4o-mini')} at {base_url}")
    api_key = os.environ.get("OPENAI_API_KEY", "")
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120)


async def run(request: str) -> int:
    env = {
        name: value
        for name, value in os.environ.items()
        if name == "PATH" or name.startswith(("WAVESPEED_", "QWEN_EDIT_"))
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "qwen_image_edit_mcp"], env=env)
    async with model_client() as api, Client(server) as mcp:
        tools = [to_function(tool) for tool in (await mcp.list_tools()).tools if for_the_model(tool)]
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
        for _ in range(MAX_ROUNDS):
            try:
                reply = await chat(api, messages, tools)
            except ModelError as error:
                print(f"tool_calling_chain: {error}", file=sys.stderr)
                return 1
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
