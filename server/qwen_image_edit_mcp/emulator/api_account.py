"""WaveSpeed's account routes: the balance (`GET /api/v3/balance`) and one run's price (`POST /api/v3/model/price`),
plus a control route to set the balance. Each job draws its price from the balance when it is created; an account
that cannot pay is refused as `Faults.empty_account_status` says (WaveSpeed's exact answer is unverified: HTTP 402
by default, 400 or 403 with a "top up" message to test the other readings)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .responses import UNAUTHORIZED, RouteGroup, envelope, error, json_body


class AccountRoutes(RouteGroup):
    def api_routes(self) -> list[Route]:
        return [
            Route("/api/v3/balance", self.balance, methods=["GET"]),
            Route("/api/v3/model/price", self.price, methods=["POST"]),
        ]

    def routes(self) -> list[Route]:
        return [Route("/_emulator/balance", self.set_balance, methods=["POST"])]

    async def balance(self, request: Request) -> Response:
        self.log(request)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        return envelope({"balance": float(self.state.balance_usd)})

    async def price(self, request: Request) -> Response:
        state = self.state
        body = await json_body(request)
        self.log(request, body)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        if state.take("price_errors"):
            return error(500, "Emulated error (HTTP 500) on the price endpoint.")
        query = cast(dict[str, Any], body) if isinstance(body, dict) else {}
        model_id, inputs = query.get("model_id"), query.get("inputs", {})
        if not isinstance(model_id, str) or model_id not in state.catalog or not isinstance(inputs, dict):
            return error(400, "Invalid parameter: model_id must name a model, and inputs must be an object.")
        price = float(state.price_of(model_id, cast(dict[str, Any], inputs)))
        return envelope({"model_id": model_id, "price": price, "discounted_price": price, "currency": "USD"})

    async def set_balance(self, request: Request) -> Response:
        body = await json_body(request)
        raw = cast(dict[str, Any], body).get("balance") if isinstance(body, dict) else None
        try:
            amount = Decimal(str(raw)) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0:
            return JSONResponse({"error": 'expected {"balance": <USD, 0 or more>}'}, status_code=400)
        self.state.balance_usd = amount
        return JSONResponse({"balance": float(amount)})
