"""An SMS provider for tests that run workers in other processes: it "sends" by appending a line to a file
(OPS_GATEWAY_FILE), after OPS_GATEWAY_DELAY seconds, and answers lookups from that file, as a provider's message
log would. OPS_GATEWAY_BLIND=1 makes it a provider that cannot say what it received."""

import os
import time
import uuid

from messaging.gateway import Gateway, SendResult


class FileGateway(Gateway):
    def __init__(self):
        self.path = os.environ["OPS_GATEWAY_FILE"]
        self.delay = float(os.environ.get("OPS_GATEWAY_DELAY", "0"))
        self.blind = os.environ.get("OPS_GATEWAY_BLIND") == "1"

    def send(self, *, sender: str, to: str, body: str, status_callback: str = "") -> SendResult:
        if self.delay:
            time.sleep(self.delay)
        provider_id = f"FG{uuid.uuid4().hex}"
        with open(self.path, "a") as log:
            log.write(f"{to}|{provider_id}|{body}\n")
            log.flush()
            os.fsync(log.fileno())
        return SendResult(provider_id, "sent")

    def lookup(self, *, sender: str, to: str, body: str, since) -> SendResult | None:
        if self.blind:
            return None
        for line in sent(self.path):
            if line[0] == to and line[2] == body:
                return SendResult(line[1], "sent")
        return SendResult("", "queued")


def sent(path) -> list[tuple[str, str, str]]:
    try:
        with open(path) as log:
            return [tuple(line.rstrip("\n").split("|", 2)) for line in log if line.strip()]
    except FileNotFoundError:
        return []
