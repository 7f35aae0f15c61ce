"""Import a file from the command line, as the web upload would (source `cli`)."""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imports import jobs, services
from imports.models import Action, ImportConfiguration, ImportRun, Mode, RunSource, Stage
from subscribers.models import Account

FINAL = (Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.AWAITING_CONFIRMATION)


class Command(BaseCommand):
    help = "Import FILE into an account: Preformatted with --action, or with an ALP configuration (--config)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="the account's slug")
        parser.add_argument("file")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--config", help="the name of an approved ALP configuration")
        which.add_argument("--action", choices=Action.values, default=Action.OPT_IN, help="Preformatted: what to do")
        parser.add_argument("--mode", choices=Mode.values, help="Preformatted: a processing mode other than standard")
        parser.add_argument("--dry-run", action="store_true", help="compute the changes, change nothing")
        parser.add_argument("--sync", action="store_true", help="run here instead of on a worker")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for a worker")

    def handle(self, *args, **options):
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account {options['account']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        configuration = None
        if options["config"]:
            configuration = ImportConfiguration.objects.filter(
                account=account, name=options["config"], retired_at=None
            ).first()
            if configuration is None:
                raise CommandError(f"No configuration {options['config']!r} in {account.slug}.")
        try:
            with path.open("rb") as f:
                run = services.import_run_create(
                    account=account,
                    file=f,
                    file_name=path.name,
                    source=RunSource.CLI,
                    configuration=configuration,
                    action=options["action"],
                    mode=options["mode"],
                    dry_run=options["dry_run"],
                )
        except services.ImportRefused as exc:
            raise CommandError(exc.detail)
        if options["sync"]:
            try:
                jobs.import_run_job(run.pk)
            except Exception:
                pass  # the run records the failure; reported below
        else:
            deadline = time.monotonic() + options["timeout"]
            while run.stage not in FINAL and time.monotonic() < deadline:
                time.sleep(0.5)
                run.refresh_from_db()
        run.refresh_from_db()
        self._report(run, options["json"])
        if run.stage == Stage.FAILED:
            raise CommandError(run.error or "The import failed.")
        if run.stage not in FINAL:
            raise CommandError("No worker finished the import in time; is `manage.py rqworker imports` running?")

    def _report(self, run: ImportRun, as_json: bool) -> None:
        if as_json:
            payload = {"run": run.pk, "stage": run.stage, "dry_run": run.dry_run, "counts": run.counts}
            if run.error:
                payload["error"] = run.error
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"Import #{run.pk} of {run.file_name}: {run.get_stage_display()}")
        for name, count in sorted((k, v) for k, v in run.counts.items() if isinstance(v, int)):
            self.stdout.write(f"  {name:<24}{count:>10,}")
        if run.stage == Stage.AWAITING_CONFIRMATION:
            self.stdout.write("  It would stop alerts to many numbers: a manager must confirm it in the app.")
