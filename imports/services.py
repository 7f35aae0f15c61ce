"""Imports: starting, confirming, cancelling and undoing runs; saving and approving ALP configurations.

The work itself is done by RQ jobs (imports.jobs) through the engine (imports.engine); these functions are what
the pages, the API, the SFTP drop and the command line call.
"""

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alertmanager import jobqueue
from alertmanager.jobqueue import connection, enqueue
from audit.models import Kind
from audit.services import audit_record
from imports import engine, readers
from imports.fieldmap import FieldMap
from imports.models import FINAL_STAGES, Action, ImportConfiguration, ImportRun, Layout, Mode, RunSource, Stage
from subscribers.models import Account
from subscribers.services import ServiceError

QUEUE = "imports"
logger = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


class ImportRefused(ServiceError):
    pass


def queue_check(queue: str) -> None:
    try:
        jobqueue.queue_check(queue)
    except jobqueue.QueueUnavailable as exc:
        raise ImportRefused(exc.code, exc.detail) from None


def _upload_dir() -> Path:
    path = Path(settings.UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _too_large() -> ImportRefused:
    limit = settings.MAX_UPLOAD_BYTES / 1024**2
    return ImportRefused(
        "file_too_large",
        f"The file is larger than {limit:,.0f} MB, the most that can be uploaded at once. Split it into smaller "
        "files and upload them one at a time.",
        field="file",
    )


def _store_upload(file=None, path=None) -> tuple[Path, str, int]:
    """The upload, in the upload folder under a name of ours, with its SHA-256 and size."""
    target = _upload_dir() / f"{uuid.uuid4().hex}.upload"
    digest = hashlib.sha256()
    size = 0
    try:
        if path is not None:
            shutil.move(os.fspath(path), target)
            with open(target, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        else:
            chunks = file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(_CHUNK), b"")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > settings.MAX_UPLOAD_BYTES:
                        raise _too_large()
                    digest.update(chunk)
                    out.write(chunk)
        if size > settings.MAX_UPLOAD_BYTES:
            raise _too_large()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, digest.hexdigest(), size


def import_run_create(
    *,
    account: Account,
    file=None,
    path=None,
    file_name: str,
    source: str = RunSource.WEB,
    started_by=None,
    configuration: ImportConfiguration | None = None,
    action: str = Action.OPT_IN,
    dry_run: bool = False,
    mode: str | None = None,
) -> ImportRun:
    """Start an import of a file (an open binary file or an UploadedFile, or a finished file at `path`, which is
    moved into the upload folder). Preformatted when `configuration` is None.

    A file that cannot be read at all is refused here, at once, with a sentence saying what to do; everything
    else is the job's (queued on commit)."""
    if (file is None) == (path is None):
        raise ValueError("give either file or path")
    if configuration is not None:
        configuration = ImportConfiguration.objects.get(pk=configuration.pk)  # approval as it stands now
        if configuration.account_id != account.pk or configuration.retired_at is not None:
            raise ImportRefused("no_configuration", "This import configuration does not exist.", field="config")
        if not configuration.is_approved and not dry_run:
            raise ImportRefused(
                "not_approved",
                f"The configuration “{configuration.name}” has not been approved since it was last changed. "
                "A manager must approve it before files can be imported with it; a preview is possible.",
                field="config",
            )
    if action not in Action.values:
        raise ImportRefused("invalid_action", "Choose what to do with the numbers in the file.", field="action")
    queue_check(QUEUE)  # refused before the file is stored: no run waits for a queue that is not there
    stored, sha256, size = _store_upload(file, path)
    try:
        field_map = configuration.fieldmap if configuration is not None else None
        engine.reading.detect(stored, field_map)
    except readers.FileRejected as exc:
        stored.unlink(missing_ok=True)
        raise ImportRefused("file_rejected", str(exc), field="file")
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(
                account=account,
                layout=Layout.ALP if configuration is not None else Layout.PREFORMATTED,
                configuration=configuration,
                configuration_version=configuration.version if configuration is not None else None,
                mode=configuration.mode if configuration is not None else (mode or Mode.STANDARD),
                action=action if configuration is None else Action.OPT_IN,
                dry_run=dry_run,
                source=source,
                started_by=started_by if getattr(started_by, "pk", None) else None,
                file_name=os.path.basename(file_name or "")[:255] or "upload",
                file_sha256=sha256,
                file_size=size,
                file_path=str(stored),
            )
            transaction.on_commit(lambda: import_run_enqueue(run=run))
            _run_audit(run, "started", started_by)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return run


_RUN_VERBS = {"started": "started", "confirmed": "confirmed", "cancelled": "cancelled", "undone": "undone"}


def _run_audit(run: ImportRun, action: str, user, actor_name: str = "") -> None:
    """An audit entry for an import: its file, mode (and action or configuration) and the counts known so far."""
    how = (
        f"configuration “{run.configuration.name}” v{run.configuration_version}"
        if run.configuration_id
        else (f"Preformatted, {run.get_action_display().lower()}")
    )
    counts = {k: v for k, v in (run.counts or {}).items() if isinstance(v, int) and v}
    figures = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
    audit_record(
        kind=Kind.IMPORT,
        action=action,
        summary=f"{'Preview' if run.dry_run else 'Import'} #{run.pk} of “{run.file_name}” {_RUN_VERBS[action]} "
        f"({run.get_mode_display()}; {how}; {run.get_source_display()})" + (f": {figures}" if figures else ""),
        account=run.account,
        actor=user,
        actor_name="" if user else (actor_name or run.get_source_display()),
        details={"run": run.pk, "file_name": run.file_name, "mode": run.mode, "counts": counts},
    )


def _enqueue(job: str, *args) -> None:
    enqueue(QUEUE, job, *args, job_timeout=settings.RQ_QUEUES[QUEUE].get("DEFAULT_TIMEOUT", 1800))


def import_run_enqueue(*, run: ImportRun, job: str = "", args: tuple | None = None) -> bool:
    """Put the run's job in the queue now and note it on the run (the outbox's mark). Called after commit: when
    Redis went away in between, the run stays queued unmarked and the janitor queues it once Redis answers, so
    there is neither a 500 nor an orphan run."""
    job = job or ("imports.jobs.import_undo_job" if run.undo_of_id else "imports.jobs.import_run_job")
    if args is None:
        args = (run.pk, True) if run.stage == Stage.APPLYING and not run.undo_of_id else (run.pk,)
    try:
        timeout = settings.RQ_QUEUES[QUEUE].get("DEFAULT_TIMEOUT", 1800)
        # The mark says "its job waits in the queue" (dropped when the job starts): a run without mark nor lease
        # lost its job (Redis restarted empty) or its worker, and the janitor queues it again.
        connection(QUEUE).set(run_queued_key(run.pk), "1", ex=timeout + 86400)
        enqueue(QUEUE, job, *args, committed=True, job_timeout=timeout)
    except Exception as exc:
        logger.warning("import run %s could not be queued yet (%s); the janitor will queue it", run.pk, exc)
        return False
    ImportRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now())
    return True


