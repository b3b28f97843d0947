"""Raw JSON-RPC for the 2026-07-28 tasks extension: requests built from, and answers checked against, the extension's
own JSON Schema (tests/specs/), sent over streamable HTTP as a host would, headers included."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

SCHEMA = json.loads((Path(__file__).parent / "specs" / "tasks-extension.schema.json").read_text())
EXTENSION = "io.modelcontextprotocol/tasks"
VERSION = "2026-07-28"
_ids = itertools.count(1)


def check(definition: str, message: dict[str, Any]) -> dict[str, Any]:
    """`message`, once it validates against the schema's `definition`."""
    validator: Any = Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": SCHEMA["$defs"]})
    validator.validate(message)
    return message


def envelope(*, declare: bool = True) -> dict[str, Any]:
    extensions: dict[str, Any] = {EXTENSION: {}} if declare else {}
    return {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-task-host", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
    }


def request(method: str, params: dict[str, Any], *, declare: bool = True) -> dict[str, Any]:
    with_meta = {**params, "_meta": envelope(declare=declare)}
    return {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": with_meta}


def get_task(task_id: str, *, declare: bool = True) -> dict[str, Any]:
    return check("GetTaskRequest", request("tasks/get", {"taskId": task_id}, declare=declare))


def cancel_task(task_id: str) -> dict[str, Any]:
    return check("CancelTaskRequest", request("tasks/cancel", {"taskId": task_id}))


def update_task(task_id: str) -> dict[str, Any]:
    responses: dict[str, Any] = {"never-asked": {"action": "accept", "content": {}}}
    return check("UpdateTaskRequest", request("tasks/update", {"taskId": task_id, "inputResponses": responses}))


def call_tool(name: str, arguments: dict[str, Any], *, declare: bool = True) -> dict[str, Any]:
    return request("tools/call", {"name": name, "arguments": arguments}, declare=declare)


class RawHost:
    """POSTs one JSON-RPC message at a time to /mcp, with the routing headers the transport asks for."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self._http, self._url = http, f"{url}/mcp"

    async def send(self, message: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
        params = message["params"]
        routed = name if name is not None else params.get("taskId", params.get("name"))
        headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": message["method"],
            **({"Mcp-Name": routed} if routed is not None else {}),
        }
        response = await self._http.post(self._url, json=message, headers=headers)
        return last_message(response)


def last_message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer, from a JSON body or the last `data:` event of an SSE body."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        answers = [json.loads(event) for event in events if event]
        return [answer for answer in answers if "id" in answer][-1]
    return response.json()
