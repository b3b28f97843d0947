"""Inline images: recognised in linear time, bounded before decoding, and refused with the field named."""

from __future__ import annotations

import base64

import pytest

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.media import inline_images
from qwen_image_edit_mcp.media.inline_images import decode_inline, looks_like_base64

# The argument that froze the whole server for 15 s with the old regular expression, made 80 times longer.
HOSTILE = "A" * 64 + " " * 4_000_000 + "!"


def test_base64_with_white_space_and_padding_is_recognised() -> None:
    text = base64.b64encode(b"\x89PNG" + bytes(200)).decode()
    assert looks_like_base64(text)
    assert looks_like_base64("\n".join(text[i : i + 76] for i in range(0, len(text), 76)))


@pytest.mark.parametrize(
    "text", [HOSTILE, "A" * 63, "A" * 64 + "===", "A" * 32 + "=" + "A" * 32, "/home/me/Pictures/cat.png", ""]
)
def test_what_is_not_base64_is_told_apart(text: str) -> None:
    assert not looks_like_base64(text)


def test_the_hostile_argument_is_judged_by_linear_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted, not timed: the check may look at the text only a fixed number of times.
    seen: list[int] = []
    real_split = str.split

    class Counting(str):
        def split(self, *args: object, **kwargs: object) -> list[str]:
            seen.append(len(self))
            return real_split(self)

    assert not looks_like_base64(Counting(HOSTILE))
    assert seen == [len(HOSTILE)]


def test_a_data_uri_must_say_base64() -> None:
    with pytest.raises(InputError, match=r"^images\[1\]: a data: URI must be base64"):
        decode_inline("data:image/png,rawbytes", field="images[1]")


def test_an_oversized_payload_is_refused_before_it_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inline_images, "MAX_INLINE_DATA_BYTES", 1000)
    with pytest.raises(InputError, match="more than 0 MB"):
        decode_inline("data:image/png;base64," + "A" * 2000, field="image")


def test_invalid_base64_names_the_field() -> None:
    with pytest.raises(InputError, match=r"^mask: the base64 string is not valid base64"):
        decode_inline("A" * 65, field="mask")
