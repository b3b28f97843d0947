"""Asking before paying (`--confirm-spend always|above:USD|never`, off by default), through MCP elicitation.

edit_image takes a parameter filled by `spend_consent` (the SDK's `Resolve`), which is never in its input schema. It
reads the one `Preparation` the body runs (edit_args.py), so the user is asked about exactly the edit that runs, after
every free check and before anything is uploaded or sent. Only an explicit accept with `go_ahead: true` leads to a
paid submit; everything else is a "no":

- the edit failed a free check, or the limit has no room for it: never a question, never approval: the body refuses
  it in its own words;
- mode `never`, or a price at or under `above:USD`: no question, the edit runs;
- a client that cannot be asked (no form elicitation): refused, saying why, since the setting asks for a question;
- otherwise: "This edit runs edit-plus for $0.02; balance $12.34. Go ahead?". A decline, a dismissed question, an
  answer that is not a boolean `true`, or no answer within the call's time (wait_seconds + 10 s from its start) is a
  normal result that says nothing was submitted and nothing was paid.

The legacy era asks mid-call, and this resolver bounds the wait itself; the 2026-07-28 era asks by an input-required
round, with a question of its own reference that a later round finds, with its preparation and deadline, in
`runtime.questions` (jobs/asked.py), and that the body claims once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, StrictBool

from ..errors import WaveSpeedError
from ..jobs.asked import new_ref, question_key
from ..jobs.balance import read_balance
from ..jobs.prepare import PreparedEdit
from ..jobs.runtime import Runtime
from ..reports import PredictionReport
from ..upstream.curated import short_name
from .edit_args import Preparation, prepared_edit

# The first protocol revision that asks by an input-required round instead of a request mid-call.
INPUT_REQUIRED_ERA: Final = "2026-07-28"
BALANCE_SECONDS: Final = 5.0  # the balance is a courtesy in the question: never worth more of the user's time


class SpendApproval(BaseModel):
    """What the user is asked: one yes/no. Strict: `"yes"` or `1` is not a yes."""

    go_ahead: StrictBool = Field(title="Go ahead", description="Run this paid edit now.")


@dataclass(frozen=True)
class Verdict:
    """What became of the question: `go` only for no question needed or an explicit accept of `go_ahead: true`."""

    go: bool
    why: Literal["not asked", "accepted", "declined", "expired", "malformed", "refused"]


GO: Final = Verdict(True, "not asked")
ANSWERED_ALREADY: Final = (
    "Not submitted, nothing paid: this question about paying for the edit was answered already; an answer counts "
    "once. Call edit_image again if the user wants another edit."
)
MALFORMED_ANSWER: Final = (
    "Not submitted, nothing paid: the answer to the question about paying for this edit was not an explicit yes "
    "(go_ahead must be the boolean true). Call edit_image again if the user wants the edit."
)


def can_ask(ctx: Context[Runtime, Any]) -> bool:
    """The client declared form elicitation (a bare `elicitation: {}` counts, as the SDK counts it)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def spend_consent(
    ctx: Context[Runtime, Any], preparation: Annotated[Preparation, Resolve(prepared_edit)]
) -> Verdict | Elicit[SpendApproval]:
    runtime = ctx.request_context.lifespan_context
    edit = preparation.edit
    if edit is None:
        return Verdict(False, "expired" if preparation.late is not None else "refused")
    confirm = runtime.settings.confirm_spend
    if confirm.mode == "never" or not confirm.asks_for(edit.price_usd):
        return GO
    if not can_ask(ctx):
        raise ToolError(
            f"Not submitted, nothing paid: this server asks the user before paying for an edit "
            f"(--confirm-spend {confirm}; this one costs ${edit.price_usd}), and this client cannot ask the user "
            "(it does not support MCP elicitation). Ask the server's operator to change QWEN_EDIT_CONFIRM_SPEND, "
            "or use a client that supports elicitation."
        )
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_ERA):
        # Asked by a round trip: the answer comes with a later round, which asks the very same words (its own
        # question, found by `prepared_edit`); a question of its own reference, so no other answer can match it.
        if preparation.asked is not None:
            return Elicit(preparation.asked.question, SpendApproval)
        ref = new_ref()
        while runtime.questions.knows(ref):  # 32 bits: a clash is rare, and must not drop another call's question
            ref = new_ref()
        words = f"{await _question(runtime, edit)} (question {ref})"
        runtime.questions.ask(question_key(edit.args), edit, words, ref)
        return Elicit(words, SpendApproval)
    return await _ask_now(ctx, runtime, edit)


