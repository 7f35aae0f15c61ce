"""Stand-ins for the outside world: carrier line-type lookups and the reassigned-numbers database, plugged in
by class path like any other provider. Each records what it was asked, and when."""

import threading
import time

from lines.models import LineType
from lines.providers import LineAnswer, LineTypeProvider, LookupRefused, LookupUnavailable
from lines.reassigned import ReassignedChecker, Verdict


class Carrier(LineTypeProvider):
    """Answers by the simulated rule; `unavailable[phone] = n` makes the first n asks of a number fail for now
    (a 429 or a 5xx), `-1` always; `refuse` answers every number with bad credentials."""

    name = "test-carrier"
    rate = 0
    concurrency = 1
    calls: list[tuple[str, float]] = []
    unavailable: dict[str, int] = {}
    refuse = False
    broken = False
    delay = 0.0
    in_flight = 0
    max_in_flight = 0
    seen_in_atomic: list[bool] = []
    _lock = threading.Lock()

    @classmethod
    def reset(cls):
        cls.calls = []
        cls.unavailable = {}
        cls.refuse = False
        cls.broken = False
        cls.delay = 0.0
        cls.in_flight = 0
        cls.max_in_flight = 0
        cls.seen_in_atomic = []

    def look_up(self, phone: str) -> LineAnswer:
        from django.db import connection

        cls = type(self)
        with cls._lock:
            cls.calls.append((phone, time.monotonic()))
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        try:
            if threading.current_thread() is threading.main_thread():
                cls.seen_in_atomic.append(connection.in_atomic_block)
            if cls.delay:
                time.sleep(cls.delay)
            if cls.refuse:
                raise LookupRefused("Twilio refused the credentials (401): Authenticate")
            if cls.broken:
                raise RuntimeError("the carrier's API answered something nobody expected")
            left = cls.unavailable.get(phone, 0)
            if left:
                cls.unavailable[phone] = left - 1 if left > 0 else left
                raise LookupUnavailable("Too many requests", retry_after=None)
            if phone.endswith("0"):
                return LineAnswer(LineType.LANDLINE, "Test Telephone")
            if phone.endswith("9"):
                return LineAnswer(LineType.VOIP, "Test VoIP")
            return LineAnswer(LineType.MOBILE, "Test Wireless")
        finally:
            with cls._lock:
                cls.in_flight -= 1


class ReassignedDatabase(ReassignedChecker):
    """The reassigned-numbers database: `reassigned` numbers were disconnected on the date given."""

    name = "test-rnd"
    reassigned: dict[str, object] = {}
    no_data: set[str] = set()
    asked: list[tuple[str, object]] = []

    @classmethod
    def reset(cls):
        cls.reassigned = {}
        cls.no_data = set()
        cls.asked = []

    def check(self, numbers):
        type(self).asked.extend(numbers)
        verdicts = {}
        for phone, since in numbers:
            if phone in self.no_data:
                verdicts[phone] = Verdict.NO_DATA
            elif phone in self.reassigned and self.reassigned[phone] > since:
                verdicts[phone] = Verdict.REASSIGNED
            else:
                verdicts[phone] = Verdict.NOT_REASSIGNED
        return verdicts
