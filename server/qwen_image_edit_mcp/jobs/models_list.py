"""list_models: every Qwen edit model that can run now, with its fields, limits and prices, from the live catalog
overlaid by the curated table; the curated models first, in the table's order (the one a person reads it in)."""

from __future__ import annotations

from ..reports import ModelField, ModelInfo, ModelList
from ..upstream.curated import BUILT_IN, CURATED
from ..upstream.inputs import describe_field
from ..upstream.spec import ModelSpec
from .runtime import Runtime


async def run_list_models(runtime: Runtime) -> ModelList:
    listed = await runtime.catalog.models()
    models = dict(listed or {})
    for spec in BUILT_IN.values():  # the 2025 models run on their documented schemas when the catalog lacks them
        models.setdefault(spec.model_id, spec)
    order = {row.model_id: index for index, row in enumerate(CURATED.values())}
    ranked = sorted(models.values(), key=lambda spec: (order.get(spec.model_id, len(order)), spec.model_id))
    return ModelList(catalog="live" if listed is not None else "unavailable", models=[model_info(s) for s in ranked])


def model_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(
        model_id=spec.model_id,
        name=spec.name,
        summary=spec.summary,
        max_images=spec.max_images,
        loras=spec.loras,
        options=[
            ModelField(
                name=name,
                rule=describe_field(spec.properties[name]),
                required=name in spec.required,
                description=_text(spec.properties[name].get("description")),
            )
            for name in spec.option_names
        ],
        list_price_usd=float(spec.fallback_price) if spec.fallback_price is not None else None,
        price_rule=spec.price_note or None,
        source=spec.source,
    )


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None
