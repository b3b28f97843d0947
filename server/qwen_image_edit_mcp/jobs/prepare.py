"""Every free check of an edit, made once: `prepare_edit` turns the arguments into a `PreparedEdit` or refuses them
(InputError, nothing sent, nothing paid).

It finds the model (a short name or any catalog id of the family: upstream/catalog.py), checks the arguments and
`options` against that model's own request schema (upstream/inputs.py), reads and verifies every input (an http(s)
URL is checked, not fetched, unless a mask needs its pixels), prepares the region from the mask, quotes the price
live for these inputs and consults the spend limit. The question about the spend and the edit itself both read the
one `PreparedEdit`, so what the user approves is exactly what runs, and nothing is fetched or checked again: `start`
only reserves, uploads, submits and follows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Any, Final

from ..errors import InputError
from ..media.inputs import ImageInputs, ReadImage, ResolvedImage, checked_url, read_input
from ..media.masks import DEFAULT_FEATHER
from ..models import Lora, OutputFormat
from ..upstream.inputs import run_inputs, schema_checks_ready
from ..upstream.spec import ModelSpec
from ..upstream.types import RunRequest
from .family import checked_loras, chosen_inputs
from .pricing import Quote
from .region import MaskArgs, RegionEdit, prepare_region_edit
from .runtime import ANSWER_MARGIN, Runtime
from .together import together
from .variations import variation_seeds

log = logging.getLogger(__name__)

# A sync-mode request holds the prediction id until WaveSpeed answers; give it room or it cannot help.
MIN_SYNC_WAIT_SECONDS: Final = 10.0


@dataclass(frozen=True)
class EditArgs:
    """edit_image's arguments, already checked against their schema."""

    prompt: str
    image: str | None = None
    images: tuple[str, ...] | None = None
    model: str = "edit"
    loras: tuple[Lora, ...] | None = None
    size: str | None = None
    seed: int = -1
    output_format: OutputFormat | None = None  # jpeg, or png with a mask
    enable_base64_output: bool = False
    enable_sync_mode: bool = False
    wait_seconds: float = 50.0
    mask: str | None = None  # edit one region only: see jobs/region.py
    feather: int = DEFAULT_FEATHER
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])  # the model's own fields, by its schema
    variations: int = 1  # runs of the same edit with distinct seeds: see jobs/variations.py


@dataclass(frozen=True)
class PreparedEdit:
    """An edit that passed every free check: what the user is asked about, and all that `start` needs."""

    args: EditArgs
    model: ModelSpec
    inputs: tuple[ReadImage, ...]  # in order; the first is the one edited
    body: Mapping[str, Any]  # the run's inputs as checked, with a stand-in for each image until it is delivered
    output_format: OutputFormat
    region: RegionEdit | None  # a masked edit's region, with the input's pixels
    quote: Quote  # one run's price: reserved per variation, and stated as each one's cost
    started: float  # when the call began, on the runtime's clock
    seeds: tuple[int, ...] = (-1,)  # one per variation, in order (jobs/variations.py)

    @property
    def run_price_usd(self) -> Decimal:
        """What one run (one variation) costs."""
        return self.quote.price_usd

    @property
    def price_usd(self) -> Decimal:
        """What the whole call costs, every variation included: what the user is asked about and what must fit."""
        return self.quote.price_usd * len(self.seeds)

    @property
    def variations(self) -> int:
        return len(self.seeds)

    @property
    def answer_by(self) -> float:
        """When the call must have answered, a question included."""
        return self.started + self.args.wait_seconds + ANSWER_MARGIN

    def request(self, images: Sequence[str], seed: int | None = None) -> RunRequest:
        """The run, with `images` as the upstream receives them (URLs or data URIs, in order), and a variation's
        seed when it has one of its own."""
        body = {**self.body, **_images(self.model, images)}
        if seed is not None and self.model.takes("seed"):
            body["seed"] = seed  # a model whose schema refuses -1 had none in the checked body: each run has its own
        return RunRequest(self.model.model_id, body)


def _images(model: ModelSpec, images: Sequence[str]) -> dict[str, Any]:
    return {model.images_field: images[0] if model.images_field == "image" else list(images)}


