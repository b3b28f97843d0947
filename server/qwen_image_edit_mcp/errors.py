"""Everything that can go wrong between this server and WaveSpeed, as one exception tree.

    WaveSpeedError
    ├── MissingApiKeyError        no WAVESPEED_API_KEY: nothing was sent
    ├── ApiError                  the API refused a request (HTTP status, or an envelope `code` other than 200)
    │   ├── BadRequestError          400: a parameter WaveSpeed rejected
    │   ├── AuthenticationError      401: wrong key, or an account never topped up
    │   ├── PermissionDeniedError    403: suspended account or a key without the role
    │   ├── InsufficientBalanceError the account is empty: 402, or a 4xx whose message says so (unverified)
    │   ├── NotFoundError            404: unknown prediction (or expired: kept 7 days)
    │   ├── RateLimitError           429: too many requests; carries Retry-After when sent
    │   └── ServerError              5xx: WaveSpeed or its gateway failed
    ├── ConnectionFailedError     no answer: refused, reset, timed out; `request_sent` says if it may have arrived
    └── UnexpectedResponseError   an answer that is not WaveSpeed's JSON envelope (e.g. a proxy's HTML page)

    InputError                    an argument the server refuses itself, before anything is paid (names the field)

What a failed submit means is decided once, where the answer was read, and carried by the error: `outcome` is
"nothing_created" (a 4xx refusal, a connection that never opened, no key) or "unknown" (sent, then a 5xx, no answer,
or an answer that is not WaveSpeed's: a job may exist), and `may_resend` says whether sending the same submit again
is safe and may help (a 429, a connection that never opened). Everything that acts on a failed submit reads these two.

"The API refused" (ApiError) is kept apart from "the job ran and failed", which is not an exception at all but an
outcome carrying the prediction (`jobs.outcome.Failed`; its words come from `describe_failure`), as replicate-python
keeps them apart. Every message is written for the model that called the tool: it says what happened and what to do,
and never contains the API key or any request header.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .models import Prediction

SubmitOutcome = Literal["nothing_created", "unknown"]


class WaveSpeedError(Exception):
    """Base class. `retryable` marks failures worth another try of the same read-only request; `outcome` and
    `may_resend` say what the failure means for a submit (unknown, unless the subclass knows better)."""

    retryable: bool = False
    outcome: SubmitOutcome = "unknown"
    may_resend: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def created_nothing(self) -> bool:
        return self.outcome == "nothing_created"


class MissingApiKeyError(WaveSpeedError):
    outcome: SubmitOutcome = "nothing_created"

    def __init__(self) -> None:
        super().__init__(
            "No WaveSpeed API key is configured. Set the environment variable WAVESPEED_API_KEY in this MCP "
            "server's configuration (get a key at https://wavespeed.ai/accesskey), then restart the server."
        )


class ApiError(WaveSpeedError):
    def __init__(self, message: str, *, status_code: int, api_message: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.api_message = api_message
        # A 4xx refusal is WaveSpeed saying no: nothing was created. Anything else that is not a success (a 5xx, or
        # an envelope whose code is no HTTP refusal) leaves the outcome unknown.
        self.outcome = "nothing_created" if 400 <= status_code < 500 else "unknown"


class BadRequestError(ApiError):
    pass


class AuthenticationError(ApiError):
    pass


class PermissionDeniedError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class InsufficientBalanceError(ApiError):
    """The account cannot pay for the job. WaveSpeed's exact answer is unverified (its docs only say "top up"):
    recognised by HTTP 402, or by its message under any other 4xx refusal."""


class RateLimitError(ApiError):
    retryable = True
    may_resend = True  # refused before anything was created, and it may pass a moment later

    def __init__(self, message: str, *, status_code: int, api_message: str = "", retry_after: float | None) -> None:
        super().__init__(message, status_code=status_code, api_message=api_message)
        self.retry_after = retry_after


class ServerError(ApiError):
    retryable = True

    def __init__(self, message: str, *, status_code: int, api_message: str = "") -> None:
        super().__init__(message, status_code=status_code, api_message=api_message)
        self.outcome = "unknown"  # a 5xx may come after the job was made


class ConnectionFailedError(WaveSpeedError):
    retryable = True

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent
        # Only a connection that never opened proves the request never arrived.
        self.outcome = "unknown" if request_sent else "nothing_created"
        self.may_resend = not request_sent


class UnexpectedResponseError(WaveSpeedError):
    retryable = True


class RefusedAddressError(UnexpectedResponseError):
    """An output URL (or its redirect) that points at a local or private address: never fetched, now or later."""

    retryable = False


class InputError(ValueError):
    """An argument the server refuses itself, before any paid request; the message names the field and the fix."""


def quoted(text: str, limit: int = 80) -> str:
    """`text` quoted for a message, cut short: an error must not echo megabytes of a bad argument back."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


TOP_UP_URL = "https://wavespeed.ai/top-up"
# How an empty account may be worded: WaveSpeed's answer is unverified, so any 4xx refusal that says so counts.
_NO_BALANCE = re.compile(
    r"insufficient\W*(?:account\W*)?(?:balance|credit|fund)|(?:balance|credit|fund)s?\W*(?:is\W*)?(?:insufficient|"
    r"too\W*low|not\W*enough|exhausted)|not\W*enough\W*(?:balance|credit|fund)|out\W*of\W*(?:balance|credit)|top\W*up|"
    r"余额不足",
    re.IGNORECASE,
)


