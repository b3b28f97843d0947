"""Hosts read the way an HTTP client and the resolver read them: every spelling of a private address is private."""

from __future__ import annotations

import pytest

from qwen_image_edit_mcp.addresses import is_loopback_host, is_private_host, redact_url

PRIVATE_SPELLINGS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "localhost.localdomain",
    "ip6-localhost",
    "printer.local",
    "nas",  # a single-label name resolves only inside a network
    "127.0.0.1",
    "127.1",  # short form
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0177.0.0.1",  # octal
    "0",  # 0.0.0.0
    "0.0.0.0",  # noqa: S104 - a host name under test, not a bind address
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "[::1]",
    "::1",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[fe80::1%25eth0]",  # link-local with a zone
    "fc00::1",  # unique local
    "%31%32%37.0.0.1",  # percent-encoded 127.0.0.1
    "%6c%6f%63%61%6c%68%6f%73%74",  # percent-encoded localhost
    "[::127.0.0.1]",  # IPv4-compatible
    "[::7f00:1]",
    "[::ffff:0:127.0.0.1]",  # IPv4-translated
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits: IDNA (NFKC) reads 127.0.0.1
    "\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11",  # and ideographic full stops
    "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54.",  # full-width localhost.
    "127.0.0.1%2f",  # a trailing percent-encoding no host can hold
    "127.0.0.1%2fx",
    "127.0.0.1%40evil.example",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "[ff02::1]",
    "[ff0e::1]",  # global-scope multicast is still no web server
]


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_every_spelling_of_a_local_or_private_address_is_private(host: str) -> None:
    assert is_private_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "cdn.wavespeed.ai",
        "93.184.216.34",
        "8.8.8.8",
        "[2606:4700::1111]",
        "d11ewybssaphwx.cloudfront.net",
        "b\u00fccher.example",  # an internationalised name is read as its punycode
        "\uff18.\uff18.\uff18.\uff18",  # full-width 8.8.8.8
    ],
)
def test_public_hosts_are_not_private(host: str) -> None:
    assert not is_private_host(host)


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "127.1", "2130706433", "[::1]", "::1", "[::ffff:127.0.0.1]", "[::127.0.0.1]"],
)
def test_loopback_spellings_are_loopback(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.com"])  # noqa: S104 - host names under test
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:hunter2@api.example.com/v3", "https://***@api.example.com/v3"),
        ("https://token@api.example.com", "https://***@api.example.com"),
        ("https://api.wavespeed.ai", "https://api.wavespeed.ai"),
        ("https://api.wavespeed.ai/a@b", "https://api.wavespeed.ai/a@b"),  # an @ in the path is no credential
        ("htps://deploy:hunter2@host", "htps://***@host"),
        ("https:/deploy:hunter2@host/v3", "***@host/v3"),  # no authority parsed: whatever precedes @ may be one
        ("deploy:hunter2@host", "***@host"),
    ],
)
def test_credentials_in_a_url_are_never_shown(url: str, shown: str) -> None:
    assert redact_url(url) == shown