async def _ask_now(ctx: Context[Runtime, Any], runtime: Runtime, edit: PreparedEdit) -> Verdict:
    """The legacy era's question, mid-call, answered within the call's time or not at all."""
    question = await _question(runtime, edit)
    with anyio.move_on_after(max(edit.answer_by - runtime.clock.now(), 0.0)):
        try:
            answer = await ctx.elicit(question, SpendApproval)
        except ValueError:  # accepted, but with content that is not the schema's (a "yes" string, say)
            return Verdict(False, "malformed")
        # The runtime's clock has the last word: an answer that comes after the call's time is a late one.
        return verdict_of(answer) if runtime.clock.now() <= edit.answer_by else Verdict(False, "expired")
    return Verdict(False, "expired")


async def _question(runtime: Runtime, edit: PreparedEdit) -> str:
    balance = await _balance_text(runtime)
    if edit.variations == 1:
        return f"This edit runs {edit.model.name} for ${edit.price_usd}; {balance}. Go ahead?"
    seeds = ", ".join(str(seed) for seed in edit.seeds)
    return (
        f"This edit runs {edit.model.name} {edit.variations} times (variations with seeds {seeds}) for "
        f"${edit.price_usd} in all (${edit.run_price_usd} each); {balance}. Go ahead?"
    )


def verdict_of(answer: ElicitationResult[Any]) -> Verdict:
    """The resolver's own verdict, or the user's answer: only an accepted, strictly boolean `true` is a yes."""
    if not isinstance(answer, AcceptedElicitation):
        return Verdict(False, "declined")
    data: object = answer.data
    if isinstance(data, Verdict):
        return data
    if isinstance(data, SpendApproval):
        return Verdict(True, "accepted") if data.go_ahead is True else Verdict(False, "declined")
    return Verdict(False, "malformed")


async def _balance_text(runtime: Runtime) -> str:
    with anyio.move_on_after(BALANCE_SECONDS):
        try:
            return f"balance ${(await read_balance(runtime)).quantize(Decimal('0.01'))}"
        except WaveSpeedError:
            pass
    return "balance unknown (WaveSpeed did not say)"


def not_submitted(verdict: Verdict, *, model_id: str, price_usd: Decimal, waited: float) -> CallToolResult:
    """The user said no, or nobody said yes in time: a normal result, not an error, with nothing submitted and
    nothing paid."""
    model = short_name(model_id) or model_id
    report = PredictionReport(
        prediction_id=None,
        status=None,
        model=model_id,
        variant=short_name(model_id),
        pending=False,
        elapsed_seconds=0.0,
        polls=0,
        cost_usd=0.0,
        next_step="Do not call edit_image again for this edit unless the user asks for it.",
    )
    if verdict.why == "expired":
        said = (
            f"Not submitted, nothing paid: nobody answered the question about paying ${price_usd} for this edit "
            f"({model}) within {waited:g} s (the call's wait_seconds plus 10 s)."
        )
        report = report.model_copy(update={"next_step": "Call edit_image again when the user is there to answer."})
    else:
        said = f"Not submitted: the user declined to pay ${price_usd} for this edit ({model})."
    text = f"{said} Nothing was sent to WaveSpeed and nothing was paid.\n{report.next_step}"
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=report.model_dump_json())],
        structured_content=report.model_dump(mode="json"),
    )