def says_no_balance(status_code: int, api_message: str) -> bool:
    """True for WaveSpeed's answer to an empty account, in either reading: HTTP 402, or a refusal that says so."""
    if status_code == 402:
        return True
    return 400 <= status_code < 500 and status_code not in (401, 404, 429) and bool(_NO_BALANCE.search(api_message))


def api_error(status_code: int, api_message: str, *, retry_after: float | None = None) -> ApiError:
    """The typed error for an HTTP status (or an envelope code), with advice the model can act on."""
    said = f" WaveSpeed said: {api_message}" if api_message else ""
    if says_no_balance(status_code, api_message):
        return InsufficientBalanceError(
            f"The WaveSpeed account's balance is too low to pay for this edit (HTTP {status_code}), so nothing was "
            f"created or paid. The user must top up at {TOP_UP_URL}; calling again before that will fail the same "
            f"way. get_balance shows the balance.{said}",
            status_code=status_code,
            api_message=api_message,
        )
    if status_code == 400:
        return BadRequestError(
            f"WaveSpeed rejected the request as invalid (HTTP 400).{said} Fix the named parameter and call again.",
            status_code=status_code,
            api_message=api_message,
        )
    if status_code == 401:
        return AuthenticationError(
            "WaveSpeed refused the API key (HTTP 401): the key in WAVESPEED_API_KEY is wrong, revoked, or belongs to "
            "an account that was never topped up (keys only work after a first top-up at "
            f"https://wavespeed.ai/top-up). Retrying will not help; the user must fix the key.{said}",
            status_code=status_code,
            api_message=api_message,
        )
    if status_code == 403:
        return PermissionDeniedError(
            "WaveSpeed denied access (HTTP 403): the account may be suspended or out of balance, or the key's role "
            f"may not use this model. Retrying will not help; the user must check the WaveSpeed account.{said}",
            status_code=status_code,
            api_message=api_message,
        )
    if status_code == 404:
        return NotFoundError(
            "WaveSpeed has no such prediction (HTTP 404): the id is wrong, or the prediction is older than the 7 days "
            f"WaveSpeed keeps them.{said}",
            status_code=status_code,
            api_message=api_message,
        )
    if status_code == 429:
        wait = f" Wait about {retry_after:g} s before trying again." if retry_after else " Wait a minute and retry."
        return RateLimitError(
            "WaveSpeed is rate-limiting this account (HTTP 429): too many requests or jobs at once (new accounts may "
            f"start only 2 images per minute).{wait}{said}",
            status_code=status_code,
            api_message=api_message,
            retry_after=retry_after,
        )
    if status_code >= 500:
        return ServerError(
            f"WaveSpeed had a server error (HTTP {status_code}).{said} This is usually temporary.",
            status_code=status_code,
            api_message=api_message,
        )
    return ApiError(
        f"WaveSpeed refused the request (HTTP {status_code}).{said}",
        status_code=status_code,
        api_message=api_message,
    )


# WaveSpeed's task error codes (docs: /docs/error-codes) and what the caller should do about each.
TASK_ERRORS: dict[int, tuple[str, str]] = {
    1200: (
        "Content Moderation",
        "The input or prompt was flagged as sensitive. Change the prompt or image; "
        "retrying the same input will fail again.",
    ),
    1400: ("Missing Parameter", "A required parameter was missing. Check prompt and image."),
    1401: (
        "Invalid Parameter",
        "A parameter value was invalid (for example the size or the image). Fix it and call again.",
    ),
    1402: (
        "Media Access Failed",
        "WaveSpeed could not download the input image. Use a URL that is publicly "
        "reachable without login (not localhost or an intranet address), or pass the image as a data: URI.",
    ),
    1403: ("Task Execution Failed", "The model could not run this edit. Adjust the prompt or image and try again."),
    1404: ("Task Failed", "The job failed. Adjust the inputs and try again."),
    1405: ("Task Failed", "The job failed. Adjust the inputs and try again."),
    5000: (
        "Internal Error",
        "WaveSpeed had an internal error. Try again in a little while (a new job; failed jobs are refunded).",
    ),
    5001: ("Internal Error", "WaveSpeed had an internal error. Try again in a little while."),
    5002: ("Internal Error", "WaveSpeed had an internal error. Try again in a little while."),
    5003: ("Service Unavailable", "The model is temporarily unavailable. Try again in a minute."),
    5004: ("Timeout", "The job timed out at WaveSpeed. Try again; a smaller size may help."),
}


def describe_failure(prediction: Prediction) -> str:
    """One paragraph for a prediction that ended without outputs: what WaveSpeed said and what to do."""
    code = prediction.code or 0
    name, advice = TASK_ERRORS.get(code, ("", "See WaveSpeed's reason above; adjust the inputs and try again."))
    label = f" (WaveSpeed code {code}{': ' + name if name else ''})" if code else ""
    reason = (prediction.error or "").strip() or "no reason given"
    if prediction.status in ("cancelled", "deleted"):
        advice = "The job was cancelled or deleted at WaveSpeed; start a new edit if it is still wanted."
    elif prediction.status == "timeout":
        advice = "The job timed out at WaveSpeed. Try again; a smaller size may help."
    return f"The edit failed: prediction {prediction.id} ended '{prediction.status}'{label}. Reason: {reason}. {advice}"
