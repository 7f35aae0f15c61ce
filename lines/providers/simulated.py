import time

from django.conf import settings

from lines.models import LineType
from lines.providers import LineAnswer, LineTypeProvider


class SimulatedProvider(LineTypeProvider):
    """Answers here, like a carrier would, for the demo and the tests: a number ending in 0 is a landline, in 9
    VoIP, anything else a mobile; each answer takes LINE_TYPE_SIMULATED_DELAY seconds."""

    name = "simulated"
    label = "Simulated carrier lookup"
    rate = 2000
    concurrency = 8

    def look_up(self, phone: str) -> LineAnswer:
        delay = settings.LINE_TYPE_SIMULATED_DELAY
        if delay:
            time.sleep(delay)
        last = phone[-1:]
        if last == "0":
            return LineAnswer(LineType.LANDLINE, "Simulated Telephone Co.")
        if last == "9":
            return LineAnswer(LineType.VOIP, "Simulated VoIP")
        return LineAnswer(LineType.MOBILE, "Simulated Wireless")
