"""What the tools say to the model: the server's instructions and each tool's description.

Kept apart from code so that the words can be read, reviewed and measured (every listed tool costs the host's model
context on every turn) in one place.
"""

from __future__ import annotations

from ..models import MAX_LORA_SCALE
from ..upstream.curated import CURATED, price_range_text

PRICES = price_range_text()  # "$0.02-0.07": every text that states a price says this one (list_models has each)
MULTI = "edit-plus, edit-2511, edit-2.1 or edit-max"  # models that take several pictures


# Built from the curated table, so a new row is named everywhere at once; list_models says what each is for.
MODEL_DESCRIPTION = (
    f"Which Qwen-Image-Edit model runs: a short name ({', '.join(CURATED)}) or any Qwen edit model id of "
    "WaveSpeed's catalog. list_models says what each is for, its image limit, its own fields and its price."
)
IMAGES_DESCRIPTION = (
    f"Several pictures in order for a multi-image model ({MULTI}), each in any form image takes. The first is "
    "edited; name the others by position in the prompt ('the dress from image 2'). Instead of image."
)
LORAS_DESCRIPTION = (
    "LoRAs (community add-ons for a lighting, angle or style) for a -lora model, usually up to 3: "
    f"{{path, scale 0-{MAX_LORA_SCALE:g}}}, applied together."
)
OPTIONS_DESCRIPTION = (
    'The model\'s own fields beyond the arguments above, e.g. {"guidance_scale": 5} for edit-2.1; checked against '
    "its schema before anything is paid (list_models names each model's fields)."
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
for LoRAs use a -lora model with loras=[{{path, scale}}]. list_models shows every model, its own fields (passed \
in options) and its price.
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
Edit an image with Qwen-Image-Edit on WaveSpeedAI, following an instruction in English or Chinese: add, remove \
or replace objects; change colours, materials, backgrounds or style; rewrite text in the image (quote the new \
text); rotate a subject or change the viewpoint.

Returns the edited image's URL, an inline preview, and a report with its cost_usd. One paid job per call \
({PRICES} by model), or per variation. If the job outlives wait_seconds, the result is pending with a \
prediction_id: call get_prediction with it instead of calling edit_image again."""

GET_DESCRIPTION = """\
Look up a WaveSpeed prediction by id: its status and, once completed, its output URL(s) and a preview. Resumes an \
edit_image call that returned pending=true (waiting up to wait_seconds). Read-only and free; WaveSpeed keeps \
predictions 7 days. A masked edit started here gets its mask applied.\
"""


LIST_DESCRIPTION = """\
List this account's recent Qwen-Image-Edit predictions on WaveSpeed (newest first, 7 days) with ids, statuses and \
output URLs: to find a job whose prediction_id was lost, then resume it with get_prediction. Read-only and free."""

MODELS_DESCRIPTION = """\
The Qwen-Image-Edit models edit_image can run (WaveSpeed's live catalog): id, short name, use, image limit, own \
fields for options (ranges, defaults) and price. Read-only and free."""

BALANCE_DESCRIPTION = f"""\
The WaveSpeed account's balance in USD, and this server's spend limit per rolling 24 h with what is left of it \
(when one is set). Read-only and free; each edit_image costs {PRICES}."""

VARIATIONS_DESCRIPTION = (
    "Run the edit 1-4 times with distinct seeds (s, s+1, ...; random ones for -1) to pick the best: each run is paid."
)
