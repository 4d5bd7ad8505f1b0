# shellcheck shell=bash
# Shared helpers for Partnerhub scripts: installing missing Debian packages and
# running a throwaway PostgreSQL cluster for the tests.
#
# Usage (from a bash script running with `set -euo pipefail`):
#   source scripts/lib/postgres.sh
#   install_packages $(pg_missing_packages)
#   pg_cluster_start          # exports PARTNERHUB_TEST_PG_URL, sets an EXIT trap
#   ...run things...          # the cluster is stopped and deleted on exit

# Print a message on stderr, prefixed so it stands out in CI logs.
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Clean-ups to run when the script exits, in the order registered (the throwaway PostgreSQL cluster, the S3
# endpoint…). One EXIT trap runs them all; signals turn into a normal exit so it runs then too.
_EXIT_HOOKS=()
on_exit() {
  _EXIT_HOOKS+=("$1")
  trap _run_exit_hooks EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
_run_exit_hooks() {
  local hook
  for hook in "${_EXIT_HOOKS[@]}"; do "$hook"; done
}

# Install the given Debian packages (no-op when none are given). `apt-get update`
# only runs when something actually has to be installed, and only once per run.
_APT_UPDATED=0
install_packages() {
  [ "$#" -gt 0 ] || return 0
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: $*"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; please install: $*"
  log "installing: $*"
  if [ "$_APT_UPDATED" -eq 0 ]; then
    "${sudo[@]}" apt-get update || die "apt-get update failed"
    _APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@" || die "apt-get install failed: $*"
}

# Directory holding initdb/pg_ctl of the newest PostgreSQL installed from Debian
# packages (empty if none). We deliberately ignore /usr/local/bin wrappers so that
# the server binaries and pg_isready always come from one consistent version.
pg_bin_dir() {
  local initdb
  initdb=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$initdb" ] && dirname "$initdb"
  return 0
}

# Packages the throwaway cluster needs that are not installed yet (one per line).
pg_missing_packages() {
  [ -n "$(pg_bin_dir)" ] && [ -x "$(pg_bin_dir)/pg_ctl" ] || echo postgresql
  command -v python3 >/dev/null 2>&1 || echo python3   # used to pick a free port
  is_root && ! command -v runuser >/dev/null 2>&1 && echo util-linux
  return 0
}

# Ask the kernel for a currently free TCP port on 127.0.0.1.
_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a PostgreSQL binary as the cluster owner: initdb/postgres refuse to run as
# root, so when we are root everything runs as the `postgres` OS user. We cd into
# the cluster dir so the server never trips over an unreadable working directory.
_pg_as_owner() {
  if is_root; then
    (cd "$PG_TMP_DIR" && runuser -u postgres -- "$@")
  else
    (cd "$PG_TMP_DIR" && "$@")
  fi
}

# Start a throwaway cluster and export PARTNERHUB_TEST_PG_URL (a superuser URL:
# tests create a fresh database each). Registers an EXIT trap that stops the
# cluster and deletes its directory whatever happens. Fails loudly otherwise.
pg_cluster_start() {
  PG_BIN=$(pg_bin_dir)
  [ -n "$PG_BIN" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (is the 'postgresql' package installed?)"
  command -v python3 >/dev/null 2>&1 || die "python3 is required to pick a free port"

  if is_root; then
    getent passwd postgres >/dev/null 2>&1 \
      || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres \
      || die "could not create the 'postgres' OS user"
    # Under /tmp (not $TMPDIR) so the postgres user can always reach it.
    PG_TMP_DIR=$(mktemp -d /tmp/partnerhub-pg.XXXXXX) || die "mktemp failed"
    chown postgres: "$PG_TMP_DIR"
  else
    PG_TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/partnerhub-pg.XXXXXX") || die "mktemp failed"
  fi
  # From here on, cleanup is guaranteed (an EXIT trap, which signals reach too).
  on_exit _pg_cluster_cleanup

  local data="$PG_TMP_DIR/data" log="$PG_TMP_DIR/postgres.log"
  # C.UTF-8 gives UTF-8 ctype with deterministic (code point) collation.
  local locale=C
  case "$(locale -a 2>/dev/null)" in *C.utf8* | *C.UTF-8*) locale=C.UTF-8 ;; esac
  _pg_as_owner "$PG_BIN/initdb" -D "$data" -A trust -U postgres --no-sync \
      --encoding=UTF8 --locale="$locale" >"$PG_TMP_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TMP_DIR/initdb.log" >&2; die "initdb failed"; }

  # Fast and disposable: durability is pointless for a cluster we delete afterwards.
  cat >>"$data/postgresql.conf" <<CONF

# --- throwaway test cluster (scripts/lib/postgres.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP_DIR'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 300
shared_buffers = 128MB
CONF

  # The free port is only free until someone else takes it (e.g. a parallel
  # run), so retry a few times with a new port if the server fails to start.
  local attempt started=0
  for attempt in 1 2 3 4 5; do
    PG_PORT=$(_pg_free_port) || die "could not pick a free port"
    if _pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -o "-p $PG_PORT" -w -t 30 start >/dev/null; then
      started=1
      break
    fi
    log "PostgreSQL failed to start on port $PG_PORT (attempt $attempt)"
  done
  if [ "$started" -ne 1 ]; then
    tail -n 30 "$log" >&2 || true
    die "could not start PostgreSQL (log above)"
  fi

  # pg_ctl -w already waited; double-check over TCP, exactly as the tests connect.
  local deadline=$((SECONDS + 30))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$log" >&2 || true
      die "PostgreSQL did not become ready on 127.0.0.1:$PG_PORT within 30 s"
    fi
    sleep 0.2
  done

  export PARTNERHUB_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') ready: $PARTNERHUB_TEST_PG_URL (dir $PG_TMP_DIR)"
}

# EXIT trap: stop the cluster and delete its directory. Must never fail or change
# the script's exit status, hence `set +e` and no `exit`.
_pg_cluster_cleanup() {
  set +e
  [ -n "${PG_TMP_DIR:-}" ] && [ -d "$PG_TMP_DIR" ] || return 0
  if [ -f "$PG_TMP_DIR/data/postmaster.pid" ]; then
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP_DIR/data" -m immediate -w stop >/dev/null 2>&1
  fi
  rm -rf "$PG_TMP_DIR"
  PG_TMP_DIR=
}