def run_queued_key(run_id: int) -> str:
    return f"am:import-run:{run_id}:queued"


def import_run_tell_managers(*, run: ImportRun) -> None:
    """A run lost on every try: its page and the dashboard say so (worker_lost); email too where configured."""
    from django.core.mail import send_mail

    from subscribers.models import Membership, Role

    if not settings.EMAIL_CONFIGURED:
        return
    emails = list(
        Membership.objects.filter(account_id=run.account_id, role=Role.MANAGER, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    try:
        send_mail(
            f"Import of {run.file_name} failed",
            f"The import #{run.pk} of “{run.file_name}” ({run.get_source_display()}) could not finish: the worker "
            "running it stopped on every try. Nothing was changed. Upload the file again, or ask your billing "
            "system to send it again.",
            None,
            emails,
        )
    except Exception:  # the banner and the run page still tell them
        logger.exception("could not email the managers of account %s about import run %s", run.account_id, run.pk)


def _locked_run(run: ImportRun) -> ImportRun:
    return ImportRun.objects.select_for_update().get(pk=run.pk)


@transaction.atomic
def import_run_confirm(*, run: ImportRun, user, actor_name: str = "") -> ImportRun:
    """A manager (or an API client, `user` None and `actor_name` its key) lets a run held by the guard go ahead;
    the changes are decided again on the list as it is now."""
    queue_check(QUEUE)
    run = _locked_run(run)
    if run.stage != Stage.AWAITING_CONFIRMATION:
        raise ImportRefused("wrong_stage", "This import is not waiting for a confirmation.")
    if run.expires_at is not None and run.expires_at <= timezone.now():
        raise ImportRefused("expired", "This import waited more than 24 hours and expired. Upload the file again.")
    run.stage = Stage.APPLYING
    run.error = ""
    run.save(update_fields=["stage", "error"])
    transaction.on_commit(lambda: import_run_enqueue(run=run, args=(run.pk, True)))
    _run_audit(run, "confirmed", user, actor_name)
    return run


def import_run_cancel(*, run: ImportRun, user, actor_name: str = "") -> ImportRun:
    with transaction.atomic():
        run = _locked_run(run)
        if run.stage not in (Stage.AWAITING_CONFIRMATION, Stage.QUEUED):
            raise ImportRefused(
                "wrong_stage", "Only an import that is queued or waiting for a confirmation can be cancelled."
            )
        run.stage = Stage.CANCELLED
        run.finished_at = timezone.now()
        run.expires_at = None
        run.save(update_fields=["stage", "finished_at", "expires_at"])
        _run_audit(run, "cancelled", user, actor_name)
    engine.discard(run)
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)
        ImportRun.objects.filter(pk=run.pk).update(file_path="")
    return run


def import_undo_preview(*, run: ImportRun) -> dict:
    _check_undoable(run)
    return engine.undo_preview(run)


def _check_undoable(run: ImportRun) -> None:
    if run.stage != Stage.DONE or run.dry_run:
        raise ImportRefused("not_undoable", "Only a finished import that changed the list can be undone.")
    if run.undo_of_id is not None:
        raise ImportRefused("not_undoable", "An undo cannot itself be undone; import the file again instead.")
    if run.undos.exclude(stage__in=(Stage.FAILED, Stage.CANCELLED)).exists():
        raise ImportRefused("already_undone", "This import has already been undone.")


@transaction.atomic
def import_run_undo(*, run: ImportRun, user) -> ImportRun:
    queue_check(QUEUE)
    run = _locked_run(run)
    _check_undoable(run)
    undo = ImportRun.objects.create(
        account_id=run.account_id,
        layout=run.layout,
        configuration_id=run.configuration_id,
        configuration_version=run.configuration_version,
        mode=run.mode,
        action=run.action,
        source=RunSource.WEB,
        started_by=user if getattr(user, "pk", None) else None,
        file_name=f"Undo of import #{run.pk} ({run.file_name})"[:255],
        undo_of=run,
    )
    transaction.on_commit(lambda: import_run_enqueue(run=undo))
    _run_audit(run, "undone", user)
    return undo


def import_run_expire_held() -> int:
    """Held runs whose parsed rows are older than 24 hours are dropped (SPEC §4.3)."""
    expired = 0
    for run in ImportRun.objects.filter(stage=Stage.AWAITING_CONFIRMATION, expires_at__lte=timezone.now()):
        with transaction.atomic():
            locked = _locked_run(run)
            if locked.stage != Stage.AWAITING_CONFIRMATION:
                continue
            locked.stage = Stage.CANCELLED
            locked.error = "Nobody confirmed this import within 24 hours, so it expired. Upload the file again."
            locked.finished_at = timezone.now()
            locked.save(update_fields=["stage", "error", "finished_at"])
        engine.discard(run)
        expired += 1
    return expired


# --- ALP configurations ------------------------------------------------------------------------------------


@transaction.atomic
def configuration_save(
    *,
    account: Account,
    user,
    name: str,
    field_map: FieldMap,
    mode: str,
    configuration: ImportConfiguration | None = None,
) -> ImportConfiguration:
    """Create or change a configuration. Every change makes a new version, which needs approval again."""
    name = (name or "").strip()
    if not name:
        raise ImportRefused("invalid", "Give the configuration a name.", field="name")
    if mode not in Mode.values:
        raise ImportRefused("invalid", "Choose a processing mode.", field="mode")
    refusal = configuration_name_refusal(account=account, name=name, configuration=configuration)
    if refusal:
        raise ImportRefused("duplicate_name", refusal, field="name")
    now = timezone.now()
    if configuration is None:
        try:
            # A savepoint: two managers saving the same name at once meet the database's constraint, not a 500.
            with transaction.atomic():
                return ImportConfiguration.objects.create(
                    account=account, name=name, field_map=field_map.dump(), mode=mode, created_by=user, updated_at=now
                )
        except IntegrityError:
            raise ImportRefused("duplicate_name", _name_taken(name), field="name")
    if configuration.account_id != account.pk:
        raise ImportRefused("no_configuration", "This import configuration does not exist.")
    configuration = ImportConfiguration.objects.select_for_update().get(pk=configuration.pk)
    configuration.name = name
    configuration.field_map = field_map.dump()
    configuration.mode = mode
    configuration.version += 1
    configuration.approved_at = None
    configuration.approved_by = None
    configuration.approved_version = None
    configuration.updated_at = now
    try:
        with transaction.atomic():
            configuration.save()
    except IntegrityError:
        raise ImportRefused("duplicate_name", _name_taken(name), field="name")
    return configuration


def _name_taken(name: str) -> str:
    return f"A configuration called “{name}” already exists. Pick another name."


def configuration_name_refusal(
    *, account: Account, name: str, configuration: ImportConfiguration | None = None
) -> str | None:
    """Why `name` cannot be used for a (new, or this) configuration of the account, or None.

    A retired configuration keeps its name: its runs still show it, and the database keeps names unique per
    account, retired or not.
    """
    clash = ImportConfiguration.objects.filter(account=account, name__iexact=name.strip())
    if configuration is not None:
        clash = clash.exclude(pk=configuration.pk)
    if clash.filter(retired_at=None).exists():
        return _name_taken(name.strip())
    retired = clash.first()
    if retired is not None:
        return (
            f"A retired configuration called “{retired.name}” already exists, and retired ones keep their names. "
            "Pick another name."
        )
    return None


@transaction.atomic
def configuration_approve(*, configuration: ImportConfiguration, user) -> ImportConfiguration:
    configuration = ImportConfiguration.objects.select_for_update().get(pk=configuration.pk)
    if configuration.retired_at is not None:
        raise ImportRefused("retired", "This configuration was retired and cannot be approved.")
    configuration.approved_at = timezone.now()
    configuration.approved_by = user if getattr(user, "pk", None) else None
    configuration.approved_version = configuration.version
    configuration.save(update_fields=["approved_at", "approved_by", "approved_version"])
    audit_record(
        kind=Kind.CONFIGURATION,
        action="approved",
        summary=f"Configuration “{configuration.name}” version {configuration.version} approved "
        f"({configuration.get_mode_display()})",
        account=configuration.account,
        actor=user,
        details={"configuration": configuration.pk, "version": configuration.version},
    )
    return configuration


@transaction.atomic
def configuration_retire(*, configuration: ImportConfiguration, user) -> ImportConfiguration:
    configuration = ImportConfiguration.objects.select_for_update().get(pk=configuration.pk)
    configuration.retired_at = timezone.now()
    configuration.save(update_fields=["retired_at"])
    audit_record(
        kind=Kind.CONFIGURATION,
        action="retired",
        summary=f"Configuration “{configuration.name}” retired",
        account=configuration.account,
        actor=user,
        details={"configuration": configuration.pk},
    )
    return configuration


def sample_columns(*, path, field_map: FieldMap | None = None, rows: int = 20) -> tuple[readers.FileInfo, list, list]:
    """A sample file's format, its header row (per the field map, or the first row) and the rows after it,
    for the configuration page. Raises ImportRefused with the reader's sentence for an unreadable file."""
    header_row = field_map.header_row if field_map is not None else 1
    try:
        info = engine.reading.detect(path, field_map)
        sample = readers.preview(path, info, rows=rows + max(header_row, 1))
    except readers.FileRejected as exc:
        raise ImportRefused("file_rejected", str(exc), field="file")
    header: list = []
    body = []
    for row in sample:
        if header_row and row.number == header_row:
            header = row.cells
        elif row.number > header_row and not row.problem:
            body.append(row.cells)
    width = max([len(header)] + [len(r) for r in body]) if (header or body) else 0
    if not header:
        header = [readers.column_letter(i) for i in range(width)]
    return info, header, body[:rows]


def run_is_active(run: ImportRun) -> bool:
    return run.stage not in FINAL_STAGES
