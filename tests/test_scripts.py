"""Issue 23, item 15: scripts/run says the app is running only once it answers, and the SSH library's DSA
deprecation warnings stay out of the logs."""

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _wait_for_port(port: int, seconds: int = 1) -> subprocess.CompletedProcess:
    script = f'source "{ROOT}/scripts/common.sh"; wait_for_port 127.0.0.1 {port} {seconds} && echo answered'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)


def test_wait_for_port_waits_for_a_listener_and_fails_without_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        closed = _wait_for_port(port)
        assert closed.returncode == 1 and "Nothing answers" in closed.stderr
        server.listen()
        assert _wait_for_port(port).stdout.strip() == "answered"


def test_scripts_run_waits_for_the_web_server_before_saying_it_runs():
    run = (ROOT / "scripts" / "run").read_text()
    assert run.index("wait_for_port") < run.index("AlertManager is running at")


def test_loading_the_sftp_drop_prints_no_dsa_warning():
    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'alertmanager.settings'); "
    code += "django.setup(); import sftpdrop.server, sftpdrop.hostkey"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "DSA" not in done.stderr
