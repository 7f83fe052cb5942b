"""HTTP to addresses an administrator typed (webhooks), never to one inside the deployment.

A destination is judged on the addresses its name resolves to (`ipaddress` decides what is
loopback, private, link-local, unspecified, multicast or reserved; `getaddrinfo` reads the
spellings, so 2130706433 and 0x7f.1 are 127.0.0.1), and the connection goes to the very address
judged: a name that resolves elsewhere a moment later (DNS rebinding) cannot switch it. Host
header and TLS SNI keep the name. No redirect is followed and no proxy is used (http.client
reads neither http_proxy nor https_proxy). `WEBHOOK_ALLOWED_NETWORKS` lets a deployment reach
receivers of its own, e.g. ["10.20.0.0/16"].
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The destination resolves to an address inside the deployment, not allowed."""

    def __init__(self, host: str, address: Address):
        super().__init__(f"{host} resolves to {address}, an address inside the deployment "
                         "(not in WEBHOOK_ALLOWED_NETWORKS)")
        self.host, self.address = host, address


def networks(value) -> tuple[Network, ...]:
    """WEBHOOK_ALLOWED_NETWORKS read: a list, or one string of networks separated by commas."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    try:
        return tuple(ipaddress.ip_network(str(v), strict=False) for v in value or ())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"WEBHOOK_ALLOWED_NETWORKS: {exc}") from None


def inside(address: Address, allowed: tuple[Network, ...]) -> bool:
    """Whether the address is one a receiver on the internet cannot have, and is not allowed."""
    # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel; judge (and allow) it as that
    address = getattr(address, "ipv4_mapped", None) or address
    if any(address in net for net in allowed):
        return False
    return not address.is_global or address.is_multicast or address.is_reserved


def resolve(host: str, port: int, allowed: tuple[Network, ...]) -> list[tuple]:
    """(family, sockaddr) for every address of `host`; Refused if any is inside the deployment
    (a name with one such address is not trusted with the others). socket.gaierror if unknown."""
    found = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if inside(address, allowed):
            raise Refused(host, address)
        found.append((family, sockaddr))
    return found


def check_url(url: str, allowed: tuple[Network, ...]) -> None:
    """Refused, or socket.gaierror, for a URL whose host is inside the deployment or unknown."""
    parts = urlsplit(url)
    resolve(parts.hostname, parts.port or _default_port(parts.scheme), allowed)


class _Pinned(http.client.HTTPConnection):
    """A connection to one checked address; the URL's host name stays in Host and TLS SNI."""

    def __init__(self, host: str, port: int, family: int, sockaddr: tuple, timeout: float, tls: bool):
        super().__init__(host, port, timeout=timeout)
        self.family, self.sockaddr, self.tls = family, sockaddr, tls
        if tls:
            self.default_port = 443  # "Host: name", not "name:443"

    def connect(self) -> None:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, allowed: tuple[Network, ...]) -> int:
    """POST once to a checked address of the URL's host; the answer's status, its body unread.
    Raises Refused, OSError (socket.gaierror for an unknown name) or http.client.HTTPException."""
    parts = urlsplit(url)
    port = parts.port or _default_port(parts.scheme)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    error: OSError | None = None
    for family, sockaddr in resolve(parts.hostname, port, allowed):
        conn = _Pinned(parts.hostname, port, family, sockaddr, timeout, parts.scheme == "https")
        try:
            try:
                conn.connect()
            except OSError as exc:  # the next address; nothing was sent to this one
                error = exc
                continue
            conn.request("POST", target, body=body, headers=headers)
            with conn.getresponse() as response:
                return response.status
        finally:
            conn.close()
    raise error or OSError(f"{parts.hostname}: no address")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
