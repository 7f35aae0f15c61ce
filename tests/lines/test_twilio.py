"""The Twilio Lookup v2 adapter, through the `twilio` package, against a local HTTP server that speaks Twilio's
Lookup API as its documentation describes it. Nothing leaves the machine."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from lines.models import JobStage, LineType, NumberLine
from lines.providers import LookupRefused, LookupUnavailable, get_provider
from subscribers.transitions import State

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "lookup-test-token"


class FakeTwilio(BaseHTTPRequestHandler):
    """GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence. `answers[number]` is a line type, or an
    HTTP status to answer with (a list: one per request, the last repeated)."""

    answers: dict = {}
    requests: list = []

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urlsplit(self.path)
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        type(self).requests.append((parts.path, parse_qs(parts.query), self.headers.get("Authorization")))
        if self.headers.get("Authorization") != expected:
            return self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if not parts.path.startswith("/v2/PhoneNumbers/"):
            return self._send(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        number = unquote(parts.path.rsplit("/", 1)[1])
        answer = self.answers.get(number, "mobile")
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, int):
            return self._send(answer, {"code": 20429 if answer == 429 else 20500, "message": "Busy", "status": answer})
        intelligence = {
            "error_code": 60600 if answer == "unprovisioned" else None,
            "mobile_country_code": "310",
            "mobile_network_code": "456",
            "carrier_name": None if answer == "unprovisioned" else f"{answer.title()} Carrier Inc.",
            "type": None if answer == "unprovisioned" else answer,
        }
        self._send(
            200,
            {
                "calling_country_code": "1",
                "country_code": "US",
                "phone_number": number,
                "national_format": number,
                "valid": True,
                "validation_errors": [],
                "caller_name": None,
                "sim_swap": None,
                "call_forwarding": None,
                "line_status": None,
                "line_type_intelligence": intelligence,
                "identity_match": None,
                "reassigned_number": None,
                "sms_pumping_risk": None,
                "phone_number_quality_score": None,
                "pre_fill": None,
                "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{number}",
            },
        )


@pytest.fixture
def twilio(settings):
    FakeTwilio.answers = {}
    FakeTwilio.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LINE_TYPE_LOOKUP = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_LOOKUP_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()
    server.server_close()


def test_it_asks_twilio_for_line_type_intelligence_and_maps_the_answer(twilio):
    twilio.answers = {
        "+12025550101": "mobile",
        "+12025550102": "landline",
        "+12025550103": "fixedVoip",
        "+12025550104": "nonFixedVoip",
        "+12025550105": "tollFree",
        "+12025550106": "unprovisioned",
    }
    provider = get_provider()
    answers = {phone: provider.look_up(phone) for phone in twilio.answers}
    assert {phone: a.line_type for phone, a in answers.items()} == {
        "+12025550101": LineType.MOBILE,
        "+12025550102": LineType.LANDLINE,
        "+12025550103": LineType.VOIP,
        "+12025550104": LineType.VOIP,
        "+12025550105": LineType.UNKNOWN,
        "+12025550106": LineType.UNKNOWN,
    }
    assert answers["+12025550101"].carrier == "Mobile Carrier Inc."
    path, query, _ = twilio.requests[0]
    assert unquote(path) == "/v2/PhoneNumbers/+12025550101"
    assert query == {"Fields": ["line_type_intelligence"]}


def test_busy_and_down_are_worth_asking_again_and_bad_credentials_are_not(twilio, settings):
    twilio.answers = {"+12025550101": 429, "+12025550102": 503, "+12025550103": 404}
    provider = get_provider()
    with pytest.raises(LookupUnavailable):
        provider.look_up("+12025550101")
    with pytest.raises(LookupUnavailable):
        provider.look_up("+12025550102")
    assert provider.look_up("+12025550103").line_type == LineType.UNKNOWN
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(LookupRefused):
        get_provider().look_up("+12025550104")


def test_a_pass_through_twilio_retries_a_busy_answer(twilio, account, make_subscriber, run_lookups, settings,
                                                     django_capture_on_commit_callbacks):  # fmt: skip
    from lines import lookups

    settings.LINE_TYPE_LOOKUP_BACKOFF = 0.01
    for phone in ("+12025550111", "+12025550112", "+12025550110"):
        make_subscriber(account, phone, State.OPTED_IN)
    twilio.answers = {"+12025550111": [429, 429, "mobile"], "+12025550110": "landline"}
    with django_capture_on_commit_callbacks(execute=True):
        pass_ = lookups.lookup_run_start(account=account)
    run_lookups()
    pass_.refresh_from_db()
    assert (pass_.stage, pass_.done, pass_.failed) == (JobStage.DONE, 3, 0)
    lines = dict(NumberLine.objects.filter(account=account).values_list("phone", "line_type"))
    assert lines == {"+12025550111": "mobile", "+12025550112": "mobile", "+12025550110": "landline"}
    assert NumberLine.objects.get(phone="+12025550110").checked_by == "twilio"
    asked = [unquote(path) for path, _, _ in twilio.requests]
    assert asked.count("/v2/PhoneNumbers/+12025550111") == 3
