"""Which hosts are this machine or a private network: one answer for the whole server.

Used to refuse `image` URLs that WaveSpeed could never fetch, to refuse listening beyond this machine without a
token, and by the emulator, which serves loopback only.
"""

from __future__ import annotations

import ipaddress

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def is_loopback_host(host: str) -> bool:
    """True for loopback names and addresses (`localhost`, 127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_private_host(host: str) -> bool:
    """True for hosts on this machine or a private network, which a service on the internet cannot reach."""
    name = host.strip("[]").lower().rstrip(".")
    if is_loopback_host(name) or name.endswith(_PRIVATE_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified
