"""The address a request came from, trusting only the proxies the deployment says it has.

`X-Forwarded-For` is written by whoever sends the request: each proxy appends the address it was
reached from, so only the entries our own proxies added can be believed. With TRUSTED_PROXY_COUNT
= N the client is the Nth entry from the right; with 0 (no proxy) it is the socket's address, and
any header is ignored. A header shorter than N means the request did not pass every proxy: the
leftmost entry is then as good as it gets, and never better than the socket's own address.
"""

from django.conf import settings


def client_ip(request) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    entries = [e.strip() for e in request.headers.get("X-Forwarded-For", "").split(",") if e.strip()]
    if not entries:
        return remote
    return entries[-proxies] if len(entries) >= proxies else entries[0]
