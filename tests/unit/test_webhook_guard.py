"""Which webhook target addresses count as internal (SSRF guard)."""

from __future__ import annotations

import pytest

from voc.alerts.notifiers.webhook import address_blocked


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "::1", "fe80::1%eth0", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1",
])
def test_internal_addresses_are_blocked(address: str) -> None:
    assert address_blocked(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2606:4700::6810:84e5"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not address_blocked(address)
