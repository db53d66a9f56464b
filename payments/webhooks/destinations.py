"""Where webhooks may go: public internet addresses only (server-side request forgery, issue 14).

A merchant chooses the URL, and the worker sits in a privileged place on the network: loopback
services, the node's RPC port, cloud metadata at 169.254.169.254, private ranges. The host is
checked when an endpoint is saved and again when a delivery connects. At connect time every
address the host resolves to must be public, and the request goes to the checked address with
the original Host header (and, for https, the host name as SNI and for the certificate check),
so a DNS answer that changes between check and connect (rebinding) cannot win. Redirects are
never followed.

Saving an endpoint resolves its host with a bound (`settings.WEBHOOKS_RESOLVE_TIMEOUT_MS`),
on a small pool of resolver threads, so a slow DNS server never holds a web worker: a name that
does not answer in time is refused (`400 url_unresolvable`), and so is a name under `.invalid`
(RFC 6761: it never resolves). A name the DNS says does not exist (yet) is accepted: the check at
connect time decides.

`settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS` lifts the rule for development and for tests with
a receiver on loopback; it is off unless set, and `check --deploy` warns when it is on in
production."""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ResolveTimeout
from dataclasses import dataclass

import httpx
from django.conf import settings

from payments.errors import PaymentsError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# getaddrinfo cannot be interrupted: a lookup that outlives its bound finishes in one of these
# threads, never in the request's. At most this many hang at once; further saves wait their turn
# within their own bound.
_resolvers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class DestinationRefused(Exception):
    """The host is, or resolves to, an address that is not on the public internet."""


def private_destinations_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS", False))


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address; IPv4 embedded in IPv6 (mapped, 6to4, NAT64)
    is judged as the IPv4 address it reaches."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if ip.teredo is not None or ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for (an IP literal is itself). Raises OSError (socket.gaierror)
    when the name does not resolve."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise socket.gaierror(f"{host} has no address")
    return found


def _refuse_non_public(host: str, addresses: list[IPAddress]) -> None:
    # The message names the host, never what it resolved to (no map of internal names).
    if not private_destinations_allowed() and not all(is_public_address(ip) for ip in addresses):
        raise DestinationRefused(f"{host} is not a public internet address")


def _unresolvable(host: str, message: str) -> PaymentsError:
    return PaymentsError("url_unresolvable", f"{host}: {message}; use a host name that resolves",
                         param="url")


def check_url_on_save(url: str) -> None:
    """Refuse (PaymentsError url_not_public) a URL whose host is, or resolves to, a non-public
    address, and (url_unresolvable) one whose name cannot resolve: under `.invalid`, or no DNS
    answer within WEBHOOKS_RESOLVE_TIMEOUT_MS. A name the DNS says does not exist (yet) is
    accepted: the check at connect time decides."""
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        addresses: list[IPAddress] = [ipaddress.IPv4Address("127.0.0.1")]
    elif name == "invalid" or name.endswith(".invalid"):
        raise _unresolvable(host, "names under .invalid never resolve")
    else:
        lookup = _resolvers.submit(resolve, host, parsed.port or (443 if parsed.scheme == "https" else 80))
        try:
            addresses = lookup.result(timeout=settings.WEBHOOKS_RESOLVE_TIMEOUT_MS / 1000)
        except ResolveTimeout:
            lookup.cancel()  # still queued: never runs
            raise _unresolvable(host, "the name did not resolve in time") from None
        except (OSError, UnicodeError):
            return
    try:
        _refuse_non_public(host, addresses)
    except DestinationRefused as exc:
        raise PaymentsError("url_not_public", f"{exc}: webhooks go to public HTTP(S) servers only",
                            param="url") from None


@dataclass(frozen=True)
class PinnedRequest:
    """A request to the checked address, carrying the original host for HTTP and TLS."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


def pin(url: str) -> PinnedRequest:
    """Resolve the URL's host, require every address to be public (DestinationRefused), and
    aim the request at the first one. Raises OSError when the name does not resolve."""
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")
    addresses = resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    _refuse_non_public(host, addresses)
    target = parsed.copy_with(host=str(addresses[0]))
    extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return PinnedRequest(target, {"Host": parsed.netloc.decode("ascii")}, extensions)
