"""What the tools return as structured content: a prediction as reported to the caller, and the recent list.

Each is also the tool's declared `outputSchema`, so the field descriptions are what a program reading the result
sees. Never image bytes: outputs are URLs or file URIs.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .models import MODEL_ID, Status


class VariationReport(BaseModel):
    prediction_id: str | None = Field(description="Null: no job (see error).")
    seed: int
    status: str | None = None
    pending: bool = False
    outputs: list[str] = Field(default_factory=list[str])
    cost_usd: float
    error: str | None = None


class PredictionReport(BaseModel):
    """What edit_image and get_prediction return as structuredContent: the prediction and what the server added."""

    prediction_id: str | None = Field(
        description="WaveSpeed's job id, for get_prediction; null only if nothing was submitted."
    )
    status: Status | None = Field(description="Null if not submitted.")
    model: str = Field(default=MODEL_ID, description="WaveSpeed's model id.")
    variant: str | None = Field(default=None, description="The model's short name.")
    pending: bool = Field(description="True while the job runs: call get_prediction to wait for it.")
    outputs: list[str] = Field(
        default_factory=list[str],
        description="Output URLs (valid 7 days), or file:// URIs of saved base64 outputs.",
    )
    has_nsfw_contents: list[bool] = Field(default_factory=list[bool])
    saved_paths: list[str] = Field(default_factory=list[str], description="Local files the outputs were saved to.")
    created_at: str | None = None
    error: str | None = Field(default=None, description="WaveSpeed's reason when the job failed.")
    error_code: int | None = Field(default=None, description="WaveSpeed's task error code when the job failed.")
    inference_ms: float | None = Field(default=None, description="WaveSpeed's reported inference time.")
    elapsed_seconds: float = Field(description="Seconds this call took.")
    polls: int = Field(description="Status requests this call made to WaveSpeed.")
    cost_usd: float | None = Field(default=None, description="Price in USD (edit_image only); 0 if declined.")
    next_step: str | None = Field(default=None, description="What to do next, when there is something to do.")
    masked: bool = Field(default=False, description="Outputs are masked composites.")
    mask_coverage: float | None = Field(default=None, description="Share of the image the mask let change.")
    unmasked_outputs: list[str] = Field(default_factory=list[str], description="The edit before its mask.")


class EditReport(PredictionReport):
    """What edit_image returns as structuredContent: a PredictionReport, and each variation when there are several."""

    variations: list[VariationReport] | None = Field(
        default=None,
        description="With variations > 1, each in order; the top level is then the first with an id, with every "
        "output and the total cost.",
    )


class PredictionSummary(BaseModel):
    prediction_id: str
    status: Status
    variant: str | None = Field(default=None, description="Which model of the family ran.")
    created_at: str | None = None
    outputs: list[str] = Field(default_factory=list[str], description="Output URLs (base64 outputs are omitted).")
    error: str | None = None
    started_here: bool | None = Field(
        default=None,
        description="Whether this deployment started it; null when its journal could not be read.",
    )


class PredictionList(BaseModel):
    """What list_predictions returns as structuredContent."""

    predictions: list[PredictionSummary] = Field(description="Newest first.")
    page: int
    total: int = Field(description="Matches at WaveSpeed, over all pages (without a model filter: of any model).")
    next_step: str | None = None


class BalanceReport(BaseModel):
    """What get_balance returns as structuredContent."""

    balance_usd: float = Field(description="The WaveSpeed account's balance in USD.")
    spend_limit_usd: float | None = Field(default=None, description="This server's cap per rolling 24 h; null if none.")
    spent_usd: float | None = Field(default=None, description="Spent in the last 24 h (with the cap), incl. reserved.")
    remaining_usd: float | None = Field(default=None, description="What is left of the cap now.")
    frees_at: str | None = Field(default=None, description="When the next spend turns 24 h old (UTC, ISO 8601).")


class ModelField(BaseModel):
    """One field of a model, for edit_image's options."""

    name: str
    rule: str = Field(description="Type, range or choices, default.")
    required: bool = False
    description: str | None = None


class ModelInfo(BaseModel):
    model_id: str
    name: str = Field(description="Short name (or the id), for edit_image's model.")
    summary: str
    max_images: int
    loras: bool
    options: list[ModelField]
    list_price_usd: float | None = Field(description="Listed price per run (each edit is quoted live).")
    price_rule: str | None = None
    source: str = Field(description="catalog or built-in.")


class ModelList(BaseModel):
    """What list_models returns as structuredContent."""

    catalog: str = Field(description="live, or unavailable.")
    models: list[ModelInfo]
