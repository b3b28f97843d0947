"""Whether a bearer token is one a guess would find: refused when the server listens beyond this machine.

Not a strength meter, only the obvious: few distinct characters, a block said twice, runs of consecutive
characters or neighbouring keys, and tokens built on a common password word. Random tokens pass with a wide margin
(`openssl rand -hex 32`, `secrets.token_urlsafe()`). Every check is linear in the token's length, and no reason
given quotes the token.
"""

from __future__ import annotations

import itertools
from typing import Final

MIN_DISTINCT_TOKEN_CHARACTERS: Final = 8
# What is left once the common words are taken out must still be a token on its own.
MIN_UNGUESSED_CHARACTERS: Final = 12
_KEY_ROWS: Final = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: Final = frozenset(
    pair for row in _KEY_ROWS for a, b in itertools.pairwise(row) for pair in ((a, b), (b, a))
)
# The words that lead every leaked-password list, as their look-alike digits and symbols read (see _LOOK_ALIKES).
_COMMON_WORDS: Final = (
    "password",
    "passwd",
    "pass",
    "qwerty",
    "letmein",
    "welcome",
    "admin",
    "secret",
    "token",
    "changeme",
    "iloveyou",
    "monkey",
    "dragon",
    "master",
    "login",
    "default",
    "example",
    "trustno",
    "hunter",
    "test",
)
_LOOK_ALIKES: Final = str.maketrans("013457@$!|", "oieastasii")


def token_weakness(token: str) -> str | None:
    """Why a token is too easy to guess for a public address, or None."""
    distinct = len(set(token))
    if distinct < MIN_DISTINCT_TOKEN_CHARACTERS:
        return f"only {distinct} distinct characters"
    if token in (token + token)[1:-1]:  # the token is one block said again and again
        return "a repeated block"
    if _runs(token.lower()) * 4 < len(token):
        return "mostly runs of consecutive characters or neighbouring keys"
    rest = token.lower().translate(_LOOK_ALIKES)
    for word in _COMMON_WORDS:
        rest = rest.replace(word, "")
    if len(rest) < len(token) and (len(rest) < MIN_UNGUESSED_CHARACTERS or _runs(rest) * 4 < len(rest)):
        return "built on a common password word"
    return None


def _runs(text: str) -> int:
    """How many runs the text falls into, where a run goes on while each character repeats the last, is next to it
    in the alphabet or the digits (either way), or is its neighbour on a keyboard row."""
    runs = 1 if text else 0
    for a, b in itertools.pairwise(text):
        if abs(ord(a) - ord(b)) > 1 and (a, b) not in _NEIGHBOURS:
            runs += 1
    return runs
