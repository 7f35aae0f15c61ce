"""More than one of everything, as real processes against the test PostgreSQL and Redis: two SFTP servers share
the lockout, two web processes share sessions and rate limits, two workers give the result of one."""

import io
import socket
import urllib.error
import urllib.request
from types import SimpleNamespace

import asyncssh
import django_rq
import pytest
from django.db import connection

from imports import services as imports_services
from imports.models import ImportRun, Mode, RunSource, Stage
from messaging import alerts, inbound
from messaging.models import Alert, OutboundMessage
from subscribers.models import OptEvent, Status, Subscriber
from tests.conftest import verified_login
from tests.imports.test_faults import _load_numbers, postgres_only
from tests.ops import procs
from tests.ops.gateway import sent
from tests.sftpdrop.conftest import connect, run

pytestmark = [postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _sftp_accepts(port: int, username: str, password: str) -> bool:
    async def login():
        async with connect(SimpleNamespace(port=port), username, password) as conn:
            async with conn.start_sftp_client() as sftp:
                return await sftp.realpath(".")

    try:
        return run(login()) == "/"
    except asyncssh.PermissionDenied:
        return False


def test_two_sftp_servers_share_the_lockout(credentials, lockout_redis, tmp_path):
    credential, password = credentials
    environment = procs.env(SFTP_HOST_KEY_PATH=tmp_path / "host_key", SFTP_SPOOL_DIR=tmp_path / "spool")
    ports = [procs.free_port(), procs.free_port()]
    servers = [
        procs.start(["manage.py", "sftp_server", "--host", "127.0.0.1", "--port", str(port)], environment,
                    tmp_path / f"sftp{port}.log")
        for port in ports
    ]  # fmt: skip
    with procs.running(*servers):
        for port in ports:
            procs.wait_for(lambda p=port: _listening(p), f"the SFTP server on {port}", 60)
        assert all(_sftp_accepts(port, credential.username, password) for port in ports)
        # Four failures spread over both servers: the address is blocked on both, even with the right password.
        for port in (ports[0], ports[1], ports[0], ports[1]):
            assert not _sftp_accepts(port, credential.username, "wrong-password")
        assert not _sftp_accepts(ports[0], credential.username, password)
        assert not _sftp_accepts(ports[1], credential.username, password)


def _http(url: str, headers: dict) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError):
        return 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_two_web_processes_share_sessions_and_rate_limits(client, manager, api_key, tmp_path):
    urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))
    (tmp_path / "metrics").mkdir()
    environment = procs.env(
        API_RATE_LIMIT="0.2", API_RATE_BURST="3", PROMETHEUS_MULTIPROC_DIR=tmp_path / "metrics", METRICS_TOKEN="t0ken"
    )
    ports = [procs.free_port(), procs.free_port()]
    webs = [
        procs.start(["-m", "gunicorn", "alertmanager.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "1"],
                    environment, tmp_path / f"web{port}.log")
        for port in ports
    ]  # fmt: skip
    try:
        with procs.running(*webs):
            for port in ports:
                procs.wait_for(lambda p=port: _http(f"http://127.0.0.1:{p}/healthz", {}) == 200, "gunicorn", 60)
            # A session made by one login (both factors) opens pages on either process.
            verified_login(client, manager)
            cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
            assert [_http(f"http://127.0.0.1:{p}/dashboard/", cookie) for p in ports] == [200, 200]
            assert [_http(f"http://127.0.0.1:{p}/dashboard/", {}) for p in ports] == [302, 302]
            # The API key's burst of 3 is spent over both processes together: the fourth call is 429 on either.
            key = {"Authorization": f"Bearer {api_key.token}"}
            answers = [_http(f"http://127.0.0.1:{ports[i % 2]}/api/v1/subscribers", key) for i in range(5)]
            assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429], answers
            # Multiprocess metrics: either process's /metrics counts the requests both answered.
            scrape = urllib.request.Request(
                f"http://127.0.0.1:{ports[1]}/metrics", headers={"Authorization": "Bearer t0ken"}
            )
            with urllib.request.urlopen(scrape, timeout=10) as response:
                text = response.read().decode()
            line = [ln for ln in text.splitlines() if ln.startswith("alertmanager_http_requests_total{")
                    and 'view="dashboard"' in ln and 'status="200"' in ln]  # fmt: skip
            assert len(line) == 1 and float(line[0].rsplit(" ", 1)[1]) == 2.0, line
            assert 'alertmanager_api_calls_total{status="429"} 2.0' in text
    finally:
        urllib.request.install_opener(urllib.request.build_opener())


