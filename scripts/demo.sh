#!/usr/bin/env bash
# Start the test fabric (moto behind the fidelity layer) seeded with the demo organization,
# then run a real scan against it. Extra arguments go to `certaudit scan`; with `doctor` first,
# `certaudit doctor` runs instead; with `event` first, `certaudit event` handles ACM's
# "Approaching Expiration" event for prod-web's imported certificate (6 days left), as the
# Lambda function would, and imports its finding into the demo's Security Hub.
set -euo pipefail
cd "$(dirname "$0")/.."
subcommand=scan
case "${1:-}" in doctor|event) subcommand=$1; shift ;; esac

work=$(mktemp -d)
fabric_pid=
dns_pid=
ct_pid=
cleanup() {
  [ -n "$fabric_pid" ] && kill "$fabric_pid" 2>/dev/null || true
  [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
  [ -n "$ct_pid" ] && kill "$ct_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# ready NAME FILE PID TRIES: wait (0.25 s a try) for the `READY <address>` line a server
# started in the background writes to FILE, and print the address; exit if it dies or never
# says so.
ready() {
  local name=$1 file=$2 pid=$3 tries=$4
  for _ in $(seq 1 "$tries"); do
    grep -q '^READY ' "$file" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "error: the demo $name exited; see above" >&2; exit 1; }
    sleep 0.25
  done
  local address
  address=$(awk '/^READY /{print $2}' "$file")
  [ -n "$address" ] || { echo "error: the demo $name did not start in $((tries / 4)) s" >&2; exit 1; }
  echo "$address"
}

echo "Starting the demo organization (moto server on loopback, seeding certificates)..." >&2
mkfifo "$work/hold"
.venv/bin/python tests/fabric/fabric.py --scenario demo/org.json \
  --state-out "$work/state.json" <"$work/hold" >"$work/ready" &
fabric_pid=$!
exec 3>"$work/hold"   # keep the fabric's stdin open until we exit

endpoint=$(ready fabric "$work/ready" "$fabric_pid" 240)
# The organization's DNS on loopback (examples/dns_zone.rs): the renewal check asks it, and
# nothing else, for the validation CNAMEs and CAA sets.
(cd tests/fabric && ../../.venv/bin/python demo_dns.py ../../demo/org.json "$work/state.json" "$work/demo.zone")
mkfifo "$work/dns-hold"
target/debug/examples/dns_zone "$work/demo.zone" <"$work/dns-hold" >"$work/dns-ready" &
dns_pid=$!
exec 4>"$work/dns-hold"   # the DNS server serves until this closes
dns_server=$(ready "DNS server" "$work/dns-ready" "$dns_pid" 40)
# Certificate Transparency on loopback (examples/ct_log.rs, demo/ct.json): what the logs hold
# for corp.example beyond the inventory. The scan asks it, never the real Cert Spotter.
mkfifo "$work/ct-hold"
target/debug/examples/ct_log demo/ct.json <"$work/ct-hold" >"$work/ct-ready" &
ct_pid=$!
exec 5>"$work/ct-hold"
ct_log=$(ready "CT log" "$work/ct-ready" "$ct_pid" 40)
if [ "$subcommand" = scan ]; then
  set -- --ct --ct-endpoint "$ct_log" "$@"
fi
seeded=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate_count"])' "$work/state.json")
echo "Demo organization ready at $endpoint with $seeded certificates, its DNS at $dns_server, its CT log at $ct_log. Running certaudit $subcommand:" >&2
echo >&2

if [ "$subcommand" = event ]; then
  # The event as ACM sends it, for one of the demo's certificates.
  .venv/bin/python - "$work/state.json" >"$work/event.json" <<'PY'
import json, sys
from datetime import datetime, timezone
arn = json.load(open(sys.argv[1]))["certificates"]["legacy-imported"]
_, _, _, region, account, _ = arn.split(":", 5)
print(json.dumps({
    "version": "0", "id": "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
    "detail-type": "ACM Certificate Approaching Expiration", "source": "aws.acm",
    "account": account, "region": region,
    # Sent now: --notify-days is judged by the days left at the event's time.
    "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "resources": [arn], "detail": {"DaysToExpiry": 6, "CommonName": "legacy.corp.example"},
}, indent=2))
PY
  echo "The event (ACM Certificate Approaching Expiration):" >&2
  cat "$work/event.json" >&2
  echo >&2
  set -- "$work/event.json" --security-hub-region us-east-1 "$@"
fi

set +e
AWS_ENDPOINT_URL="$endpoint" \
AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 \
AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
CERTAUDIT_EXTERNAL_ID=certaudit-demo-external-id CERTAUDIT_DNS_SERVER="$dns_server" \
CERTAUDIT_CT_TOKEN=demo-token-never-printed \
  target/debug/certaudit "$subcommand" "$@"
code=$?
set -e
echo >&2
if [ "$subcommand" = event ]; then
  echo "certaudit exited $code (0 = handled: the finding above is the one a scan imports for it)." >&2
else
  echo "certaudit exited $code (3 = incomplete: the demo has one account whose audit role is missing)." >&2
fi
# The demo's own success is the scan running end to end; 3 and 4 are the findings it exists to show.
case $code in 0|3|4) exit 0 ;; *) exit "$code" ;; esac
