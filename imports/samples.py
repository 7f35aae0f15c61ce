"""The sample file a manager uploads while setting up or re-testing an ALP configuration.

It is kept on disk under a random token between the pages that pick its columns, and the session says which
account and configuration it belongs to. It is deleted once it has been tested, or after a few hours."""

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File

from imports import services
from imports.models import ImportConfiguration, ImportRun, RunSource
from subscribers.models import Account

_SESSION_KEY = "import_samples"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# A sample nobody went on to test is removed after this long.
_MAX_AGE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Sample:
    token: str
    name: str  # the configuration's name, chosen before its columns
    file_name: str
    configuration_id: int | None  # None: a new configuration

    @property
    def path(self) -> Path:
        return sample_path(self.token)


def _samples_dir() -> Path:
    return Path(settings.UPLOAD_DIR) / "samples"


def sample_path(token: str) -> Path:
    return _samples_dir() / token


def _sweep_stale() -> None:
    cutoff = time.time() - _MAX_AGE_SECONDS
    for path in _samples_dir().glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def sample_store(
    *, session, account: Account, uploaded, name: str, configuration: ImportConfiguration | None
) -> Sample:
    _samples_dir().mkdir(parents=True, exist_ok=True)
    _sweep_stale()
    token = secrets.token_urlsafe(24)
    with open(sample_path(token), "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    samples = session.get(_SESSION_KEY, {})
    samples[token] = {
        "account": account.pk,
        "name": name,
        "file_name": uploaded.name,
        "configuration": configuration.pk if configuration else None,
    }
    session[_SESSION_KEY] = samples
    return Sample(token, name, uploaded.name, configuration.pk if configuration else None)


def sample_discard(*, session, token: str) -> None:
    sample_path(token).unlink(missing_ok=True)
    samples = session.get(_SESSION_KEY, {})
    if samples.pop(token, None) is not None:
        session[_SESSION_KEY] = samples


def sample_get(*, session, account: Account, token: str) -> Sample | None:
    """The sample under this token if this session stored it for this account and its file is still here."""
    stored = session.get(_SESSION_KEY, {}).get(token) if _TOKEN.match(token) else None
    if stored is None or stored.get("account") != account.pk or not sample_path(token).exists():
        return None
    return Sample(token, stored["name"], stored["file_name"], stored["configuration"])


def sample_test(*, session, account: Account, user, sample: Sample, configuration: ImportConfiguration) -> ImportRun:
    """Start a dry run of the sample through the configuration, then delete the sample; raises ImportRefused."""
    try:
        with open(sample.path, "rb") as f:
            return services.import_run_create(
                account=account,
                file=File(f, name=sample.file_name),
                file_name=sample.file_name,
                source=RunSource.WEB,
                started_by=user,
                configuration=configuration,
                dry_run=True,
            )
    finally:
        sample_discard(session=session, token=sample.token)
