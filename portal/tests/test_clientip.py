"""Which address the limits and the stored IPs see, with and without trusted proxies."""

import ipaddress

import pytest
from django.test import RequestFactory

from portal.clientip import client_ip

NETS = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "127.0.0.1/32"))


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        # No proxy trusted: the header is the client's own words and is ignored.
        (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        (0, "203.0.113.5", "", "203.0.113.5"),
        (0, "not-an-ip", "", None),
        (0, "::ffff:203.0.113.5", "", "203.0.113.5"),
        # One proxy: the address it appended, whatever the client put before it.
        (1, "10.0.0.2", "1.1.1.1, 203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", "203.0.113.5:51234", "203.0.113.5"),
        (1, "10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        (1, "10.0.0.2", "<script>", "10.0.0.2"),
        (2, "10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        # Proxy networks: walk left past our own proxies only.
        (NETS, "10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (NETS, "198.51.100.7", "203.0.113.5", "198.51.100.7"),  # the peer is no proxy of ours
        (NETS, "127.0.0.1", "garbage, 203.0.113.5", "203.0.113.5"),
        (NETS, "127.0.0.1", "203.0.113.5, garbage", "127.0.0.1"),
        (NETS, "127.0.0.1", "10.1.1.1", "10.1.1.1"),  # only proxies all the way: the leftmost one
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
