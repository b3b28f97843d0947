"""The emulator's HTTP surface: WaveSpeed's routes (submit, result, uploads, outputs) plus a control API for tests.

WaveSpeed answers JSON in an envelope `{"code", "message", "data"}`; errors carry `code` and `message` only.
Every response is stamped `X-WaveSpeed-Emulator: 1` so nobody mistakes it for the real service.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import PurePosixPath
from typing import Any, cast
from urllib.parse import quote

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..wavespeed.endpoints import BINARY_UPLOAD_PATH, HISTORY_PATH, PRESIGNED_UPLOAD_PATH, RESULT_PATH, SUBMIT_PATH
from .state import EmulatorState, Prediction
from .validation import RequestValidationError, validate_edit_request

SYNC_STEP = 0.05  # seconds between checks while a sync-mode POST waits on a held job
UNAUTHORIZED = "Unauthorized: invalid or missing API key. Send 'Authorization: Bearer <WAVESPEED_API_KEY>'."
GATEWAY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
ROOT_TEXT = (
    "This is an EMULATOR of the WaveSpeedAI HTTP API (qwen-image/edit) for offline development, demos, tests and "
    "benchmarks.\nIt is NOT the real WaveSpeed service: no model runs here and the images it returns are "
    "synthetic.\n"
)
_NOT_JSON = object()


class _EmulatorHeader:
    """ASGI middleware stamping every response so it can never pass for the real API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-WaveSpeed-Emulator", "1")
            await send(message)

        await self.app(scope, receive, stamped)


def envelope(data: Any) -> JSONResponse:
    return JSONResponse({"code": 200, "message": "success", "data": data})


def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


def gateway_page(status: int, reason: str) -> HTMLResponse:
    return HTMLResponse(GATEWAY_PAGE.format(status=status, reason=reason), status_code=status)


def _seconds(value: float) -> str:
    return f"{value:g}"


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


def _has_authorization(request: Request) -> bool:
    return "authorization" in request.headers


