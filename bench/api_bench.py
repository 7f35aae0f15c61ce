"""REST API throughput: GET /subscribers/{phone} and POST …/opt-in on an account of 1,000,000 numbers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/am_apibench REDIS_URL=redis://127.0.0.1:6379/7 DB_CONN_MAX_AGE=60 \
        .venv/bin/python bench/api_bench.py [--rows 1000000] [--seconds 30] [--connections 4] [--threads 2] [--reload]

Needs wrk (`apt-get install wrk`). The first run migrates the database and loads an "api-bench" account
through the product's own import: `--rows` numbers with a realistic mix of statuses and one district tag each. It then serves the
app with gunicorn (2 gthread workers of 2 threads each and prepared statements, as the README advises; DEBUG
off, its own SECRET_KEY and ALLOWED_HOSTS) on a free loopback port and drives it with wrk: reads of random numbers of the account (every status), then opt-ins with a tag
of numbers that may be opted in (80% existing numbers, 20% new ones), each with the account's API key.

The per-key rate limit is raised to 1,000,000 requests/s for the bench (API_RATE_LIMIT/API_RATE_BURST):
the limiter's Redis call is still made on every request, but nothing is refused. Any non-2xx answer or
socket error fails the bench: a run full of 429s or 500s measures nothing. The server takes DB_CONN_MAX_AGE
from the environment; left at its default (0) every request opens a new PostgreSQL connection.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertmanager.settings")

SLUG = "api-bench"
AREAS = ("205", "251", "256", "334", "938")
EXCHANGES = [f"{n:03d}" for n in range(201, 1000) if n % 100 != 11 and n != 555]
DISTRICTS = [f"District {i}" for i in range(1, 13)]
# (status, opted_out_by, share of the list); opt-ins of the opted-out ones would be refused with 409.
STATUS_MIX = [("opted_in", "", 0.83), ("suspended", "", 0.07), ("opted_out", "subscriber", 0.05),
              ("opted_out", "customer", 0.03), ("pending", "", 0.02)]  # fmt: skip
RATE = "1000000"

# One random line of a file of numbers per request; `done` prints the figures as JSON, counting every
# answer that is not 2xx (wrk itself only counts 4xx and 5xx, and no 3xx, as errors).
LUA = """
local path, method, body = os.getenv("BENCH_PHONES"), os.getenv("BENCH_METHOD"), os.getenv("BENCH_BODY")
local key = os.getenv("BENCH_KEY")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  phones = {}
  for line in io.lines(path) do phones[#phones + 1] = line end
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000))
  not_2xx = 0
  wrk.method = method
  wrk.headers["Authorization"] = "Bearer " .. key
  if body ~= "" then
    wrk.headers["Content-Type"] = "application/json"
  end
