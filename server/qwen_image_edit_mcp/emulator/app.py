"""The emulator's HTTP surface: WaveSpeed's routes (catalog, submit, result, history, uploads, outputs) plus a
control API for tests, each area in its own module. Every response is stamped `X-WaveSpeed-Emulator: 1` so nobody
mistakes it for the real service.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from .api_account import AccountRoutes
from .api_catalog import CatalogRoutes
from .api_control import ControlRoutes
from .api_predictions import PredictionRoutes
from .api_uploads import UploadRoutes
from .responses import EmulatorHeader, LocalCallersOnly
from .state import EmulatorState


def create_emulator_app(state: EmulatorState) -> Starlette:
    predictions, uploads, control = PredictionRoutes(state), UploadRoutes(state), ControlRoutes(state)
    account, catalog = AccountRoutes(state), CatalogRoutes(state)
    routes = [
        Route("/", control.root, methods=["GET"]),
        *predictions.routes(),
        *uploads.api_routes(),
        *account.api_routes(),
        *catalog.api_routes(),
        *predictions.submit_routes(),  # POST /api/v3/{model_id}: after every other /api/v3 route
        *control.unknown_api_routes(),  # after every known /api/v3 route
        *uploads.routes(),
        *control.routes(),
        *account.routes(),
        *catalog.routes(),
    ]
    public_host = urlsplit(state.config.public_base_url).hostname or "127.0.0.1"
    middleware = [Middleware(EmulatorHeader), Middleware(LocalCallersOnly, public_host=public_host)]
    return Starlette(routes=routes, middleware=middleware)
