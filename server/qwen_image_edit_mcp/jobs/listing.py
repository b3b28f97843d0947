"""The list use case: this account's recent Qwen edit predictions, newest first, for finding a lost id.

WaveSpeed's history filters by one model at a time. With a `model`, the filter is WaveSpeed's own and paging is
exact; without one, a page of the account's history is fetched and only the family's predictions are kept (the
`total` then counts every model's, and says so).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio

from ..errors import InputError
from ..models import MODEL_ID, Status
from ..reports import PredictionList, PredictionSummary
from ..state.store import StoreUnavailable
from ..upstream.catalog_scan import in_family
from ..upstream.curated import CURATED, short_name
from .journal import LOOKUP_SECONDS
from .runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListArgs:
    status: Status | None = None
    model: str | None = None  # a short name or a model id
    since_hours: float = 24
    page: int = 1
    page_size: int = 20


async def run_list(runtime: Runtime, args: ListArgs) -> PredictionList:
    if args.model is not None and args.model not in CURATED and not in_family(args.model):
        raise InputError(
            f"model: {args.model!r} is not a short name this server knows ({', '.join(CURATED)}) nor a Qwen edit "
            "model id (e.g. wavespeed-ai/qwen-image-2.1/edit); list_models shows them."
        )
    since = datetime.now(UTC) - timedelta(hours=args.since_hours)
    listing = await runtime.upstream.list_predictions(
        page=args.page,
        page_size=args.page_size,
        model=CURATED[args.model].model_id if args.model in CURATED else args.model,
        status=args.status,
        created_after=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    summaries = [
        PredictionSummary(
            prediction_id=item.id,
            status=item.status,
            variant=short_name(item.model or MODEL_ID) or item.model,
            created_at=item.created_at,
            outputs=[o for o in item.outputs if o.startswith(("http://", "https://"))],
            error=(item.error or None) if item.status != "completed" else None,
        )
        for item in listing.items
        if in_family(item.model or MODEL_ID)
    ]
    summaries = await _marked(runtime, summaries)
    more = listing.page * args.page_size < listing.total
    next_step = (
        'To see one in full, or wait for one still running, call get_prediction(prediction_id="...", '
        "wait_seconds=50)." + (f" More on page {listing.page + 1}." if more else "")
    )
    return PredictionList(predictions=summaries, page=listing.page, total=listing.total, next_step=next_step)


async def _marked(runtime: Runtime, summaries: list[PredictionSummary]) -> list[PredictionSummary]:
    """Each summary saying whether this deployment started it; unmarked (None) when the journal cannot answer."""
    try:
        with anyio.fail_after(LOOKUP_SECONDS):
            known = await runtime.store.journal.known([summary.prediction_id for summary in summaries])
    except (StoreUnavailable, TimeoutError) as exc:
        log.warning(
            "list_predictions: the journal could not say which jobs started here: %s",
            getattr(exc, "message", "timed out"),
        )
        return summaries
    return [summary.model_copy(update={"started_here": summary.prediction_id in known}) for summary in summaries]
