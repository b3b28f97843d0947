"""Media uploads (presigned PUT and multipart), using an upload as input, and the request log."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from emulator_helpers import API_KEY, AUTH, SUBMIT, local_path, open_image, result, submit
from PIL import Image

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio


def png_bytes(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


async def presign(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v3/media/uploads", json=fields, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["code"] == 200
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_a_presigned_upload_is_put_then_served_at_its_download_url(client: httpx.AsyncClient) -> None:
    content = png_bytes((300, 300), (0, 200, 0))
    data = await presign(client, filename="cat.png", size=len(content), content_type="image/png")

    assert data["type"] == "image"
    assert (data["filename"], data["size"]) == ("cat.png", len(content))
    assert data["download_url"].startswith("http://127.0.0.1/media/")
    assert data["download_url"].endswith("/cat.png")
    upload = data["upload"]
    assert upload["method"] == "PUT"
    assert upload["url"].startswith("http://127.0.0.1/_storage/")
    assert upload["headers"] == {"Content-Type": "image/png"}
    assert (await client.get(local_path(data["download_url"]))).status_code == 404  # not uploaded yet

    put = await client.put(local_path(upload["url"]), content=content, headers=upload["headers"])

    assert put.status_code == 200
    served = await client.get(local_path(data["download_url"]))
    assert served.status_code == 200
    assert served.content == content
    assert served.headers["content-type"] == "image/png"


async def test_a_presigned_upload_without_content_type_uses_octet_stream(client: httpx.AsyncClient) -> None:
    data = await presign(client, filename="blob.bin", size=3)

    assert data["upload"]["headers"] == {"Content-Type": "application/octet-stream"}


async def test_the_storage_put_refuses_an_authorization_header(client: httpx.AsyncClient) -> None:
    data = await presign(client, filename="a.png", size=3, content_type="image/png")

    put = await client.put(
        local_path(data["upload"]["url"]), content=b"abc", headers={**data["upload"]["headers"], **AUTH}
    )

    assert put.status_code == 400
    assert "Authorization" in put.text
    assert (await client.get(local_path(data["download_url"]))).status_code == 404


async def test_the_storage_put_refuses_a_body_of_the_wrong_size(client: httpx.AsyncClient) -> None:
    data = await presign(client, filename="a.png", size=4, content_type="image/png")

    put = await client.put(local_path(data["upload"]["url"]), content=b"abc", headers=data["upload"]["headers"])

    assert put.status_code == 400
    assert "4" in put.text


async def test_the_storage_put_refuses_a_different_content_type(client: httpx.AsyncClient) -> None:
    data = await presign(client, filename="a.png", size=3, content_type="image/png")

    put = await client.put(local_path(data["upload"]["url"]), content=b"abc", headers={"Content-Type": "image/jpeg"})

    assert put.status_code == 400


async def test_the_storage_put_to_an_unknown_token_is_404(client: httpx.AsyncClient) -> None:
    put = await client.put("/_storage/0123456789abcdef", content=b"abc")

    assert put.status_code == 404


async def test_a_presigned_upload_request_needs_the_api_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v3/media/uploads", json={"filename": "a.png", "size": 3})

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"size": 3}, {"filename": "", "size": 3}, {"filename": "a.png"}, {"filename": "a.png", "size": -1}, [1]],
)
async def test_a_malformed_presigned_upload_request_is_400(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/api/v3/media/uploads", json=body, headers=AUTH)

    assert response.status_code == 400


async def test_presigned_unavailable_makes_the_presigned_endpoint_404(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    state.update_faults({"presigned_unavailable": True})

    response = await client.post("/api/v3/media/uploads", json={"filename": "a.png", "size": 3}, headers=AUTH)

    assert response.status_code == 404


async def test_a_multipart_upload_is_served_at_its_download_url(client: httpx.AsyncClient) -> None:
    content = png_bytes((64, 64), (1, 2, 3))

    response = await client.post(
        "/api/v3/media/upload/binary", files={"file": ("my photo.png", content, "image/png")}, headers=AUTH
    )

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    data = body["data"]
    assert (data["type"], data["filename"], data["size"]) == ("image", "my photo.png", len(content))
    assert data["download_url"].endswith("/my%20photo.png")
    served = await client.get(local_path(data["download_url"]))
    assert served.content == content


async def test_a_multipart_upload_needs_a_file_part_and_the_key(client: httpx.AsyncClient) -> None:
    no_key = await client.post("/api/v3/media/upload/binary", files={"file": ("a.png", b"x", "image/png")})
    wrong_part = await client.post(
        "/api/v3/media/upload/binary", files={"image": ("a.png", b"x", "image/png")}, headers=AUTH
    )
    not_multipart = await client.post("/api/v3/media/upload/binary", content=b"x", headers=AUTH)

    assert no_key.status_code == 401
    assert wrong_part.status_code == 400
    assert "'file'" in wrong_part.json()["message"]
    assert not_multipart.status_code == 400


async def test_an_uploaded_image_is_the_input_of_an_edit(client: httpx.AsyncClient, clock: FakeClock) -> None:
    content = png_bytes((400, 280), (0, 0, 230))
    upload = (
        await client.post(
            "/api/v3/media/upload/binary", files={"file": ("blue.png", content, "image/png")}, headers=AUTH
        )
    ).json()["data"]

    data = await submit(client, image=upload["download_url"], output_format="png")
    clock.advance(3)
    completed = await result(client, data["id"])

    image = open_image((await client.get(local_path(completed["outputs"][0]))).content).convert("RGB")
    assert image.size == (400, 280)
    pixel = image.getpixel((200, 200))
    assert isinstance(pixel, tuple)
    assert pixel[2] > 120 > pixel[0]


async def test_an_output_can_be_the_input_of_the_next_edit(client: httpx.AsyncClient, clock: FakeClock) -> None:
    first = await submit(client, size="512*256")
    clock.advance(3)
    first_output = (await result(client, first["id"]))["outputs"][0]

    second = await submit(client, image=first_output)
    clock.advance(3)
    completed = await result(client, second["id"])

    assert completed["status"] == "completed"
    image = open_image((await client.get(local_path(completed["outputs"][0]))).content)
    assert image.size == (512, 256)


async def test_a_missing_emulator_upload_as_input_fails_with_1402(client: httpx.AsyncClient, clock: FakeClock):
    data = await submit(client, image="http://127.0.0.1/media/0123456789abcdef/gone.png")
    clock.advance(3)

    failed = await result(client, data["id"])

    assert (failed["status"], failed["code"]) == ("failed", 1402)


async def test_the_request_log_records_calls_but_never_the_key(client: httpx.AsyncClient, clock: FakeClock) -> None:
    data = await submit(client)
    clock.advance(1)
    await client.get(f"/api/v3/predictions/{data['id']}/result")
    presigned = await presign(client, filename="a.png", size=3, content_type="image/png")
    await client.put(local_path(presigned["upload"]["url"]), content=b"abc", headers=presigned["upload"]["headers"])
    await client.get("/_emulator/faults")  # control calls are not logged

    response = await client.get("/_emulator/requests")

    log = response.json()
    assert [(entry["method"], entry["path"].split("/")[1]) for entry in log] == [
        ("POST", "api"),
        ("GET", "api"),
        ("POST", "api"),
        ("PUT", "_storage"),
    ]
    assert [entry["has_authorization"] for entry in log] == [True, False, True, False]
    assert log[0]["path"] == SUBMIT
    assert log[0]["json"]["prompt"] == "make the sky purple"
    assert log[1]["json"] is None
    assert log[2]["json"] == {"filename": "a.png", "size": 3, "content_type": "image/png"}
    assert log[1]["time"] - log[0]["time"] == pytest.approx(1.0)
    assert API_KEY not in response.text
    assert API_KEY not in json.dumps(log)
