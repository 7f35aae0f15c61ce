# Shared by scripts/run, scripts/test and .ci/run. Source it; it defines functions only.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

# Django 6 needs Python 3.12+. The default python3 may be older, and pyenv shims may refuse
# versions that are installed but not selected, so look in the usual places too.
find_python() {
  local candidate
  for candidate in python3.14 python3.13 python3.12 python3 \
      $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null) \
      /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "AlertManager needs Python 3.12 or newer; none was found." >&2
  return 1
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha"
  local want
  want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    local python
    python="$(find_python)" || return 1
    echo "Creating a virtualenv in $VENV with $python"
    "$python" -m venv "$VENV" || return 1
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing requirements…"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt" || return 1
    echo "$want" > "$stamp"
  fi
}

redis_answers() {
  "$VENV/bin/python" - "${REDIS_URL:-redis://127.0.0.1:6379/0}" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

ensure_redis() {
  redis_answers && return 0
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis_answers && return 0; sleep 0.1; done
  fi
  echo "Redis does not answer at ${REDIS_URL:-redis://127.0.0.1:6379/0}. Install redis-server or set REDIS_URL." >&2
  return 1
}

postgres_answers() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null
}

ensure_postgres() {
  postgres_answers && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 100); do postgres_answers && return 0; sleep 0.2; done
  fi
  echo "PostgreSQL does not answer on 127.0.0.1:5432." >&2
  return 1
}

# wait_for_port HOST PORT [SECONDS]: until something accepts connections there (0), or the time is up (1), so a
# script says "running at" only once the server answers.
wait_for_port() {
  local host="$1" port="$2" seconds="${3:-60}" tries
  tries=$((seconds * 10))
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "Nothing answers on $host:$port after $seconds s." >&2
  return 1
}
