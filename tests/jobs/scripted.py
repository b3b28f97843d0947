"""A WaveSpeed client whose answers are scripted, for the waiting tests: no emulator, no network, no clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine

import httpx
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.upstream.types import RunRequest
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

MODEL_ID = "wavespeed-ai/qwen-image/edit"
INPUTS = {"prompt": "add a hat", "images": ["https://example.com/a.png"]}
REQUEST = RunRequest(MODEL_ID, INPUTS)

Script = list[httpx.Response | Exception]


def scripted(script: Script, log: list[httpx.Request]) -> WaveSpeedClient:
    """Each request gets the next step of the script (the last one repeats); every request is logged."""

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        step = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(step, Exception):
            raise step
        return step

    return client_for(handler)


Handler = Callable[[httpx.Request], httpx.Response] | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def client_for(handler: Handler) -> WaveSpeedClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")


def ok(status: str, **extra: object) -> httpx.Response:
    return httpx.Response(
        200, json={"code": 200, "message": "success", "data": {"id": "job1", "status": status, **extra}}
    )


def failure(status: int, message: str = "?", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"code": status, "message": message})


async def no_progress(message: str) -> None:
    pass


def progress_into(messages: list[str]) -> Callable[[str], Awaitable[None]]:
    async def record(message: str) -> None:
        messages.append(message)

    return record
