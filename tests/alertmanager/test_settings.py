"""Settings read from the environment: a typo stops the start-up with a sentence, not the first job."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from alertmanager.envparse import env_choice, env_seconds_list

ROOT = Path(__file__).resolve().parents[2]


def _start(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "alertmanager.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MESSAGING_FORWARD_RETRY_INTERVALS", "10,6O,300", "MESSAGING_FORWARD_RETRY_INTERVALS must be whole seconds"),
        ("MESSAGING_FORWARD_RETRY_INTERVALS", "10,-5", "'-5' is not one"),
        ("SMS_GATEWAY", "twillio", "SMS_GATEWAY must be console, memory, twilio or a class path"),
        ("LINE_TYPE_LOOKUP", "simulted", "LINE_TYPE_LOOKUP must be metadata, simulated, twilio or a class path"),
        ("REGISTRATION_REGISTRY", "Twilio", "REGISTRATION_REGISTRY must be simulated, twilio or a class path"),
        ("REASSIGNED_NUMBERS_CHECKER", "on", "or empty (off)"),
        ("PHONE_LINE_TYPE_CHECKER", "my checker", "PHONE_LINE_TYPE_CHECKER must be a class path"),
    ],
)
def test_a_bad_value_stops_the_start_up_with_the_variable_and_what_it_may_be(variable, value, says):
    result = _start(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert says in result.stderr


def test_good_values_start():
    result = _start(
        MESSAGING_FORWARD_RETRY_INTERVALS=" 5, 30 ,120",
        SMS_GATEWAY="memory",
        LINE_TYPE_LOOKUP="lines.providers.simulated.SimulatedProvider",
        REASSIGNED_NUMBERS_CHECKER="",
    )
    assert result.returncode == 0, result.stderr


def test_the_helpers_read_defaults_and_values(monkeypatch):
    monkeypatch.delenv("AM_TEST_SECONDS", raising=False)
    assert env_seconds_list("AM_TEST_SECONDS", [10, 60]) == [10, 60]
    monkeypatch.setenv("AM_TEST_SECONDS", "1, 2,3")
    assert env_seconds_list("AM_TEST_SECONDS", [10]) == [1, 2, 3]
    monkeypatch.setenv("AM_TEST_SECONDS", "1,,3")
    with pytest.raises(ImproperlyConfigured, match="'' is not one"):
        env_seconds_list("AM_TEST_SECONDS", [10])
    monkeypatch.setenv("AM_TEST_CHOICE", " twilio ")
    assert env_choice("AM_TEST_CHOICE", "console", ("console", "twilio")) == "twilio"
    monkeypatch.setenv("AM_TEST_CHOICE", "some.module.Gateway")
    assert env_choice("AM_TEST_CHOICE", "console", ("console",)) == "some.module.Gateway"
    with pytest.raises(ImproperlyConfigured, match="must be console, not 'some.module.Gateway'"):
        env_choice("AM_TEST_CHOICE", "console", ("console",), class_path=False)
    monkeypatch.setenv("AM_TEST_CHOICE", "")
    assert env_choice("AM_TEST_CHOICE", "console", ("console",)) == "console"
