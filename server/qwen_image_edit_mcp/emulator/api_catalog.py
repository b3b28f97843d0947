"""WaveSpeed's model catalog, `GET /api/v3/models` (every model with its request schema and price), plus the control
route that changes what the emulator serves: `POST /_emulator/catalog` with `{"models": [entries]}` adds entries
(replacing those with the same model id) and `{"remove": [model ids]}` drops them. A reset restores the built-in
catalog (catalog_data.py)."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .catalog import CatalogError, checked_entry
from .catalog_fields import CatalogEntry
from .responses import UNAUTHORIZED, RouteGroup, envelope, error, json_body

MODELS_PATH = "/api/v3/models"
CONTROL_PATH = "/_emulator/catalog"
CONTROL_SHAPE = 'expected {"models": [catalog entries]} and/or {"remove": [model ids]}'


class CatalogRoutes(RouteGroup):
    def api_routes(self) -> list[Route]:
        return [Route(MODELS_PATH, self.models, methods=["GET"])]

    def routes(self) -> list[Route]:
        return [Route(CONTROL_PATH, self.change, methods=["POST"])]

    async def models(self, request: Request) -> Response:
        state = self.state
        self.log(request)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        if state.take("catalog_errors"):
            return error(500, "Emulated error (HTTP 500) on the model catalog.")
        return envelope(list(state.catalog.values()))

    async def change(self, request: Request) -> Response:
        body = await json_body(request)
        try:
            added, removed = _changes(body, self.state.catalog)
        except CatalogError as invalid:
            return JSONResponse({"error": str(invalid)}, status_code=400)
        return JSONResponse({"models": self.state.change_catalog(added, removed)})


def _changes(body: object, catalog: dict[str, CatalogEntry]) -> tuple[list[CatalogEntry], list[str]]:
    """The entries to add and the ids to remove, all checked before anything changes."""
    if not isinstance(body, dict) or not body or set(cast(dict[str, Any], body)) - {"models", "remove"}:
        raise CatalogError(CONTROL_SHAPE)
    fields = cast(dict[str, Any], body)
    models: object = fields.get("models", [])
    removed: object = fields.get("remove", [])
    if not isinstance(models, list) or not isinstance(removed, list):
        raise CatalogError(CONTROL_SHAPE)
    added = [checked_entry(raw) for raw in cast(list[object], models)]
    ids = cast(list[object], removed)
    if not all(isinstance(model_id, str) for model_id in ids):
        raise CatalogError("remove must list model ids (strings)")
    incoming = {entry["model_id"] for entry in added}
    unknown = [model_id for model_id in cast(list[str], ids) if model_id not in catalog and model_id not in incoming]
    if unknown:
        raise CatalogError(f"not in the catalog: {', '.join(unknown)}")
    return added, cast(list[str], ids)
