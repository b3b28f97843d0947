"""A task-capable host, for the tests: FastMCP's client (3.4, which speaks 2025-11-25 tasks) runs a plan of steps
against our server over stdio or streamable HTTP, and prints what it saw as one JSON document.

It runs in its own virtualenv (tests/task_client/requirements.txt): FastMCP 3.4 needs the 1.x `mcp` SDK, the server
the 2.x one. The plan comes on stdin:

    {"sessions": [{"stdio": {"command": ..., "args": [...], "env": {...}, "cwd": "/"}} or {"http": {"url", "token"}},
                   "answer": "accept" | "decline" | null,  # to the spend question, when one is asked
                   "steps": [{"do": "call", "name": ..., "arguments": {...}, "ttl": ms, "progress_token": ...},
                             {"do": "status" | "result" | "cancel" | "wait", "task": "<id or $N, step N's task>"},
                             {"do": "list", "cursor": ...}, {"do": "tools"},
                             {"do": "plain", "name": ..., "arguments": {...}},
                             {"do": "faults", "url": <the emulator's>, "set": {...}}]}]}

Every step's outcome goes out, in order: what came back, or the error a step raised (its class and message).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
import mcp.types
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.messages import MessageHandler
from fastmcp.client.transports import StdioTransport, StreamableHttpTransport


class Seen(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.progress: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []

    async def on_progress(self, message: mcp.types.ProgressNotification) -> None:
        self.progress.append(message.params.model_dump(by_alias=True, mode="json", exclude_none=True))

    async def on_notification(self, message: mcp.types.ServerNotification) -> None:
        if isinstance(message.root, mcp.types.TaskStatusNotification):
            self.statuses.append(message.root.params.model_dump(by_alias=True, mode="json", exclude_none=True))


def transport(session: dict[str, Any]) -> Any:
    if "stdio" in session:
        spec = session["stdio"]
        return StdioTransport(
            command=spec["command"], args=spec["args"], env=spec["env"], cwd=spec.get("cwd"), keep_alive=False
        )
    spec = session["http"]
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
    return StreamableHttpTransport(spec["url"], headers=headers)


def dumped(value: Any) -> Any:
    if isinstance(value, mcp.types.CallToolResult | mcp.types.GetTaskResult | mcp.types.CancelTaskResult):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.loads(json.dumps(value, default=str))


async def run_session(session: dict[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    seen = Seen()
    answer = session.get("answer")
    asked: list[str] = []

    async def elicit(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"go_ahead": True})
        return ElicitResult(action="decline")

    options: dict[str, Any] = {"message_handler": seen, "timeout": 120}
    if answer is not None:
        options["elicitation_handler"] = elicit
    tasks: dict[str, Any] = {}
    async with Client(transport(session), **options) as client:
        for step in session["steps"]:
            try:
                outcome = await run_step(client, step, outcomes, tasks)
            except Exception as exc:  # a step's error is an outcome the test reads
                outcome = {"error": type(exc).__name__, "message": str(exc)}
            outcomes.append(outcome)
    return {"progress": seen.progress, "statuses": seen.statuses, "asked": asked}


def task_id(step: dict[str, Any], outcomes: list[dict[str, Any]]) -> str:
    ref = str(step["task"])
    return str(outcomes[int(ref[1:])]["task_id"]) if ref.startswith("$") else ref


async def run_step(client: Client, step: dict[str, Any], outcomes: list[dict[str, Any]], tasks: dict[str, Any]) -> Any:
    match step["do"]:
        case "tools":
            listed = await client.list_tools()
            return {"tools": {tool.name: dumped(tool.execution) for tool in listed}}
        case "call":
            meta = {"progressToken": step["progress_token"]} if "progress_token" in step else None
            task = await client.call_tool(
                step["name"], step["arguments"], task=True, ttl=step.get("ttl", 60000), meta=meta, raise_on_error=False
            )
            tasks[task.task_id] = task
            outcome: dict[str, Any] = {"task_id": task.task_id, "immediate": task.returned_immediately}
            if task.returned_immediately:  # the server answered the call itself: no task was made
                result = await task.result()
                outcome["result"] = {"is_error": result.is_error, "content": [dumped(c) for c in result.content]}
            return outcome
        case "plain":  # a call as any host makes it, no task; "$N" in an argument is step N's task id
            arguments = {
                key: task_id({"task": value}, outcomes) if isinstance(value, str) and value[:1] == "$" else value
                for key, value in step["arguments"].items()
            }
            result = await client.call_tool(step["name"], arguments, raise_on_error=False)
            return {
                "is_error": result.is_error,
                "structured": result.structured_content,
                "content": [dumped(block) for block in result.content],
            }
        case "faults":  # the emulator misbehaves from here on (its control API)
            async with httpx.AsyncClient() as http:
                answer = await http.post(step["url"] + "/_emulator/faults", json=step["set"])
            answer.raise_for_status()
            return {"faults": step["set"]}
        case "status":
            return dumped(await client.get_task_status(task_id(step, outcomes)))
        case "result":
            return {"result": dumped(await client.get_task_result(task_id(step, outcomes)))}
        case "wait":
            task = tasks[task_id(step, outcomes)]
            return dumped(await task.wait(timeout=step.get("timeout", 60)))
        case "cancel":
            return dumped(await client.cancel_task(task_id(step, outcomes)))
        case "list":
            return dumped(await client.list_tasks(cursor=step.get("cursor")))
        case other:
            raise ValueError(f"unknown step {other}")


async def main() -> None:
    plan = json.loads(sys.stdin.read())
    outcomes: list[dict[str, Any]] = []
    sessions = [await run_session(session, outcomes) for session in plan["sessions"]]
    json.dump({"outcomes": outcomes, "sessions": sessions}, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
