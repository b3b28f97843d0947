"""Every free check of an edit, made once: `prepare_edit` turns the arguments into a `PreparedEdit` or refuses them
(InputError, nothing sent, nothing paid).

It checks the arguments against the model's rules, reads and verifies every input (an http(s) URL is checked, not
fetched, unless a mask needs its pixels), prepares the region from the mask, quotes the price live for these inputs
and consults the spend limit. The question about the spend and the edit itself both read the one `PreparedEdit`, so
what the user approves is exactly what runs, and nothing is fetched or checked again: `start` only reserves,
uploads, submits and follows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Final

from ..errors import InputError
from ..media.inputs import ImageInputs, ReadImage, ResolvedImage, checked_url, read_input
from ..media.masks import DEFAULT_FEATHER
from ..models import EditRequest, Lora, OutputFormat
from ..variants import Variant
from .family import checked_loras, chosen_inputs
from .pricing import Quote
from .region import MaskArgs, RegionEdit, prepare_region_edit
from .runtime import ANSWER_MARGIN, Runtime
from .together import together

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


@dataclass(frozen=True)
class PreparedEdit:
    """An edit that passed every free check: what the user is asked about, and all that `start` needs."""

    args: EditArgs
    variant: Variant
    inputs: tuple[ReadImage, ...]  # in order; the first is the one edited
    loras: tuple[Lora, ...]
    output_format: OutputFormat
    region: RegionEdit | None  # a masked edit's region, with the input's pixels
    quote: Quote  # what is reserved, asked about and stated as the cost
    started: float  # when the call began, on the runtime's clock

    @property
    def price_usd(self) -> Decimal:
        return self.quote.price_usd

    @property
    def answer_by(self) -> float:
        """When the call must have answered, a question included."""
        return self.started + self.args.wait_seconds + ANSWER_MARGIN

    def request(self, images: Sequence[str]) -> EditRequest:
        """The request body, with `images` as WaveSpeed receives them (URLs or data URIs, in order)."""
        return edit_request(self.args, self.variant, self.loras, self.output_format, images)


def edit_request(
    args: EditArgs, variant: Variant, loras: tuple[Lora, ...], output_format: OutputFormat, images: Sequence[str]
) -> EditRequest:
    return EditRequest(
        prompt=args.prompt,
        model=variant.name,
        images=tuple(images),
        loras=loras,
        size=args.size,
        seed=args.seed,
        output_format=output_format,
        enable_base64_output=args.enable_base64_output,
        enable_sync_mode=args.enable_sync_mode,
    )


async def prepare_edit(runtime: Runtime, args: EditArgs) -> PreparedEdit:
    """Every free check, once, within the call's time; InputError (SpendRefused for the limit) when one fails."""
    clock = runtime.clock
    started = clock.now()
    answer_by = started + args.wait_seconds + ANSWER_MARGIN
    variant, given, loras = checked(args)
    checked_lora_urls(loras, runtime.inputs)
    reads = [
        partial(read_input, value, runtime.inputs, field=field)
        for value, field in zip(given, _fields(args, given), strict=True)
    ]
    inputs = tuple(await together(reads, seconds=answer_by - clock.now(), doing="reading the images"))
    output_format: OutputFormat = args.output_format or ("png" if args.mask is not None else "jpeg")
    region = None
    if args.mask is not None:
        masking = MaskArgs(args.mask, args.feather, output_format)
        first = ResolvedImage(given[0], data=inputs[0].data)
        seconds = answer_by - clock.now()
        region = await prepare_region_edit(runtime, masking, first, given[0], size=args.size, seconds=seconds)
    # The price endpoint is asked about the run's own fields, the image count and the URLs given, but no image bytes:
    # an inline image would send megabytes to a look-up, and bytes are uploaded only once the edit is approved.
    stand_ins = [item.url or f"{item.argument} (uploaded when submitted)" for item in inputs]
    priced = edit_request(args, variant, loras, output_format, stand_ins).payload()
    quote = await runtime.spending.quote(variant, priced, seconds=max(answer_by - clock.now(), 1.0))
    await runtime.spending.check_room(quote.price_usd)
    log.info("edit prepared: %s for $%s (%s price)", variant.name, quote.price_usd, quote.source)
    return PreparedEdit(args, variant, inputs, loras, output_format, region, quote, started)


def checked(args: EditArgs) -> tuple[Variant, list[str], tuple[Lora, ...]]:
    """The variant, its images and its LoRAs, from arguments that are consistent; InputError otherwise."""
    if args.enable_sync_mode and args.wait_seconds < MIN_SYNC_WAIT_SECONDS:
        raise InputError(
            f"enable_sync_mode holds the request open until the image is ready, so it needs wait_seconds of at "
            f"least {MIN_SYNC_WAIT_SECONDS:g} (got {args.wait_seconds:g}). Raise wait_seconds or leave sync mode off."
        )
    variant, given = chosen_inputs(args.model, args.image, args.images)
    return variant, given, checked_loras(variant, args.loras)


def checked_lora_urls(loras: Sequence[Lora], inputs: ImageInputs) -> None:
    """A LoRA URL is fetched by WaveSpeed as an image URL is: the same rules, private hosts included."""
    for index, lora in enumerate(loras):
        if lora.path[:8].lower().startswith("https://"):
            checked_url(lora.path, api_base_url=inputs.api_base_url, field=f"loras[{index}].path")


def _fields(args: EditArgs, given: list[str]) -> list[str]:
    """How each image's refusal names it."""
    return [f"images[{index}]" for index in range(len(given))] if args.images else ["image"]
