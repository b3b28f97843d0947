"""The emulator's own checks of the 2025 family's fields, per model (`images`, `loras`), read from its catalog, and
its synthetic result that writes the LoRAs applied on the image. Through the in-memory client, on the fake clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, local_path, open_image, png_data_uri, result
from PIL import Image, ImageChops

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState
from qwen_image_edit_mcp.emulator.catalog import image_field, properties
from qwen_image_edit_mcp.emulator.catalog_data import FAMILY_2025

pytestmark = pytest.mark.anyio
A = "https://example.com/a.png"
FAMILY = {entry["model_id"].rpartition("/")[2]: entry for entry in FAMILY_2025}
MULTI = [name for name, entry in FAMILY.items() if image_field(entry) == "images"]
WITH_LORAS = [name for name, entry in FAMILY.items() if "loras" in properties(entry)]
WITHOUT_LORAS = [name for name in FAMILY if name not in WITH_LORAS]


def body_for(name: str, **fields: Any) -> dict[str, Any]:
    """A valid body for the model: its own image field, then `fields` on top."""
    given: dict[str, Any] = {"images": [A]} if name in MULTI else {"image": A}
    return {"prompt": "x", **given, **fields}


async def post(client: httpx.AsyncClient, name: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v3/{FAMILY[name]['model_id']}", json=body, headers=AUTH)


async def refused(client: httpx.AsyncClient, state: EmulatorState, name: str, body: dict[str, Any]) -> str:
    response = await post(client, name, body)
    assert response.status_code == 400, response.text
    assert state.predictions == {}
    message: str = response.json()["message"]
    return message


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("images", [[], [A] * 4, A, [A, ""], [A, 5], [A, "  "]], ids=repr)
async def test_images_must_be_an_array_of_1_to_3_non_empty_strings(
    client: httpx.AsyncClient, state: EmulatorState, name: str, images: object
) -> None:
    message = await refused(client, state, name, {"prompt": "x", "images": images})
    assert message == "Invalid parameter 'images': must be an array of 1 to 3 non-empty strings."


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("count", [1, 3])
async def test_one_to_three_images_are_accepted(client: httpx.AsyncClient, state: EmulatorState, name: str, count: int):
    response = await post(client, name, {"prompt": "x", "images": [A] * count})
    assert response.status_code == 200, response.text
    (prediction,) = state.predictions.values()
    assert prediction.input.images == (A,) * count
    assert prediction.input.model == FAMILY[name]["model_id"]


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("body", [{"prompt": "x"}, {"prompt": "x", "image": A}], ids=["missing", "image-instead"])
async def test_a_multi_image_model_requires_images_and_does_not_take_image(
    client: httpx.AsyncClient, state: EmulatorState, name: str, body: dict[str, Any]
) -> None:
    assert await refused(client, state, name, body) == "Missing required parameter 'images'."


@pytest.mark.parametrize("name", [name for name in FAMILY if name not in MULTI])
async def test_a_single_image_model_does_not_take_images(
    client: httpx.AsyncClient, state: EmulatorState, name: str
) -> None:
    assert await refused(client, state, name, {"prompt": "x", "images": [A]}) == "Missing required parameter 'image'."


@pytest.mark.parametrize("name", WITHOUT_LORAS)
async def test_loras_sent_to_a_model_without_them_are_ignored_like_any_unknown_field(
    client: httpx.AsyncClient, state: EmulatorState, name: str
) -> None:
    response = await post(client, name, body_for(name, loras=[{"path": "owner/name", "scale": 9}]))
    assert response.status_code == 200, response.text
    (prediction,) = state.predictions.values()
    assert prediction.input.loras == ()


@pytest.mark.parametrize("name", WITH_LORAS)
@pytest.mark.parametrize(
    "loras",
    [
        [{"path": "owner/name", "scale": -0.1}],
        [{"path": "owner/name", "scale": 4.01}],
        [{"path": "owner/name", "scale": True}],
        [{"path": "owner/name", "scale": "1"}],
        [{"path": ""}],
        [{"scale": 1}],
        ["owner/name"],
        [{"path": "owner/name"}] * 4,
        {"path": "owner/name"},
    ],
    ids=repr,
)
async def test_each_lora_rule_is_enforced_with_a_400_naming_loras(
    client: httpx.AsyncClient, state: EmulatorState, name: str, loras: object
) -> None:
    message = await refused(client, state, name, body_for(name, loras=loras))
    assert (
        message == "Invalid parameter 'loras': must be an array of at most 3 objects {path: string, scale: number 0-4}."
    )


@pytest.mark.parametrize("name", WITH_LORAS)
async def test_scales_at_the_bounds_and_the_default_scale_are_accepted(
    client: httpx.AsyncClient, state: EmulatorState, name: str
) -> None:
    loras = [{"path": "owner/off", "scale": 0}, {"path": "owner/max", "scale": 4}, {"path": "owner/default"}]
    response = await post(client, name, body_for(name, loras=loras))
    assert response.status_code == 200, response.text
    (prediction,) = state.predictions.values()
    assert prediction.input.loras == (("owner/off", 0.0), ("owner/max", 4.0), ("owner/default", 1.0))


async def rendered(client: httpx.AsyncClient, clock: FakeClock, name: str, loras: list[str]) -> Image.Image:
    """The output of one job of `name` on a flat grey picture, with these LoRAs (png, so nothing is lost)."""
    picture = png_data_uri((320, 240), (128, 128, 128))
    given: dict[str, Any] = {"images": [picture]} if name in MULTI else {"image": picture}
    body = {"prompt": "x", "seed": 7, "output_format": "png", **given}
    if name in WITH_LORAS:
        body["loras"] = [{"path": path} for path in loras]
    response = await post(client, name, body)
    assert response.status_code == 200, response.text
    clock.advance(10)
    completed = await result(client, response.json()["data"]["id"])
    (url,) = completed["outputs"]
    return open_image((await client.get(local_path(url))).content).convert("RGB")


@pytest.mark.parametrize("name", WITH_LORAS)
async def test_the_synthetic_result_writes_the_lora_names_along_the_bottom_left(
    client: httpx.AsyncClient, clock: FakeClock, name: str
) -> None:
    plain = await rendered(client, clock, name, [])
    one = await rendered(client, clock, name, ["owner/warm-light"])
    other = await rendered(client, clock, name, ["someone/angles-v2"])
    two = await rendered(client, clock, name, ["owner/warm-light", "someone/angles-v2"])
    label = ImageChops.difference(plain, one).getbbox()
    assert label is not None, "the LoRA is written on the image"
    left, top, _, bottom = label
    assert left < 10 and top > 240 * 3 // 4 and bottom <= 240  # noqa: PT018 - one box, along the bottom left
    assert ImageChops.difference(one, other).getbbox() is not None, "the name itself is written, not a mark"
    two_label = ImageChops.difference(plain, two).getbbox()
    assert two_label is not None
    assert two_label[1] < top, "a second LoRA is a second line, above the first"
