"""Short-lived shared text in the Redis store (the model catalog): `qwen-image-edit-mcp:text:<key>`, expiring by
Redis's own clock, so every replica sees one copy and nobody has to prune it."""

from __future__ import annotations

import math
from typing import Final, cast

from .redis_journal import RedisAccess

TEXT_PREFIX: Final = "qwen-image-edit-mcp:text:"


class RedisTexts:
    def __init__(self, access: RedisAccess) -> None:
        self._access = access

    async def get(self, key: str) -> str | None:
        async def work() -> str | None:
            return cast("str | None", await self._access.text.get(TEXT_PREFIX + key))

        return await self._access.run("reading the shared cache", work)

    async def put(self, key: str, text: str, *, seconds: float) -> None:
        await self._access.run(
            "writing the shared cache",
            lambda: self._access.text.set(TEXT_PREFIX + key, text, ex=max(1, math.ceil(seconds))),
        )
