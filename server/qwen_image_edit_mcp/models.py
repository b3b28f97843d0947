"""The data as the tools take it and the upstream answers it: the documented request fields, the prediction, and
its statuses. A run's body is built per model (upstream/inputs.py).

The tool parameters in `tools.py` are built from the annotated types here, so the JSON Schema a model sees and
the validation the server runs are one and the same.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .errors import quoted

MODEL_ID: Final = "wavespeed-ai/qwen-image/edit"
MAX_LORA_SCALE: Final = 4.0  # WaveSpeed's documented bound; a model's schema may narrow it

MIN_SIDE: Final = 256
MAX_SIDE: Final = 1536
MAX_SEED: Final = 2_147_483_647
# 256..1536 spelled out digit by digit, so that hosts which validate against the schema refuse what WaveSpeed would.
_SIDE = r"(?:25[6-9]|2[6-9][0-9]|[3-9][0-9]{2}|1[0-4][0-9]{2}|15[0-2][0-9]|153[0-6])"
SIZE_PATTERN: Final = rf"^{_SIDE}\*{_SIDE}$"
_SIZE_SHAPE = re.compile(r"^\s*(\d+)\s*[*xX×]\s*(\d+)\s*$")

# Documented: created, processing, completed, failed; WaveSpeed's server also has cancelled and timeout, its SDK treats
# deleted as terminal, and some doc pages say pending.
Status = Literal["created", "pending", "processing", "completed", "failed", "cancelled", "timeout", "deleted"]
TERMINAL_STATUSES: Final[frozenset[Status]] = frozenset({"completed", "failed", "cancelled", "timeout", "deleted"})
_STATUSES: Final = frozenset(get_args(Status))


def _known_status(value: object) -> object:
    # A status this server has never seen cannot be a finish it knows how to read: keep polling ("processing").
    return "processing" if isinstance(value, str) and value not in _STATUSES else value


KnownStatus = Annotated[Status, BeforeValidator(_known_status)]

OutputFormat = Literal["jpeg", "png", "webp"]
MIME_TYPES: Final[dict[str, str]] = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def parse_size(value: str) -> str:
    """Accept 'W*H' with each side 256..1536; say exactly what is wrong otherwise."""
    match = _SIZE_SHAPE.match(value)
    if match is None:
        raise ValueError(
            "size must look like 'WIDTH*HEIGHT' with a literal '*', e.g. '1024*1024' or '1536*1024'; "
            f"got {quoted(value)}"
        )
    width, height = int(match.group(1)), int(match.group(2))
    for name, side in (("width", width), ("height", height)):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(
                f"size {name} must be between {MIN_SIDE} and {MAX_SIDE} pixels; got {side} in {quoted(value)}"
            )
    # Normalised to WaveSpeed's exact spelling ('1024x768' and spaces are forgiven, not forwarded).
    return f"{width}*{height}"


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("prompt must describe the edit; it is empty")
    return value


Prompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description=(
            "What to change, in English or Chinese (sent unchanged). Be specific: name the object and the change, "
            "e.g. 'replace the red car with a blue bicycle', 'change the sign text to \"OPEN\"', "
            "'把背景换成海边日落'. Quote exact text to write into the image."
        ),
    ),
    # After the length checks, so that their messages speak of characters, not items.
    AfterValidator(_non_blank),
]
IMAGE_DESCRIPTION: Final = (
    "The image to edit: a public http(s) URL (sent as is), a local file path (absolute, ~ or file://, inside the "
    "folders this server may read; uploaded for you), a data:image/...;base64 URI or base64 bytes. An earlier "
    "edit's output URL chains edits."
)
ImageRef = Annotated[str, Field(min_length=1)]
SIZE_DESCRIPTION: Final = (
    "Output size as 'WIDTH*HEIGHT' in pixels, each side 256-1536, e.g. '1024*1024'. "
    "Omit to keep the input image's size."
)
Size = Annotated[
    str,
    Field(max_length=32),  # checked before the parsing below, so a megabyte of digits costs nothing
    AfterValidator(parse_size),
    Field(json_schema_extra={"pattern": SIZE_PATTERN}),
]
Seed = Annotated[
    int,
    Field(
        ge=-1,
        le=MAX_SEED,
        description="Random seed, -1 (default) for a random one; reuse a seed to reproduce an edit.",
    ),
]


PREDICTION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
_PREDICTION_ID = re.compile(PREDICTION_ID_PATTERN)


def _prediction_id(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("prediction_id is empty; pass the prediction_id that edit_image returned")
    if "://" in value or "/" in value or ".." in value:
        raise ValueError(
            "prediction_id must be the bare id (letters, digits, '-' or '_'), not a URL or path; "
            "e.g. 'e6832d4abffb4d79bfbca19783fca133'"
        )
    if len(value) > 128:
        raise ValueError(f"prediction_id is {len(value)} characters long; WaveSpeed ids are at most 128 (usually 32)")
    if not _PREDICTION_ID.match(value):
        raise ValueError("prediction_id may contain only letters, digits, '-' and '_'")
    return value


PredictionId = Annotated[
    str,
    Field(max_length=256),  # before the checks below; they allow for white space around a 128-character id
    AfterValidator(_prediction_id),
    Field(
        description="The prediction_id returned by edit_image (32 hex characters).",
        json_schema_extra={"pattern": PREDICTION_ID_PATTERN, "minLength": 1, "maxLength": 128},
    ),
]


_HF_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
LORA_PATH_DESCRIPTION: Final = "A Hugging Face repository 'owner/name', or an https URL of a .safetensors file."


def _lora_path(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(
            "a LoRA path is empty; give a Hugging Face 'owner/name' or an https URL of a .safetensors file"
        )
    if ":" in value or "@" in value:  # a URL, or meant as one: no repository name holds either
        return _lora_url(value)
    if not _HF_REPO.fullmatch(value):
        raise ValueError(
            "a LoRA path must be a Hugging Face 'owner/name' or an https URL of a .safetensors file; "
            f"got {quoted(value)}"
        )
    return value


def _lora_url(url: str) -> str:
    """The URL, if it follows the image URL rules that need no lookup (private hosts are refused where the server's
    own address is known); a refusal never echoes it, since it may hold a password."""
    if any(ch.isspace() for ch in url):
        raise ValueError("a LoRA URL contains spaces; percent-encode them (%20)")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError("a LoRA URL contains control characters (such as NUL); remove them")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("a LoRA URL is not a valid URL; give an https URL of a .safetensors file") from None
    if "@" in parts.netloc or parts.username or parts.password:
        raise ValueError(
            "a LoRA URL carries credentials (a name or password before '@'); WaveSpeed fetches the file itself and "
            "would see them. Use a public or pre-signed URL instead"
        )
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("a LoRA URL must be an https:// URL with a host name (http is not accepted)")
    if not parts.path.lower().endswith(".safetensors"):
        raise ValueError("a LoRA URL must be an https URL of a .safetensors file")
    return url


def _lora_scale(value: float) -> float:
    if not 0 <= value <= MAX_LORA_SCALE:
        raise ValueError(
            f"a LoRA scale must be between 0 and {MAX_LORA_SCALE:g} (1 is the LoRA's full strength; 0.5-1.5 is "
            f"usual); got {value:g}"
        )
    return value


class Lora(BaseModel):
    """One LoRA as WaveSpeed takes it: `{path, scale}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Annotated[str, Field(max_length=2048, description=LORA_PATH_DESCRIPTION), AfterValidator(_lora_path)]
    scale: Annotated[
        float,
        Field(
            description=f"Strength, 0-{MAX_LORA_SCALE:g}; 1 is full strength.",
            json_schema_extra={"minimum": 0, "maximum": MAX_LORA_SCALE},
        ),
        AfterValidator(_lora_scale),
    ] = 1.0


class Prediction(BaseModel):
    """A prediction as the API returns it in `data`; tolerant of fields WaveSpeed adds later."""

    model_config = ConfigDict(extra="ignore")

    id: str
    model: str = ""
    status: KnownStatus = "created"
    outputs: list[str] = Field(default_factory=list[str])
    urls: dict[str, str] = Field(default_factory=dict[str, str])
    has_nsfw_contents: list[bool] = Field(default_factory=list[bool])
    created_at: str | None = None
    error: str | None = None
    # WaveSpeed's task-level code inside a failed prediction (1200, 1400-1405, 5000-5004); 0 means success.
    code: int | None = None
    timings: dict[str, float] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "completed"
