"""Asking before paying (`--confirm-spend always|above:USD|never`, off by default), through MCP elicitation.

edit_image takes a parameter filled by `spend_approval` (the SDK's `Resolve`), which is never in its input schema.
The SDK asks the client in either protocol era: mid-call in the legacy one, by an input-required round in 2026-07-28.
The resolver runs before the handler, so the user is asked before anything is uploaded or sent, but only about an
edit that would run: every free check comes first, so nobody approves an edit that is then refused.

- mode `never`, no API key (the handler then says to set one), or a price at or under `above:USD`: no question;
- the spend limit would refuse the run anyway: no question (the handler refuses with the limit's message);
- the arguments, an image (read and verified, not uploaded) or the mask would be refused (`check_edit`): no
  question (the handler refuses with the same message);
- a client that cannot be asked (no form elicitation): refused, saying why, since the setting asks for a question;
- otherwise: "This edit runs edit-plus for $0.02; balance $12.34. Go ahead?". A decline (or a dismissed question)
  is a normal result that says nothing was submitted and nothing was paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from ..errors import InputError, WaveSpeedError
from ..jobs.balance import read_balance
from ..jobs.edit import EditArgs, check_edit
from ..jobs.ledger import LedgerError
from ..jobs.runtime import Runtime
from ..reports import PredictionReport
from ..variants import VARIANTS, VariantName
from .edit_args import edit_arguments


class SpendApproval(BaseModel):
    """What the user is asked: one yes/no."""

    go_ahead: bool = Field(title="Go ahead", description="Run this paid edit now.")


APPROVED = SpendApproval(go_ahead=True)


def can_ask(ctx: Context[Runtime, Any]) -> bool:
    """The client declared form elicitation (a bare `elicitation: {}` counts, as the SDK counts it)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def spend_approval(
    ctx: Context[Runtime, Any], args: Annotated[EditArgs, Resolve(edit_arguments)]
) -> SpendApproval | Elicit[SpendApproval]:
    runtime = ctx.request_context.lifespan_context
    confirm = runtime.settings.confirm_spend
    if confirm.mode == "never" or not runtime.wavespeed.has_api_key:
        return APPROVED
    variant = VARIANTS[args.model]
    price = (await runtime.spending.quote(variant, {})).price_usd
    if not confirm.asks_for(price) or await _limit_refuses(runtime, price) or await _refused(runtime, args):
        return APPROVED  # not a question worth asking: the handler runs the edit, or refuses it in its own words
    if not can_ask(ctx):
        raise ToolError(
            f"Not submitted, nothing paid: this server asks the user before paying for an edit "
            f"(--confirm-spend {confirm}; this one costs ${price}), and this client cannot ask the user "
            "(it does not support MCP elicitation). Ask the server's operator to change QWEN_EDIT_CONFIRM_SPEND, "
            "or use a client that supports elicitation."
        )
    return Elicit(f"This edit runs {args.model} for ${price}; {await _balance_text(runtime)}. Go ahead?", SpendApproval)


async def _refused(runtime: Runtime, args: EditArgs) -> bool:
    """Whether the edit fails a free check (its arguments, images, mask): then nobody is asked to pay for it."""
    try:
        await check_edit(runtime, args)
    except InputError:
        return True
    return False


def approved(approval: ElicitationResult[SpendApproval]) -> bool:
    return isinstance(approval, AcceptedElicitation) and approval.data.go_ahead


async def _balance_text(runtime: Runtime) -> str:
    try:
        return f"balance ${(await read_balance(runtime)).quantize(Decimal('0.01'))}"
    except WaveSpeedError:
        return "balance unknown (WaveSpeed did not say)"


async def _limit_refuses(runtime: Runtime, price: Decimal) -> bool:
    try:
        status = await runtime.spending.status()
    except LedgerError:
        return False  # the handler refuses with the ledger's own words
    return status is not None and status.remaining_usd < price


async def declined(runtime: Runtime, model: VariantName) -> CallToolResult:
    """The user said no: a normal result, not an error, with nothing submitted and nothing paid."""
    variant = VARIANTS[model]
    price = (await runtime.spending.quote(variant, {})).price_usd
    report = PredictionReport(
        prediction_id=None,
        status=None,
        model=variant.model_id,
        variant=model,
        pending=False,
        elapsed_seconds=0.0,
        polls=0,
        cost_usd=0.0,
        next_step="Do not call edit_image again for this edit unless the user asks for it.",
    )
    text = (
        f"Not submitted: the user declined to pay ${price} for this edit ({model}). Nothing was sent to WaveSpeed "
        f"and nothing was paid.\n{report.next_step}"
    )
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=report.model_dump_json())],
        structured_content=report.model_dump(mode="json"),
    )
