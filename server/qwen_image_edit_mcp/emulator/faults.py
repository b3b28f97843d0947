"""How the emulator is set up (`EmulatorConfig`) and how it is told to misbehave (`Faults`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The faults that count down: each fires for the next N matching requests, one per request.
Counter = Literal[
    "submit_429",
    "submit_error_count",
    "poll_errors",
    "poll_html_errors",
    "envelope_errors",
    "fail_count",
    "sync_504",
    "poll_stalls",
    "poll_resets",
    "sync_504_with_id",
    "poll_deep_json",
    "poll_bad_encoding",
    "poll_wrong_id",
    "price_errors",
    "catalog_errors",
]


@dataclass
class EmulatorConfig:
    # None accepts any non-empty Bearer token; a string accepts exactly that key.
    api_key: str | None = None
    # Seconds from submit to completion for every job (a fault may override it per job).
    latency: float = 3.0
    # How long a sync-mode POST blocks before answering WaveSpeed's 5004 "still processing".
    sync_timeout: float = 90.0
    # The account's balance in USD at start (and after a reset); each job draws its price from it.
    balance: float = 10_000.0
    # Prefix of every absolute URL the emulator hands out; running_emulator sets it once the port is known.
    public_base_url: str = "http://127.0.0.1"


class Faults(BaseModel):
    """Misbehaviour to inject; all off by default. Counters (N) are consumed one per matching request."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    submit_429: int = Field(default=0, ge=0)
    retry_after: float = Field(default=1, ge=0)
    submit_error_status: int | None = Field(default=None, ge=400, le=599)
    submit_error_count: int = Field(default=0, ge=0)
    poll_error_status: int = Field(default=503, ge=400, le=599)
    poll_errors: int = Field(default=0, ge=0)
    poll_html_errors: int = Field(default=0, ge=0)
    envelope_error_code: int | None = None
    envelope_errors: int = Field(default=0, ge=0)
    fail_code: int | None = None
    fail_message: str = "The task failed (fault injected into the emulator)."
    fail_count: int = Field(default=0, ge=0)
    latency: float | None = Field(default=None, ge=0)
    hold: bool = False
    nsfw: bool = False
    num_outputs: int = Field(default=1, ge=1, le=16)
    sync_504: int = Field(default=0, ge=0)
    noisy_output: bool = False
    presigned_unavailable: bool = False
    # For the reliability suite:
    poll_stalls: int = Field(default=0, ge=0)  # next N result GETs answer only after `stall_seconds`
    stall_seconds: float = Field(default=30.0, ge=0)
    poll_resets: int = Field(default=0, ge=0)  # next N result GETs drop the connection mid-response
    poll_error_rate: float = Field(default=0.0, ge=0, le=1)  # this share of result GETs answer 503 (seeded, repeatable)
    output_missing: bool = False  # output URLs answer 404
    output_stall_seconds: float = Field(default=0.0, ge=0)  # output URLs answer only after this long
    sync_504_with_id: int = Field(default=0, ge=0)  # next N sync submits answer 504 with the envelope and the id
    # Hostile answers (see hostile.py): what a broken proxy, CDN or upstream bug can send.
    poll_deep_json: int = Field(default=0, ge=0)  # next N result GETs answer JSON nested 200,000 levels deep
    poll_bad_encoding: int = Field(default=0, ge=0)  # next N result GETs claim gzip and are not
    poll_wrong_id: int = Field(default=0, ge=0)  # next N result GETs describe another prediction's id
    submit_stall_seconds: float = Field(default=0.0, ge=0)  # submits create the job, then answer this late
    output_corrupt: Literal["truncated", "not_image", "bomb", "empty"] | None = None  # what output URLs serve
    output_redirect_loop: bool = False  # output URLs redirect to themselves
    output_bad_encoding: bool = False  # output bodies claim gzip and are not
    base64_garbage: Literal["empty", "not_image"] | None = None  # what base64 outputs hold
    # Money (see api_account.py):
    price_errors: int = Field(default=0, ge=0)  # next N price look-ups answer 500
    price_usd: float | None = Field(default=None, gt=0)  # what every run costs instead of the documented price
    empty_account_status: int = Field(default=402, ge=400, le=499)  # how a job the balance cannot pay is refused
    empty_account_message: str = "Insufficient balance. Please top up your account to continue."
    # The catalog (see api_catalog.py):
    catalog_errors: int = Field(default=0, ge=0)  # next N GET /api/v3/models answer 500
