"""Who is making the current request and from where, for the audit entries the services write.

Services take the user they act for but not the request; the address comes from here, so recording an entry does
not need a request passed through every service. Jobs and commands run outside a request: no address then.
"""

from contextvars import ContextVar

from alertmanager.clientip import client_ip

_ip: ContextVar[str | None] = ContextVar("audit_ip", default=None)


def current_ip() -> str | None:
    return _ip.get()


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _ip.reset(token)
