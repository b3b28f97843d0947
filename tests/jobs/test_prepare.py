"""The prepared edit on its own, against a scripted WaveSpeed: every free check before any paid request (a model's
options against its own schema included), the quote asked for the run's own inputs (never an image's bytes), and the
limit consulted once the price is known."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from fakes import FakeClock
from harness import ledger_in, png_data_uri
from jobs.scripted import client_for
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.prepare import EditArgs, prepare_edit
from qwen_image_edit_mcp.jobs.pricing import PriceBook
from qwen_image_edit_mcp.jobs.runtime import Runtime
from qwen_image_edit_mcp.jobs.schedule import DurationHistory
from qwen_image_edit_mcp.jobs.spending import Spending, SpendRefused, live_prices
from qwen_image_edit_mcp.media.inputs import ImageInputs
from qwen_image_edit_mcp.state.ledger import SpendLedger
from qwen_image_edit_mcp.state.store import open_store
from qwen_image_edit_mcp.upstream.catalog import Catalog

pytestmark = pytest.mark.anyio
URL = "https://example.com/street.jpg"


def runtime(
    clock: FakeClock,
    priced: list[dict[str, object]],
    ledger: SpendLedger | None = None,
    store_dir: Path = Path("/nonexistent"),
    catalog: Catalog | None = None,
) -> Runtime:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/model/price", "only the price is asked for while preparing"
        priced.append(json.loads(request.content))
        return httpx.Response(200, json={"code": 200, "data": {"price": 0.03}})

    client = client_for(answer)
    prices = PriceBook(live_prices(client), clock=clock.now)
    inputs = ImageInputs(client.base_url, (), uploader=None)
    settings = Settings(base_url=client.base_url)
    store = open_store(None, store_dir)
    models = catalog or Catalog.offline()  # offline: the built-in models only, as a runtime without a server has
    return Runtime(settings, client, clock, inputs, DurationHistory(), store, Spending(prices, ledger), catalog=models)


class EmulatedCatalog:
    """The emulator's catalog entries, as `GET /api/v3/models` answers them; each read counted."""

    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self) -> list[object]:
        self.reads += 1
        return [copy.deepcopy(entry) for entry in BUILT_IN_MODELS]

    def catalog(self) -> Catalog:
        return Catalog(self, None, key="x")


async def test_the_quote_is_for_the_run_s_inputs_and_never_carries_image_bytes(clock: FakeClock) -> None:
    priced: list[dict[str, object]] = []
    inline = png_data_uri((64, 48))
    args = EditArgs(prompt="add a hat", images=(URL, inline), model="edit-plus", size="512*512", seed=7)
    prepared = await prepare_edit(runtime(clock, priced), args)
    assert prepared.price_usd == Decimal("0.03")
    assert prepared.quote.source == "live"
    (asked,) = priced
    assert asked["model_id"] == "wavespeed-ai/qwen-image/edit-plus"
    inputs = asked["inputs"]
    assert isinstance(inputs, dict)
    assert inputs["images"] == [URL, "images[1] (uploaded when submitted)"]
    assert (inputs["size"], inputs["seed"]) == ("512*512", 7)
    assert "base64," not in json.dumps(asked)  # no data URI went to the look-up
    assert prepared.inputs[1].data is not None  # the bytes are kept for the upload, once approved


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (EditArgs(prompt="x", image=URL, enable_sync_mode=True, wait_seconds=2), "at least 10"),
        (EditArgs(prompt="x", image="data:image/png;base64,aGVsbG8="), "readable image"),
        (EditArgs(prompt="x", image=URL, model="edit-lora", loras=()), None),
    ],
)
async def test_a_free_check_refuses_before_the_price_is_asked(
    clock: FakeClock, args: EditArgs, said: str | None
) -> None:
    priced: list[dict[str, object]] = []
    if said is None:  # a control: a valid edit is priced
        await prepare_edit(runtime(clock, priced), args)
        assert len(priced) == 1
        return
    with pytest.raises(InputError, match=said):
        await prepare_edit(runtime(clock, priced), args)
    assert priced == []


async def test_a_limit_without_room_for_the_quoted_price_refuses(clock: FakeClock, tmp_path: Path) -> None:
    priced: list[dict[str, object]] = []
    ledger = ledger_in(tmp_path, "0.05")
    await ledger.reserve(Decimal("0.03"), label="another edit")
    with pytest.raises(SpendRefused, match=r"costs \$0\.03, which would pass the spend limit of \$0\.05"):
        await prepare_edit(runtime(clock, priced, ledger), EditArgs(prompt="x", image=URL))
    assert len(priced) == 1  # the limit is consulted with the live price, not the table's $0.02


async def test_options_reach_the_request_body_of_a_catalog_model(clock: FakeClock) -> None:
    priced: list[dict[str, object]] = []
    listed = EmulatedCatalog()
    options = {"guidance_scale": 7.5, "num_inference_steps": 30}
    args = EditArgs(prompt="add a hat", images=(URL,), model="edit-2.1", options=options)
    prepared = await prepare_edit(runtime(clock, priced, catalog=listed.catalog()), args)
    assert listed.reads == 1  # only the catalog says what this model takes
    assert (prepared.model.model_id, prepared.model.source) == ("wavespeed-ai/qwen-image-2.1/edit", "catalog")
    request = prepared.request(["https://cdn.test/street.jpg"])
    assert request.model_id == "wavespeed-ai/qwen-image-2.1/edit"
    assert request.inputs["images"] == ["https://cdn.test/street.jpg"]
    assert (request.inputs["guidance_scale"], request.inputs["num_inference_steps"]) == (7.5, 30)
    (asked,) = priced
    inputs = asked["inputs"]
    assert isinstance(inputs, dict)
    assert (inputs["guidance_scale"], inputs["num_inference_steps"]) == (7.5, 30)  # priced as it will run


async def test_an_unknown_option_is_refused_before_any_image_is_read_or_price_asked(clock: FakeClock) -> None:
    priced: list[dict[str, object]] = []
    listed = EmulatedCatalog()
    unreadable = "data:image/png;base64,aGVsbG8="  # read, it would be refused as no readable image
    args = EditArgs(prompt="add a hat", images=(unreadable,), model="edit-2.1", options={"strength": 0.5})
    with pytest.raises(InputError, match=r"options\.strength: model edit-2\.1 has no field 'strength'") as caught:
        await prepare_edit(runtime(clock, priced, catalog=listed.catalog()), args)
    assert "guidance_scale" in str(caught.value)  # it names the fields the model does take
    assert priced == []
