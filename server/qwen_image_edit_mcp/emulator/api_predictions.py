"""WaveSpeed's prediction routes: submit (async and sync), result, history, and the output files."""

from __future__ import annotations

import logging
from typing import Any, cast

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..wavespeed.endpoints import HISTORY_PATH, PREDICTION_PATH, RESULT_PATH
from .hostile import output_answer, poll_view
from .hostile import poll_answer as hostile_poll_answer
from .predictions import Prediction, parse_output_stem
from .responses import (
    GATEWAY_PAGE,
    NOT_JSON,
    UNAUTHORIZED,
    DroppedConnection,
    RouteGroup,
    envelope,
    error,
    gateway_page,
    json_body,
    seconds,
)
from .validation import RequestValidationError, validate_edit_request

logger = logging.getLogger(__name__)
SYNC_STEP = 0.05  # seconds between checks while a sync-mode POST waits on a held job
# Any model id is an owner and a path below it; which ids exist is the catalog's say, at request time.
SUBMIT_ROUTE = "/api/v3/{owner}/{rest:path}"


class PredictionRoutes(RouteGroup):
    def submit_routes(self) -> list[Route]:
        """The submit of every catalog model, POST /api/v3/{model_id}: it matches every POST under /api/v3, so it
        must come after every other /api/v3 route (predictions, price, uploads, ...)."""
        return [Route(SUBMIT_ROUTE, self.submit, methods=["POST"])]

    def routes(self) -> list[Route]:
        return [
            Route(RESULT_PATH.replace("{id}", "{prediction_id}"), self.result, methods=["GET"]),
            Route(PREDICTION_PATH.replace("{id}", "{prediction_id}"), self.result, methods=["GET"]),
            Route(HISTORY_PATH, self.history, methods=["POST"]),
            Route("/outputs/{name}", self.output, methods=["GET"]),
        ]

    async def submit(self, request: Request) -> Response:
        state = self.state
        body = await json_body(request)
        self.log(request, body)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        model_id = f"{request.path_params['owner']}/{request.path_params['rest']}"
        entry = state.catalog.get(model_id)
        if entry is None:
            logger.warning("emulator: no model %s in the catalog: answered 404", model_id)
            return error(404, f"model not found: {model_id}")
        faults = state.faults
        if state.take("submit_429"):
            return error(
                429, "Too many requests: rate limit exceeded", headers={"Retry-After": seconds(faults.retry_after)}
            )
        if state.take("submit_error_count"):
            status = faults.submit_error_status or 500
            return error(status, f"Emulated error (HTTP {status}) injected by the submit_error_status fault.")
        if body is NOT_JSON:
            return error(400, "Invalid request body: expected a JSON object.")
        try:
            edit = validate_edit_request(body, entry)
        except RequestValidationError as invalid:
            return error(400, str(invalid))
        if not state.charge(model_id, cast(dict[str, Any], body)):
            return error(faults.empty_account_status, faults.empty_account_message)
        prediction = state.create_prediction(edit)
        if faults.submit_stall_seconds:
            await state.clock.sleep(faults.submit_stall_seconds)  # the job exists; its id is late
        if edit.enable_sync_mode:
            return await self._answer_sync(prediction)
        # Render after the response is sent, so the image is ready by the time the job completes.
        return JSONResponse(
            # WaveSpeed always answers a submit with "created", even for an instant (latency 0) job.
            {"code": 200, "message": "success", "data": state.describe(prediction, "created")},
            background=BackgroundTask(state.ensure_rendered, prediction),
        )

    async def _answer_sync(self, prediction: Prediction) -> Response:
        state = self.state
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
        return await self._wait_sync(prediction)

    async def _wait_sync(self, prediction: Prediction) -> Response:
        state = self.state
        started = state.clock.now()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(state.ensure_rendered, prediction)
            while state.phase(prediction) != "terminal":
                waited = state.clock.now() - started
                if waited >= state.config.sync_timeout:
                    data = state.describe(prediction, "processing")
                    data.update(
                        code=5004,
                        error=f"Sync mode timed out after {seconds(state.config.sync_timeout)} seconds. "
                        "The prediction is still processing asynchronously.",
                    )
                    return envelope(data)
                # Wake when the job is due, as the real service answers the moment it is done; step only while held.
                done = state.done_at(prediction)
                due = SYNC_STEP if done is None else max(done - state.clock.now(), 0.0)
                await state.clock.sleep(min(due, state.config.sync_timeout - waited))
        return envelope(await state.view(prediction))

    async def result(self, request: Request) -> Response:
        state = self.state
        self.log(request)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        faults = state.faults
        if state.take("poll_errors"):
            return error(faults.poll_error_status, f"Emulated error (HTTP {faults.poll_error_status}) on poll.")
        if state.take("poll_html_errors"):
            return gateway_page(502, "Bad Gateway")
        if state.take("poll_stalls"):
            await state.clock.sleep(faults.stall_seconds)
        if state.take("poll_resets"):
            return DroppedConnection()
        if faults.poll_error_rate and state.random.random() < faults.poll_error_rate:
            return error(503, "Emulated error (HTTP 503) on poll, at the poll_error_rate.")
        if state.take("envelope_errors"):
            code = faults.envelope_error_code if faults.envelope_error_code is not None else 500
            return JSONResponse({"code": code, "message": f"Emulated envelope error {code}: internal server error"})
        if (hostile := hostile_poll_answer(state)) is not None:
            return hostile
        prediction = state.predictions.get(request.path_params["prediction_id"])
        if prediction is None:
            return error(404, "prediction not found")
        return envelope(poll_view(state, await state.view(prediction)))

    async def history(self, request: Request) -> Response:
        """POST /api/v3/predictions: the account's recent predictions, newest first, filtered and paged."""
        state = self.state
        body = await json_body(request)
        self.log(request, body)
        if not self.authorized(request):
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

    async def output(self, request: Request) -> Response:
        state = self.state
        self.log(request)
        if state.faults.output_stall_seconds:
            await state.clock.sleep(state.faults.output_stall_seconds)
        if state.faults.output_missing:
            return PlainTextResponse("Not Found", status_code=404)
        name: str = request.path_params["name"]
        stem, _, extension = name.rpartition(".")
        parsed = parse_output_stem(stem)
        prediction = await state.completed_output(*parsed) if parsed is not None else None
        if parsed is None or prediction is None or prediction.outputs is None or extension != prediction.extension:
            return PlainTextResponse("Not Found", status_code=404)
        return output_answer(request, state.faults, prediction.outputs[parsed[1]], prediction.content_type)