class _DroppedConnection(Response):
    """Starts a response, sends part of it, then fails: the client sees the connection drop mid-answer."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"code": 200, "da', "more_body": True})
        raise ConnectionResetError("emulated connection reset (poll_resets fault)")


def create_emulator_app(state: EmulatorState) -> Starlette:
    def log(request: Request, body: Any = None) -> None:
        state.log(
            request.method,
            request.url.path,
            json=None if body is _NOT_JSON else body,
            has_authorization=_has_authorization(request),
        )

    def authorized(request: Request) -> bool:
        return state.authorized(request.headers.get("authorization"))

    # ---- WaveSpeed API ----------------------------------------------------------------------------

    async def submit(request: Request) -> Response:
        body = await _json_body(request)
        log(request, body)
        if not authorized(request):
            return error(401, UNAUTHORIZED)
        faults = state.faults
        if state.take("submit_429"):
            return error(
                429, "Too many requests: rate limit exceeded", headers={"Retry-After": _seconds(faults.retry_after)}
            )
        if state.take("submit_error_count"):
            status = faults.submit_error_status or 500
            return error(status, f"Emulated error (HTTP {status}) injected by the submit_error_status fault.")
        if body is _NOT_JSON:
            return error(400, "Invalid request body: expected a JSON object.")
        try:
            edit = validate_edit_request(body)
        except RequestValidationError as invalid:
            return error(400, str(invalid))
        prediction = state.create_prediction(edit)
        if not edit.enable_sync_mode:
            # Render after the response is sent, so the image is ready by the time the job completes.
            return JSONResponse(
                # WaveSpeed always answers a submit with "created", even for an instant (latency 0) job.
                {"code": 200, "message": "success", "data": state.describe(prediction, "created")},
                background=BackgroundTask(state.ensure_rendered, prediction),
            )
        if state.take("sync_504_with_id"):
            # A gateway that did pass WaveSpeed's envelope through: the id is there, the job goes on.
            data = state.describe(prediction, "processing")
            return JSONResponse(
                {"code": 504, "message": "Gateway Timeout: the prediction is still processing", "data": data},
                status_code=504,
                background=BackgroundTask(state.ensure_rendered, prediction),
            )
        if state.take("sync_504"):
            # WaveSpeed's gateway gives up on long sync requests: no JSON, no id, but the job goes on.
            return HTMLResponse(
                GATEWAY_PAGE.format(status=504, reason="Gateway Time-out"),
                status_code=504,
                background=BackgroundTask(state.ensure_rendered, prediction),
            )
        return await _wait_sync(prediction)

    async def _wait_sync(prediction: Prediction) -> Response:
        started = state.clock.now()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(state.ensure_rendered, prediction)
            while state.phase(prediction) != "terminal":
                waited = state.clock.now() - started
                if waited >= state.config.sync_timeout:
                    data = state.describe(prediction, "processing")
                    data.update(
                        code=5004,
                        error=f"Sync mode timed out after {_seconds(state.config.sync_timeout)} seconds. "
                        "The prediction is still processing asynchronously.",
                    )
                    return envelope(data)
                # Wake when the job is due, as the real service answers the moment it is done; step only while held.
                done = state.done_at(prediction)
                due = SYNC_STEP if done is None else max(done - state.clock.now(), 0.0)
                await state.clock.sleep(min(due, state.config.sync_timeout - waited))
        return envelope(await state.view(prediction))

    async def result(request: Request) -> Response:
        log(request)
        if not authorized(request):
            return error(401, UNAUTHORIZED)
        faults = state.faults
        if state.take("poll_errors"):
            return error(faults.poll_error_status, f"Emulated error (HTTP {faults.poll_error_status}) on poll.")
        if state.take("poll_html_errors"):
            return gateway_page(502, "Bad Gateway")
        if state.take("poll_stalls"):
            await state.clock.sleep(faults.stall_seconds)
        if state.take("poll_resets"):
            return _DroppedConnection()
        if faults.poll_error_rate and state.random.random() < faults.poll_error_rate:
            return error(503, "Emulated error (HTTP 503) on poll, at the poll_error_rate.")
        if state.take("envelope_errors"):
            code = faults.envelope_error_code if faults.envelope_error_code is not None else 500
            return JSONResponse({"code": code, "message": f"Emulated envelope error {code}: internal server error"})
        prediction = state.predictions.get(request.path_params["prediction_id"])
        if prediction is None:
            return error(404, "prediction not found")
        return envelope(await state.view(prediction))

    async def output(request: Request) -> Response:
        log(request)
        if state.faults.output_stall_seconds:
            await state.clock.sleep(state.faults.output_stall_seconds)
        if state.faults.output_missing:
            return PlainTextResponse("Not Found", status_code=404)
        name: str = request.path_params["name"]
        stem, _, extension = name.rpartition(".")
        prediction_id, _, index = stem.partition("-")
        prediction = await state.completed_output(prediction_id, int(index)) if index.isdigit() else None
        if prediction is None or prediction.outputs is None or extension != prediction.extension:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(prediction.outputs[int(index)], media_type=prediction.content_type)

    async def presigned_upload(request: Request) -> Response:
        body = await _json_body(request)
        log(request, body)
        if state.faults.presigned_unavailable:
            # As if this WaveSpeed deployment predates presigned uploads: clients should fall back to /binary.
            return error(404, "Not Found")
        if not authorized(request):
            return error(401, UNAUTHORIZED)
        if not isinstance(body, dict):
            return error(400, "Invalid request body: expected a JSON object.")
        fields = cast(dict[str, Any], body)
        filename = fields.get("filename")
        size = fields.get("size")
        content_type = fields.get("content_type", "application/octet-stream")
        if not isinstance(filename, str) or not _safe_name(filename):
            return error(400, "Invalid parameter 'filename': must be a non-empty file name.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return error(400, "Invalid parameter 'size': must be a non-negative integer (bytes).")
        if not isinstance(content_type, str) or not content_type:
            return error(400, "Invalid parameter 'content_type': must be a non-empty string.")
        upload = state.create_upload(_safe_name(filename), size, content_type)
        data = _upload_data(upload.token, upload.filename, upload.size, upload.content_type)
        data["upload"] = {
            "method": "PUT",
            "url": f"{state.base_url}/_storage/{upload.token}",
            "headers": {"Content-Type": upload.content_type},
        }
        return envelope(data)

    async def storage_put(request: Request) -> Response:
        log(request)
        upload = state.uploads.get(request.path_params["token"])
        if upload is None:
            return PlainTextResponse("NoSuchUpload: unknown upload URL.", status_code=404)
        # Object storage is a third party: a client that sends it the API key leaks the key.
        if _has_authorization(request):
            return PlainTextResponse(
                "InvalidRequest: the storage URL must be called without an Authorization header.", status_code=400
            )
        if request.headers.get("content-type") != upload.content_type:
            return PlainTextResponse(
                f"InvalidRequest: Content-Type must be exactly {upload.content_type!r} as given in upload.headers.",
                status_code=400,
            )
        body = await request.body()
        if len(body) != upload.size:
            return PlainTextResponse(
                f"InvalidRequest: body is {len(body)} bytes but {upload.size} were declared.", status_code=400
            )
        upload.data = body
        return Response(status_code=200)

    async def binary_upload(request: Request) -> Response:
        log(request)
        if not authorized(request):
            return error(401, UNAUTHORIZED)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error(400, "Invalid request: expected multipart/form-data with a part named 'file'.")
        async with request.form() as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                return error(400, "Missing required parameter 'file' (a multipart file part).")
            data = await part.read()
            filename = _safe_name(part.filename or "") or "upload"
            content_type = part.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        upload = state.create_upload(filename, len(data), content_type, data)
        return envelope(_upload_data(upload.token, upload.filename, upload.size, upload.content_type))

    def _upload_data(token: str, filename: str, size: int, content_type: str) -> dict[str, Any]:
        kind = content_type.split("/", 1)[0]
        return {
            "type": kind if kind in ("image", "video", "audio") else "image",
            "download_url": f"{state.base_url}/media/{token}/{quote(filename)}",
            "filename": filename,
            "size": size,
        }

    async def media(request: Request) -> Response:
        log(request)
        upload = state.uploads.get(request.path_params["token"])
        if upload is None or upload.data is None or upload.filename != request.path_params["filename"]:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(upload.data, media_type=upload.content_type)

    async def unknown_api(request: Request) -> Response:
        log(request)
        return error(404, "Not Found")

    async def root(request: Request) -> Response:
        return PlainTextResponse(ROOT_TEXT)

    # ---- control API (tests only; no auth) ----------------------------------------------------

    async def get_requests(request: Request) -> Response:
        return JSONResponse(state.request_log())

    async def get_faults(request: Request) -> Response:
        return JSONResponse(state.faults.model_dump())

    async def post_faults(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "expected a JSON object of fault names to values"}, status_code=400)
        try:
            faults = state.update_faults(cast(dict[str, Any], body))
        except ValidationError as invalid:
            return JSONResponse({"error": str(invalid)}, status_code=400)
        return JSONResponse(faults.model_dump())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def release(request: Request) -> Response:
        prediction = state.predictions.get(request.path_params["prediction_id"])
        if prediction is None:
            return JSONResponse({"error": "prediction not found"}, status_code=404)
        state.release(prediction)
        return JSONResponse(await state.view(prediction))

    async def list_predictions(request: Request) -> Response:
        return JSONResponse([await state.view(p) for p in list(state.predictions.values())])

    async def history(request: Request) -> Response:
        """POST /api/v3/predictions: the account's recent predictions, newest first, filtered and paged."""
        body = await _json_body(request)
        log(request, body)
        if not authorized(request):
            return error(401, UNAUTHORIZED)
        query: dict[str, Any] = cast(dict[str, Any], body) if isinstance(body, dict) else {}
        page, size = query.get("page", 1), query.get("page_size", 20)
        if not (isinstance(page, int) and page >= 1 and isinstance(size, int) and 1 <= size <= 100):
            return error(400, "Invalid parameter: page must be >= 1 and page_size between 1 and 100.")
        views = [await state.view(p) for p in reversed(list(state.predictions.values()))]
        for key in ("model", "status"):
            if query.get(key):
                views = [v for v in views if v.get(key) == query[key]]
        if isinstance(query.get("created_after"), str):
            views = [v for v in views if v["created_at"] >= query["created_after"]]
        return envelope({"page": page, "total": len(views), "items": views[(page - 1) * size : page * size]})

    routes = [
        Route("/", root, methods=["GET"]),
        Route(SUBMIT_PATH, submit, methods=["POST"]),
        Route(RESULT_PATH.replace("{id}", "{prediction_id}"), result, methods=["GET"]),
        Route(PRESIGNED_UPLOAD_PATH, presigned_upload, methods=["POST"]),
        Route(BINARY_UPLOAD_PATH, binary_upload, methods=["POST"]),
        Route(HISTORY_PATH, history, methods=["POST"]),
        Route("/api/v3/{rest:path}", unknown_api),
        Route("/_storage/{token}", storage_put, methods=["PUT"]),
        Route("/media/{token}/{filename}", media, methods=["GET"]),
        Route("/outputs/{name}", output, methods=["GET"]),
        Route("/_emulator/requests", get_requests, methods=["GET"]),
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", post_faults, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/predictions", list_predictions, methods=["GET"]),
        Route("/_emulator/predictions/{prediction_id}/release", release, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_EmulatorHeader)])


def _safe_name(filename: str) -> str:
    # Keep only the last path component: the name becomes part of a URL path.
    return PurePosixPath(filename.replace("\\", "/")).name.strip()