def _list_state(account) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.phone, s.status, s.opted_out_by, coalesce(string_agg(t.name, '|' ORDER BY t.name), '') "
            "FROM subscribers_subscriber s LEFT JOIN subscribers_subscribertag st ON st.subscriber_id = s.id "
            "LEFT JOIN subscribers_tag t ON t.id = st.tag_id WHERE s.account_id = %s GROUP BY s.id ORDER BY s.phone",
            [account.pk],
        )
        return tuple(cursor.fetchall())


def test_two_workers_take_four_imports_of_two_accounts_an_alert_and_a_stop_as_one_would(
    account, other_account, settings, tmp_path, rq_queues
):
    from subscribers.services import account_sender_add

    account_sender_add(account=account, phone="73303")
    lists = {account.pk: _load_numbers(account, 15_000), other_account.pk: _load_numbers(other_account, 15_000, 50_000)}
    # In neither file: its STOP lands mid-import and no import may undo it, whichever order things ran in.
    stopped = lists[account.pk][14_500]

    def files(phones, start):
        # Two appends per account whose tags differ: the result does not depend on which of the two runs first.
        first = "".join(f"{p},Feeder {i % 5}\n" for i, p in enumerate(phones[:12_000]))
        first += "".join(f"+1205{start + i:07d},Feeder N\n" for i in range(2_000))
        second = "".join(f"{p},District {i % 3}\n" for i, p in enumerate(phones[6_000:14_000]))
        return [first, second]

    runs = []
    for account_, start in ((account, 3_000_000), (other_account, 4_000_000)):
        for content in files(lists[account_.pk], start):
            runs.append(imports_services.import_run_create(
                account=account_, file=io.BytesIO(content.encode()), file_name="cis.csv", source=RunSource.SFTP,
                mode=Mode.APPEND,
            ))  # fmt: skip
    log = tmp_path / "provider.log"
    alert = alerts.alert_create(account=account, body="Outage on Feeder 3.", target="everyone", tags=[], user=None)
    environment = procs.env(SMS_GATEWAY="tests.ops.gateway.FileGateway", OPS_GATEWAY_FILE=log, ALERT_BATCH_SIZE=500)
    workers = [procs.worker(environment, "imports", "default", log=tmp_path / f"w{i}.log") for i in range(2)]
    with procs.running(*workers):
        procs.wait_for(lambda: ImportRun.objects.filter(stage__in=(Stage.READING, Stage.COMPARING)).exists(),
                       "an import to run", 120)  # fmt: skip
        inbound.inbound_receive(to="73303", phone=stopped, body="STOP", message_sid="SMstopduringimport0001")
        procs.wait_for(
            lambda: (
                ImportRun.objects.filter(pk__in=[r.pk for r in runs], stage=Stage.DONE).count() == 4
                and Alert.objects.get(pk=alert.pk).stage == "done"
            ),
            "the four imports and the alert",
            300,
        )
    # The sequential result: the same files into fresh accounts, one after the other, and the STOP.
    from imports import jobs
    from subscribers.models import Account

    twins = {}
    for original, start in ((account, 3_000_000), (other_account, 4_000_000)):
        twin = Account.objects.create(slug=f"{original.slug}-twin", name=original.name + " (twin)")
        _load_numbers(twin, 15_000, 0 if original == account else 50_000)
        settings.IMPORT_GUARD_SHARE = 1
        for content in files(lists[original.pk], start):
            run_ = imports_services.import_run_create(
                account=twin, file=io.BytesIO(content.encode()), file_name="cis.csv", source=RunSource.CLI,
                mode=Mode.APPEND,
            )  # fmt: skip
            django_rq.get_queue("imports").empty()
            jobs.import_run_job(run_.pk)
        twins[original.pk] = twin
    from subscribers.services import subscriber_keyword_stop

    subscriber_keyword_stop(account=twins[account.pk], phone=stopped)
    for original in (account, other_account):
        assert _list_state(original) == _list_state(twins[original.pk]), original.slug
    assert Subscriber.objects.get(account=account, phone=stopped).status == Status.OPTED_OUT
    texts = [to for to, _, _ in sent(log)]
    assert len(texts) == len(set(texts)), "no text sent twice"
    assert OutboundMessage.objects.filter(alert=alert, status="sent").count() == len(texts)
    assert OptEvent.objects.filter(account=account).count() > 0
