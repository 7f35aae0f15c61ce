"""One JSON shape for every error the API gives: {"error": code, "detail": sentence, "field": name}."""

import logging
import math

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from subscribers.services import ServiceError, TransitionRefused

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "bad_request": 400,
    "queue_unavailable": 503,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_in_progress": 409,
    "no_configuration": 404,
    "not_approved": 409,
    # An import confirmed or cancelled in a stage that does not allow it, or held past its 24 hours.
    "wrong_stage": 409,
    "expired": 409,
    "too_large": 413,
    "file_too_large": 413,
    "rate_limited": 429,
    "not_implemented": 501,
}


class ApiError(ServiceError):
    """An error of the API itself (not of the status rules), with its HTTP status."""

    def __init__(self, code: str, detail: str, field: str | None = None, *, status: int, retry_after: float = 0):
        super().__init__(code, detail, field)
        self.status = status
        self.retry_after = retry_after


def status_for(exc: ServiceError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    # A refused transition of SPEC §3 (opted_out, pending, already_opted_in, …) is a conflict with
    # the number's state; anything else the rules refuse is bad input.
    return 409 if isinstance(exc, TransitionRefused) else 422


def error_body(code: str, detail: str, field: str | None = None) -> dict:
    return {"error": code, "detail": detail, "field": field}


def error_response(status: int, code: str, detail: str, field: str | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, detail, field), status=status)


def _service_error(request, exc: ServiceError):
    response = error_response(status_for(exc), exc.code, exc.detail, exc.field)
    if isinstance(exc, ApiError) and exc.retry_after:
        response["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", ())]
    # loc is (source, parameter, …): a body's fields sit below the body parameter's name.
    parts = loc[2:] if loc[:1] == ["body"] else loc[1:]
    field = ".".join(parts) or None
    message = first.get("msg", "Invalid input.")
    detail = f"{field}: {message}." if field else f"{message}."
    return error_response(422, "validation_error", detail.replace("..", "."), field)


def _auth_error(request, exc):
    response = error_response(
        401, "unauthorized", "Send a valid, unrevoked API key as “Authorization: Bearer <key>”.", "Authorization"
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return error_response(
            400, "bad_request", 'The request body must be a JSON object, e.g. {"tags": ["District 4"]}.'
        )
    return error_response(exc.status_code, "error", str(exc))


def _not_found(request, exc):
    return error_response(404, "not_found", "There is nothing at this address.")


def _too_big(request, exc):
    return error_response(413, "too_large", "The request body is too large.")


def _unexpected(request, exc):
    logger.exception("API request failed: %s %s", request.method, request.path)
    return error_response(500, "server_error", "Something went wrong on our side; the change was not made.")


def install_handlers(api) -> None:
    api.add_exception_handler(ServiceError, _service_error)
    api.add_exception_handler(ValidationError, _validation_error)
    api.add_exception_handler(AuthenticationError, _auth_error)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(RequestDataTooBig, _too_big)
    api.add_exception_handler(Exception, _unexpected)
