"""docs/deploy.md and deploy/: every setting documented, the systemd units valid, the Procfile complete."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings_read() -> set[str]:
    text = (ROOT / "alertmanager" / "settings.py").read_text()
    return set(re.findall(r'(?:env_\w+|os\.environ\.get)\("([A-Z][A-Z0-9_]+)"', text)) | set(
        re.findall(r'"([A-Z][A-Z0-9_]+)" in os\.environ', text)
    )


def test_every_setting_read_from_the_environment_is_documented():
    documented = (ROOT / "README.md").read_text() + (ROOT / "docs" / "deploy.md").read_text()
    settings = _settings_read()
    assert "METRICS_TOKEN" in settings and "IMPORT_RESULTS_KEEP_DAYS" in settings
    missing = sorted(name for name in settings if f"`{name}`" not in documented)
    assert missing == [], f"not in the README's table nor docs/deploy.md: {missing}"


def test_the_new_settings_of_operations_are_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    for name in ("LOG_FORMAT", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "READY_MAX_JOB_AGE_SECONDS",
                 "READY_SFTP_ADDRESS", "IMPORT_RETRIES", "JANITOR_SECONDS", "IMPORT_RESULTS_KEEP_DAYS"):  # fmt: skip
        assert re.search(rf"^\|[^\n]*`{name}`", readme, re.M), name


def test_the_procfile_runs_every_process_and_the_dashboard_is_valid_json():
    procfile = (ROOT / "deploy" / "Procfile").read_text()
    for needed in ("web: gunicorn", "rqworker imports", "rqworker default", "rqworker lookups", "sftp_server"):
        assert needed in procfile
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for series in ("alertmanager_queue_depth", "alertmanager_texts_total", "alertmanager_import_runs_total"):
        assert series in queries


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    venv_bin = Path(sys.executable).parent
    for unit in (ROOT / "deploy" / "systemd").glob("*.service"):
        # Paths of this checkout instead of /opt/alertmanager, so verify can find the executables.
        text = (
            unit.read_text()
            .replace("/opt/alertmanager/.venv/bin", str(venv_bin))
            .replace("/opt/alertmanager", str(ROOT))
            .replace("EnvironmentFile=/etc/alertmanager/alertmanager.env", f"EnvironmentFile=-{tmp_path}/none.env")
        )
        name = unit.name.replace("@.service", "@imports.service")
        (tmp_path / name).write_text(text)
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True, timeout=60
        )
        problems = [
            line for line in result.stderr.splitlines()
            # The account exists on the server, not on the machine running the tests.
            if line.strip() and "alertmanager" in line and "User" not in line and "Group" not in line
        ]  # fmt: skip
        assert result.returncode == 0 and problems == [], (name, result.stderr)
