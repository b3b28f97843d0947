"""Which hosts are this machine or a private network: one answer for the whole server; and URLs fit to log.

A host is read the way an HTTP client and the C resolver read it, not the way it looks: percent-escapes are
undone, full-width characters and ideographic full stops read as IDNA reads them (NFKC: `１２７.０.０.１` is
127.0.0.1), an internationalised name as its punycode, a trailing dot is dropped, and the legacy IPv4 spellings that
`inet_aton` accepts (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, `0`) are the addresses they name. IPv6
addresses that carry an IPv4 one (mapped `::ffff:`, translated `::ffff:0:`, compatible `::a.b.c.d`, NAT64
`64:ff9b::/96`, 6to4) are judged by the address they carry. Anything not globally routable counts as private:
loopback, RFC 1918, link-local, carrier-grade NAT (100.64.0.0/10), multicast, unspecified, reserved; and so does a
host with characters no host name holds (`127.0.0.1%2f`), since what a client would make of it is anyone's guess.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import unicodedata
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_PRIVATE_SUFFIXES: Final = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_TRANSLATED: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IDEOGRAPHIC_STOPS: Final = str.maketrans("\u3002\uff61", "..")  # IDNA's other label separators
_UNREADABLE: Final = re.compile(r"[^a-z0-9._:%-]")  # a zone id (fe80::1%eth0) keeps its %

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_address(host: str) -> Address | None:
    """The IP address `host` names literally, in any spelling a resolver accepts; None for a DNS name."""
    name = _normalised(host)
    try:
        return _carried(ipaddress.ip_address(name.split("%", 1)[0]))  # an IPv6 zone id (%eth0) is not the address
    except ValueError:
        pass
    if not name or not all(part.isalnum() for part in name.split(".")):
        return None
    try:
        # The resolver's own reading of dotted, short, octal, hex and decimal IPv4 forms.
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def is_loopback_host(host: str) -> bool:
    """True for loopback names and addresses (`localhost`, 127.0.0.0/8, ::1), in any spelling."""
    name = _normalised(host)
    if name in _LOOPBACK_NAMES:
        return True
    address = host_address(name)
    return address is not None and address.is_loopback


def is_private_host(host: str) -> bool:
    """True for hosts on this machine or a private network, which a service on the internet cannot reach."""
    name = _normalised(host)
    if name in _LOOPBACK_NAMES or name.endswith(_PRIVATE_SUFFIXES) or ("." not in name and host_address(name) is None):
        return True  # a single-label name ("intranet", "nas") only resolves inside a network
    if _UNREADABLE.search(name):
        return True
    address = host_address(name)
    return address is not None and (not address.is_global or address.is_multicast)


def redact_url(url: str) -> str:
    """`url` with any user name and password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    if parts.username is None and parts.password is None:
        if not parts.netloc and "@" in url:  # no authority was parsed ("https:/u:p@host"): what precedes @ may be one
            return "***@" + url.rsplit("@", 1)[1]
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def url_secrets(url: str) -> list[str]:
    """The secrets a URL may carry (a password in its authority, as written and decoded, or in a `password=` query
    parameter, as Redis URLs allow), for the log filter to mask."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [value for key, value in parse_qsl(parts.query) if key == "password" and value]
    _, scheme_end, rest = url.partition("://")
    # Up to the last @ is credentials, whatever they hold: a "/" or "?" in a password fools urlsplit.
    password = rest.rpartition("@")[0].partition(":")[2] if scheme_end and "@" in rest else parts.password
    if password:
        found += [password, unquote(password)]
    return found


def _normalised(host: str) -> str:
    name = unicodedata.normalize("NFKC", unquote(host)).translate(_IDEOGRAPHIC_STOPS)
    name = name.strip().strip("[]").lower().rstrip(".")
    if not name.isascii():
        with contextlib.suppress(UnicodeError):  # if IDNA refuses it, its characters mark it unreadable
            name = name.encode("idna").decode("ascii")
    return name


def _carried(address: Address) -> Address:
    """For an IPv6 address that carries an IPv4 one, the IPv4 address: that is where the packets go."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        compatible = int(address) >> 32 == 0 and int(address) > 1  # ::a.b.c.d, but not :: or ::1
        if compatible or address in _TRANSLATED or address in _NAT64 or address in _NAT64_LOCAL:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address
