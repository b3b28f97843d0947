"""WaveSpeed's API paths, spelled once: the client, the emulator and the tests all read them from here."""

from __future__ import annotations

from typing import Final

from ..models import MODEL_ID

SUBMIT_PATH: Final = f"/api/v3/{MODEL_ID}"
RESULT_PATH: Final = "/api/v3/predictions/{id}/result"
PREDICTION_PATH: Final = "/api/v3/predictions/{id}"  # the same answer; WaveSpeed's newer docs use it beside /result
HISTORY_PATH: Final = "/api/v3/predictions"
PRESIGNED_UPLOAD_PATH: Final = "/api/v3/media/uploads"
BINARY_UPLOAD_PATH: Final = "/api/v3/media/upload/binary"
BALANCE_PATH: Final = "/api/v3/balance"
PRICE_PATH: Final = "/api/v3/model/price"
MODELS_PATH: Final = "/api/v3/models"  # the catalog: every model with its request schema, several MB


def submit_path(model_id: str) -> str:
    """Where a job of this model is submitted: each variant of the family has its own endpoint."""
    return f"/api/v3/{model_id}"
