"""The emulator's own routes: the root page saying what it is, the catch-all for unknown API paths, and the control
API that tests and benchmarks drive (no auth: the emulator listens on loopback only)."""

from __future__ import annotations

import logging
from typing import Any, cast

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .responses import RouteGroup, error, json_body

logger = logging.getLogger(__name__)
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ROOT_TEXT = (
    "This is an EMULATOR of the WaveSpeedAI HTTP API (qwen-image/edit) for offline development, demos, tests and "
    "benchmarks.\nIt is NOT the real WaveSpeed service: no model runs here and the images it returns are "
    "synthetic.\n"
)


class ControlRoutes(RouteGroup):
    def unknown_api_routes(self) -> list[Route]:
        """The catch-all under /api/v3, for every method: it must come after every route WaveSpeed has there."""
        return [Route("/api/v3/{rest:path}", self.unknown_api, methods=list(ALL_METHODS))]

    def routes(self) -> list[Route]:
        return [
            Route("/_emulator/requests", self.get_requests, methods=["GET"]),
            Route("/_emulator/faults", self.get_faults, methods=["GET"]),
            Route("/_emulator/faults", self.post_faults, methods=["POST"]),
            Route("/_emulator/reset", self.reset, methods=["POST"]),
            Route("/_emulator/predictions", self.list_predictions, methods=["GET"]),
            Route("/_emulator/predictions/{prediction_id}/release", self.release, methods=["POST"]),
        ]

    async def root(self, request: Request) -> Response:
        return PlainTextResponse(ROOT_TEXT)

    async def unknown_api(self, request: Request) -> Response:
        """WaveSpeed's answer to a path it does not have: its JSON envelope with code 404, whatever the method."""
        self.log(request)
        logger.warning("emulator: no WaveSpeed route for %s %s: answered 404", request.method, request.url.path)
        return error(404, "Not Found")

    async def get_requests(self, request: Request) -> Response:
        return JSONResponse(self.state.request_log())

    async def get_faults(self, request: Request) -> Response:
        return JSONResponse(self.state.faults.model_dump())

    async def post_faults(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "expected a JSON object of fault names to values"}, status_code=400)
        try:
            faults = self.state.update_faults(cast(dict[str, Any], body))
        except ValidationError as invalid:
            return JSONResponse({"error": str(invalid)}, status_code=400)
        return JSONResponse(faults.model_dump())

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"ok": True})

    async def release(self, request: Request) -> Response:
        prediction = self.state.predictions.get(request.path_params["prediction_id"])
        if prediction is None:
            return JSONResponse({"error": "prediction not found"}, status_code=404)
        self.state.release(prediction)
        return JSONResponse(await self.state.view(prediction))

    async def list_predictions(self, request: Request) -> Response:
        return JSONResponse([await self.state.view(p) for p in list(self.state.predictions.values())])
