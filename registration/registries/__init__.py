"""The campaign registry, behind one small interface chosen by the REGISTRATION_REGISTRY setting.

`simulated` (the default, and what the tests use) validates like the real registry and answers after
a configurable delay; `twilio` registers through Twilio's Trust Hub and A2P 10DLC API; another
backend is named by its class path.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from registration.registries.base import RegistryClient, RegistryError, Verdict

BACKENDS = {
    "simulated": "registration.registries.simulated.SimulatedRegistry",
    "twilio": "registration.registries.twilio.TwilioRegistry",
}

__all__ = ["BACKENDS", "RegistryClient", "RegistryError", "Verdict", "get_registry"]


def get_registry() -> RegistryClient:
    name = settings.REGISTRATION_REGISTRY
    return import_string(BACKENDS.get(name, name))()