def checked_body(
    args: EditArgs, model: ModelSpec, loras: tuple[Lora, ...], output_format: OutputFormat, images: Sequence[str]
) -> dict[str, Any]:
    """The run's inputs for `model`: edit_image's arguments under the model's names, then its options, checked
    against its schema (InputError naming the field, the model and what it allows). LoRA models always get `loras`
    (WaveSpeed's docs mark it optional, its ComfyUI node required: an empty list satisfies both)."""
    core: dict[str, Any] = {"prompt": args.prompt, **_images(model, images)}
    if model.loras:
        core["loras"] = [lora.model_dump() for lora in loras]
    if args.size is not None:
        core["size"] = args.size
    core.update(seed=args.seed, output_format=output_format)
    core.update(enable_base64_output=args.enable_base64_output, enable_sync_mode=args.enable_sync_mode)
    explicit = {"prompt", model.images_field, "loras" if loras else "", "size" if args.size is not None else ""}
    explicit |= {"seed" if args.seed != -1 else "", "output_format" if args.output_format is not None else ""}
    explicit |= {name for name in ("enable_base64_output", "enable_sync_mode") if core[name]}
    return run_inputs(model, core, frozenset(explicit - {""}), args.options)


async def prepare_edit(runtime: Runtime, args: EditArgs) -> PreparedEdit:
    """Every free check, once, within the call's time; InputError (SpendRefused for the limit) when one fails."""
    clock = runtime.clock
    started = clock.now()
    answer_by = started + args.wait_seconds + ANSWER_MARGIN
    checked_wait(args)
    model = await runtime.catalog.resolve(args.model, seconds=max(answer_by - clock.now(), 1.0))
    seeds = variation_seeds(model, args.seed, args.variations)
    await schema_checks_ready()
    given = chosen_inputs(model, args.image, args.images)
    loras = checked_loras(model, args.loras)
    output_format: OutputFormat = args.output_format or ("png" if args.mask is not None else "jpeg")
    # Checked with a stand-in for each image: every field is refused or accepted before any image is read.
    fields = _fields(args, given)
    body = checked_body(args, model, loras, output_format, [_stand_in(name) for name in fields])
    if len(seeds) > 1:  # each variation's own seed, checked against the model's schema as the first one was
        for seed in seeds:
            checked_body(replace(args, seed=seed), model, loras, output_format, [_stand_in(name) for name in fields])
    checked_lora_urls(loras, runtime.inputs)
    reads = [partial(read_input, value, runtime.inputs, field=name) for value, name in zip(given, fields, strict=True)]
    inputs = tuple(await together(reads, seconds=answer_by - clock.now(), doing="reading the images"))
    region = None
    if args.mask is not None:
        masking = MaskArgs(args.mask, args.feather, output_format)
        first = ResolvedImage(given[0], data=inputs[0].data)
        seconds = answer_by - clock.now()
        region = await prepare_region_edit(runtime, masking, first, given[0], size=args.size, seconds=seconds)
    # The price endpoint is asked about the run's own fields, the image count and the URLs given, but no image bytes:
    # an inline image would send megabytes to a look-up, and bytes are uploaded only once the edit is approved.
    body = {**body, **_images(model, [item.url or _stand_in(item.argument) for item in inputs])}
    quote = await runtime.spending.quote(model, body, seconds=max(answer_by - clock.now(), 1.0))
    await runtime.spending.check_room(quote.price_usd, count=len(seeds))
    log.info("edit prepared: %s for $%s x %d (%s price)", model.name, quote.price_usd, len(seeds), quote.source)
    return PreparedEdit(args, model, inputs, body, output_format, region, quote, started, seeds)


def _stand_in(argument: str) -> str:
    return f"{argument} (uploaded when submitted)"


def checked_wait(args: EditArgs) -> None:
    if args.enable_sync_mode and args.wait_seconds < MIN_SYNC_WAIT_SECONDS:
        raise InputError(
            f"enable_sync_mode holds the request open until the image is ready, so it needs wait_seconds of at "
            f"least {MIN_SYNC_WAIT_SECONDS:g} (got {args.wait_seconds:g}). Raise wait_seconds or leave sync mode off."
        )


def checked_lora_urls(loras: Sequence[Lora], inputs: ImageInputs) -> None:
    """A LoRA URL is fetched by WaveSpeed as an image URL is: the same rules, private hosts included."""
    for index, lora in enumerate(loras):
        if lora.path[:8].lower().startswith("https://"):
            checked_url(lora.path, api_base_url=inputs.api_base_url, field=f"loras[{index}].path")


def _fields(args: EditArgs, given: list[str]) -> list[str]:
    """How each image's refusal names it."""
    return [f"images[{index}]" for index in range(len(given))] if args.images else ["image"]
