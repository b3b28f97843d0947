"""What the tools say to the model: the server's instructions and each tool's description.

Kept apart from code so that the words can be read, reviewed and measured (every listed tool costs the host's model
context on every turn) in one place.
"""

from __future__ import annotations

from ..variants import MAX_IMAGES, MAX_LORA_SCALE, MAX_LORAS, VARIANTS, multi_image_names, price_range_text

PRICES = price_range_text()  # "$0.02-0.025": every text that states a price says this one
MULTI = multi_image_names()  # "edit-plus or edit-2511": the models that take several pictures


def _model_lines() -> str:
    return "; ".join(f"{name}: {variant.summary}, {variant.price_text}" for name, variant in VARIANTS.items())


# Built from the variants table, so a new row is described everywhere at once.
MODEL_DESCRIPTION = (
    f"Which Qwen-Image-Edit model runs (price per run): {_model_lines()}. Multi-image models take images=[...]; "
    "-lora models take loras."
)
IMAGES_DESCRIPTION = (
    f"1-{MAX_IMAGES} pictures, in order, for a multi-image model ({MULTI}, or a -lora twin), each "
    "in any form image takes. The first is the one edited; refer to the others by position in the prompt, e.g. "
    "'put the dress from image 2 on the person in image 1'. Use instead of image, not with it."
)
LORAS_DESCRIPTION = (
    f"Up to {MAX_LORAS} LoRAs (community add-ons for a lighting, angle or style) for a -lora model: "
    f"{{path, scale 0-{MAX_LORA_SCALE:g}}}, applied together."
)

MASK_DESCRIPTION = (
    "Edit one region only: an image (any form image takes) of the image's aspect ratio; white/opaque may change, "
    "black/transparent must not, grey is a soft edge. Pixels outside stay exact (png by default). Not with size."
)
FEATHER_DESCRIPTION = "With mask: the soft edge's width in px, inside the white (0: hard)."

INSTRUCTIONS = f"""\
Edits images with Qwen-Image-Edit (a 20B model on WaveSpeedAI): appearance edits (add, remove or change an \
element while the rest stays untouched), semantic edits (style transfer, new viewpoint, turning a subject into \
a character) and precise text edits in English or Chinese that keep the original font and style.

How to use the tools:
1. edit_image(image, prompt): `image` is a public http(s) URL, a local file path (absolute or ~, inside the \
folders the server may read; it is uploaded for you), or a data:image/...;base64 URI; `prompt` says what to \
change. Each call starts one paid job ({PRICES} by model); do not repeat a call just to check on it. To \
combine pictures ("the dress from image 2 on the person in image 1") use model {MULTI} with images=[...]; \
for LoRAs use a -lora model with loras=[{{path, scale}}].
2. The call waits for the result (up to wait_seconds) and returns the output URL(s), a preview that fits the \
host (downscaled when the image is large), any saved file, and a structured report. If the job is still \
running when the wait ends, the result says pending=true and gives a prediction_id: then call \
get_prediction(prediction_id, wait_seconds) until it completes. Never start a new edit_image for the same \
request: that pays for a second job.
3. To refine a result, call edit_image again with the output URL as `image`. Output URLs stay valid for 7 days.
4. If a call fails, its message says what to fix (the size, a URL WaveSpeed cannot reach, the API key).
5. If an edit was started but its prediction_id was lost (the call was cancelled or timed out before answering),
list_predictions shows the recent jobs with their ids; resume one with get_prediction instead of editing again.
"""

EDIT_DESCRIPTION = f"""\
Edit an image with Qwen-Image-Edit on WaveSpeedAI, following a natural-language instruction in English or \
Chinese. Good at: adding, removing or replacing objects; changing colours, materials, backgrounds or style; \
rewriting text inside the image (quote the exact new text); rotating a subject or changing the viewpoint.

Returns the edited image's URL, an inline preview when it fits, and a structured report with its \
cost_usd. Costs one paid job per call ({PRICES} by model). If the job outlives wait_seconds, the result is \
pending with a prediction_id: call get_prediction with it instead of calling edit_image again."""

GET_DESCRIPTION = """\
Look up a WaveSpeed prediction by id: its status and, once completed, its output URL(s) and a preview. Use it to \
resume an edit_image call that returned pending=true, optionally waiting up to wait_seconds for it to finish. \
Read-only and free; predictions are kept by WaveSpeed for 7 days. A masked edit started here gets its mask applied.\
"""


LIST_DESCRIPTION = """\
List this account's recent Qwen-Image-Edit predictions on WaveSpeed (newest first; WaveSpeed keeps 7 days), with \
their ids, statuses and output URLs. Use it to find a job whose prediction_id was lost (a cancelled or timed-out \
call), then resume it with get_prediction. Read-only and free."""

BALANCE_DESCRIPTION = f"""\
The WaveSpeed account's balance in USD, and this server's spend limit per rolling 24 h with what is left of it \
(when one is set). Read-only and free; each edit_image costs {PRICES}."""
