"""The emulator served for real on loopback: in-process with `running_emulator`, and as the CLI subprocess."""

from __future__ import annotations

import base64
import subprocess
import sys
from typing import Any

import anyio
import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, open_image, png_data_uri

from qwen_image_edit_mcp.emulator import EmulatorConfig, main, running_emulator


def png(size: tuple[int, int]) -> bytes:
    return base64.b64decode(png_data_uri(size, (50, 60, 70)).split(",", 1)[1])


async def poll_until_terminal(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    for _ in range(200):  # bounded: 200 * 0.02 s is far beyond the 0.2 s latency
        data: dict[str, Any] = (await http.get(url, headers=AUTH)).json()["data"]
        if data["status"] in ("completed", "failed"):
            return data
        await anyio.sleep(0.02)
    raise AssertionError("the job never finished")


@pytest.mark.anyio
async def test_a_running_emulator_serves_a_submit_and_poll_over_real_http() -> None:
    async with (
        running_emulator(EmulatorConfig(latency=0.2)) as emulator,
        httpx.AsyncClient(base_url=emulator.base_url, trust_env=False, timeout=10) as http,
    ):
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert emulator.state.config.public_base_url == emulator.base_url
        submitted = await http.post(
            SUBMIT,
            json={"prompt": "poster", "image": png_data_uri((320, 240), (9, 9, 9)), "output_format": "webp"},
            headers=AUTH,
        )
        assert submitted.status_code == 200
        assert submitted.headers["X-WaveSpeed-Emulator"] == "1"

        completed = await poll_until_terminal(http, submitted.json()["data"]["urls"]["get"])

        assert completed["status"] == "completed"
        image = open_image((await http.get(completed["outputs"][0])).content)
        assert (image.format, image.size) == ("WEBP", (320, 240))
        assert emulator.state.request_log()[0]["path"] == SUBMIT


@pytest.mark.anyio
async def test_an_input_on_another_loopback_server_is_fetched_over_http() -> None:
    async with (
        running_emulator(EmulatorConfig(latency=0.05)) as host,
        running_emulator(EmulatorConfig(latency=0.05)) as editor,
        httpx.AsyncClient(trust_env=False, timeout=10) as http,
    ):
        uploaded = await http.post(
            f"{host.base_url}/api/v3/media/upload/binary",
            files={"file": ("in.png", png((260, 270)), "image/png")},
            headers=AUTH,
        )
        download_url = uploaded.json()["data"]["download_url"]

        submitted = await http.post(
            f"{editor.base_url}{SUBMIT}", json={"prompt": "x", "image": download_url}, headers=AUTH
        )
        completed = await poll_until_terminal(http, submitted.json()["data"]["urls"]["get"])

        assert completed["status"] == "completed"
        assert open_image((await http.get(completed["outputs"][0])).content).size == (260, 270)
        assert [entry["path"] for entry in host.state.request_log()][-1].startswith("/media/")


@pytest.mark.anyio
async def test_running_emulator_refuses_a_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        async with running_emulator(host="0.0.0.0"):  # noqa: S104
            pass


def test_the_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--host", "0.0.0.0"])  # noqa: S104

    assert exited.value.code == 2
    assert "loopback" in capsys.readouterr().err


def test_the_cli_prints_its_url_when_ready_and_serves_requests_from_the_balance_given() -> None:
    code = (
        "from qwen_image_edit_mcp.emulator import main; main(['--port', '0', '--latency', '0.1', '--balance', '2.5'])"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            ready = process.stdout.readline().strip()
            assert ready.startswith("EMULATOR_READY http://127.0.0.1:")
            base_url = ready.split(" ", 1)[1]

            response = httpx.get(f"{base_url}/", trust_env=False, timeout=10)

            assert response.status_code == 200
            assert "EMULATOR" in response.text
            balance = httpx.get(f"{base_url}/api/v3/balance", headers=AUTH, trust_env=False, timeout=10)
            assert balance.json()["data"]["balance"] == 2.5
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "EMULATOR of the WaveSpeedAI API" in stderr
    assert "NOT the real WaveSpeed service" in stderr


@pytest.mark.parametrize("faults", ['{"no_such_fault": 1}', "not json", '{"submit_429": -1}'])
def test_the_cli_refuses_invalid_faults(capsys: pytest.CaptureFixture[str], faults: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--faults", faults])

    assert exited.value.code == 2
    assert "--faults" in capsys.readouterr().err


@pytest.mark.parametrize("balance", ["-1", "inf", "nan", "lots"])
def test_the_cli_refuses_a_balance_that_is_not_a_non_negative_amount(
    capsys: pytest.CaptureFixture[str], balance: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--balance", balance])

    assert exited.value.code == 2
    assert "--balance" in capsys.readouterr().err
