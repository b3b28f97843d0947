"""A scripted stand-in for an OpenAI-compatible chat completions endpoint, so that tool_calling_chain.py runs offline.

It is not a model: it follows a script that a tool-calling model would follow for an edit request. Asked by the
user, it calls edit_image with the image named in the request (a URL, a data: URI or a file path) and the request
as the prompt. Handed a pending result, it calls get_prediction with its id. Handed a finished one, it
answers with the output URL, or with the error. It speaks the wire format (POST /chat/completions, `tools`,
`tool_calls`, `tool` messages), through an in-process httpx transport: no port, no network.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

_IMAGE = re.compile(r"(https?://\S+|data:image/\S+|~?/\S+\.(?:png|jpe?g|webp|gif|bmp|tiff?))", re.IGNORECASE)


def transport() -> httpx.MockTransport:
    """An httpx transport that answers chat completions as the script says."""
    calls = iter(range(1, 1_000_000))

    def answer(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
        messages: list[dict[str, Any]] = json.loads(request.content)["messages"]
        message = _next_message(messages, f"call_{next(calls)}")
        return httpx.Response(200, json={"object": "chat.completion", "choices": [{"index": 0, "message": message}]})

    return httpx.MockTransport(answer)


def _next_message(messages: list[dict[str, Any]], call_id: str) -> dict[str, Any]:
    last = messages[-1]
    if last["role"] == "user":
        found = _IMAGE.search(last["content"])
        if found is None:
            return _say("Which image? Give me its URL, a data: URI or the path of a file.")
        # The request with the image's address replaced by "the image": "Make the sky in the image a sunset".
        rest = f"{last['content'][: found.start()]} the image {last['content'][found.end() :]}"
        prompt = " ".join(rest.split()).strip(" .,:")
        return _call(call_id, "edit_image", {"image": found.group(0).rstrip(".,)"), "prompt": prompt})
    report = _report(last.get("content") or "")
    if report.get("pending") and report.get("prediction_id"):
        return _call(call_id, "get_prediction", {"prediction_id": report["prediction_id"], "wait_seconds": 60})
    if report.get("outputs"):
        return _say(f"Done! Your edited image: {report['outputs'][0]}")
    return _say(f"The edit did not work: {report.get('error') or last.get('content')}")


def _report(tool_text: str) -> dict[str, Any]:
    """The structured JSON block of a tool result (the last line that parses as an object)."""
    for line in reversed(tool_text.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _say(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}