end
function request()
  local phone = phones[math.random(#phones)]
  local suffix = method == "POST" and "/opt-in" or ""
  local b = nil
  if body ~= "" then b = body:gsub("DISTRICT", tostring(math.random(12))) end
  return wrk.format(nil, "/api/v1/subscribers/%2B" .. phone:sub(2) .. suffix, nil, b)
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
    if not_2xx <= 3 then io.stderr:write(status .. " " .. body:sub(1, 200) .. "\\n") end
  end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("not_2xx") end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "max_ms": %f, "not_2xx": %d, '
    .. '"socket_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, e.connect + e.read + e.write + e.timeout))
end
"""


def _phone(k: int) -> str:
    area = AREAS[k % len(AREAS)]
    k //= len(AREAS)
    return f"+1{area}{EXCHANGES[(k // 10_000) % len(EXCHANGES)]}{k % 10_000:04d}"


def _valid_numbers(start: int, count: int) -> list[str]:
    from subscribers import phones

    candidates = [_phone(k) for k in range(start, start + int(count * 1.05))]
    return [n for n, r in zip(candidates, phones.normalise_many(candidates), strict=True) if r.ok][:count]


def _load(rows: int):
    """The account and its numbers, built through the product as a utility's would be: a first import of the
    export (Preformatted, a district tag each), files that suspend and opt out some of them, the owners' STOPs
    recorded by staff, and double opt-in requests for a few new numbers."""
    from subscribers import services
    from subscribers.models import Account, Source, Subscriber
    from subscribers.transitions import Action

    rng = random.Random(6)
    numbers = _valid_numbers(0, rows)
    mix = rng.choices([(s, b) for s, b, _ in STATUS_MIX], [w for *_, w in STATUS_MIX], k=len(numbers))
    account = Account.objects.create(slug=SLUG, name="API Bench Electric (1M)")
    cause = services.Cause(source=Source.MANAGER, note="bench")
    with tempfile.TemporaryDirectory() as folder:
        listed = [
            (n, rng.choice(DISTRICTS)) for n, (status, _) in zip(numbers, mix, strict=True) if status != "pending"
        ]
        _import(Path(folder) / "export.csv", [f"{n},{d}" for n, d in listed], "opt_in")
        for status, by, action in (("suspended", "", "suspend"), ("opted_out", "customer", "opt_out")):
            chosen = [n for n, m in zip(numbers, mix, strict=True) if m == (status, by)]
            _import(Path(folder) / f"{action}.csv", chosen, action)
    stopped = [n for n, m in zip(numbers, mix, strict=True) if m == ("opted_out", "subscriber")]
    for start in range(0, len(stopped), 10_000):
        selection = Subscriber.objects.filter(phone__in=stopped[start : start + 10_000])
        services.subscribers_bulk_apply(account=account, selection=selection, action=Action.STOP, cause=cause)
    for number in (n for n, (status, _) in zip(numbers, mix, strict=True) if status == "pending"):
        services.subscriber_request_confirmation(account=account, phone=number, cause=cause)
    return account


def _import(path: Path, lines: list[str], action: str) -> None:
    from django.core.management import call_command

    path.write_text("\n".join(lines) + "\n")
    call_command("import_file", SLUG, str(path), "--action", action, "--sync", stdout=open(os.devnull, "w"))


def _account(rows: int, reload: bool):
    from django.db import connection

    from subscribers.models import Account, Subscriber

    account = Account.objects.filter(slug=SLUG).first()
    if account is not None and (reload or Subscriber.objects.filter(account=account).count() < rows):
        print("Dropping the old bench account…", flush=True)
        with connection.cursor() as c:
            c.execute("DELETE FROM subscribers_optevent WHERE account_id = %s", [account.pk])
        account.delete()
        account = None
    if account is None:
        print(f"Loading {rows:,} subscribers…", flush=True)
        started = time.perf_counter()
        account = _load(rows)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return account


def _phone_files(account, rows: int, folder: Path) -> tuple[Path, Path]:
    """Every number of the account to read; numbers to opt in: 80% ones the rules let in, 20% new."""
    from subscribers.models import Subscriber

    rng = random.Random()
    listed = Subscriber.objects.filter(account=account)
    reads = folder / "reads.txt"
    reads.write_text("\n".join(listed.values_list("phone", flat=True).iterator(chunk_size=50_000)) + "\n")
    allowed = list(listed.exclude(status="opted_out").values_list("phone", flat=True).iterator(chunk_size=50_000))
    existing = rng.sample(allowed, 80_000)
    # Numbers a fresh run has never seen: past the account's own, from a random start so runs differ.
    new = _valid_numbers(rows * 2 + rng.randrange(rows * 10), 20_000)
    writes = folder / "writes.txt"
    writes.write_text("\n".join(existing + new) + "\n")
    return reads, writes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; production sits behind TLS
        "API_RATE_LIMIT": RATE,
        "API_RATE_BURST": RATE,
        "LOG_LEVEL": "WARNING",
        # As the README advises for the web processes; DB_PREPARED_STATEMENTS=0 measures without.
        "DB_PREPARED_STATEMENTS": os.environ.get("DB_PREPARED_STATEMENTS", "1"),
    }
    # gthread workers keep wrk's connections open between requests; sync workers close each one.
    workers = ["--worker-class", "gthread", "--threads", str(threads)] if threads else []
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "alertmanager.wsgi", "--workers", "2", *workers,
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not answer within 10 s")


def _wrk(port: int, seconds: int, connections: int, lua: Path, phones: Path, method: str, body: str, key: str):
    env = {**os.environ, "BENCH_PHONES": str(phones), "BENCH_METHOD": method, "BENCH_BODY": body, "BENCH_KEY": key}
    out = subprocess.run(
        ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{seconds}s",
         "--timeout", "5s", "--script", str(lua), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    sys.stderr.write(out.stderr)
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (one per gunicorn thread)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (gthread); 0: sync workers")
    parser.add_argument("--reload", action="store_true", help="drop the bench account and load it again")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("The bench drives the API with wrk: install it (Debian/Ubuntu: apt-get install wrk).")

    # One SECRET_KEY for this process and the server: keys are hashed with it.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from api.models import ApiKey
    from api.services import api_key_create

    if connection.vendor != "postgresql":
        sys.exit("The bench measures PostgreSQL: set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    account = _account(args.rows, args.reload)
    folder = Path(tempfile.mkdtemp(prefix="api-bench-"))
    port = _free_port()
    server = None
    try:
        reads, writes = _phone_files(account, args.rows, folder)
        lua = folder / "bench.lua"
        lua.write_text(LUA)
        ApiKey.objects.filter(account=account).delete()
        _, key = api_key_create(account=account, name="api bench")
        server = _serve(port, args.threads)
        workers = f"gthread ({args.threads} threads)" if args.threads else "sync"
        print(
            f"\nAccount “{account.name}”: {args.rows:,} numbers; gunicorn, 2 {workers} workers, on 127.0.0.1:{port}; "
            f"wrk, 2 threads, {args.connections} connections, {args.seconds} s each; {os.cpu_count()} CPUs; "
            f"PostgreSQL {connection.cursor().connection.info.server_version}; "
            f"DB_CONN_MAX_AGE={os.environ.get('DB_CONN_MAX_AGE') or '0'}; "
            f"DB_PREPARED_STATEMENTS={os.environ.get('DB_PREPARED_STATEMENTS', '1')}; "
            f"API_RATE_LIMIT raised to {RATE}/s for the bench",
            flush=True,
        )
        connection.close()  # the server's workers and the bench should not share one idle connection
        failed = False
        print(f"\n{'requests':36} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        cases = [
            ("GET /subscribers/{phone}", reads, "GET", ""),
            ('POST …/opt-in {"tags": ["District n"]}', writes, "POST", '{"tags": ["District DISTRICT"]}'),
        ]
        for label, phones, method, body in cases:
            r = _wrk(port, args.seconds, args.connections, lua, phones, method, body, key)
            errors = r["not_2xx"] + r["socket_errors"]
            print(
                f"{label:36} {r['requests'] / r['seconds']:10,.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                f"{r['max_ms']:8.1f} {errors:7,}",
                flush=True,
            )
            failed = failed or errors > 0
        print(f"\nload average afterwards: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if failed:
            sys.exit("FAILED: some answers were not 2xx (or sockets failed); the figures above measure nothing.")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
