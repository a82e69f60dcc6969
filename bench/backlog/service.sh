#!/bin/bash
# The service planning a backlog of 100,000 open requests on PostgreSQL (README, Performance):
# the demo region with its open requests copied to 100,000, one plan of the next 5 working
# days with a 10 s limit; prints the time from queued to done and the peak RSS (VmHWM).
# Run from the repository root after `cargo build --release`; needs psql, createdb, curl,
# python3 and PostgreSQL on 127.0.0.1:5432 (trust auth). THREADS sets planning.threads (1).
set -e
BIN=${BIN:-target/release/jemput}
export OUT=$(mktemp -d)
DB=jemput_backlog_d
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
createdb -h 127.0.0.1 -U postgres $DB
export JEMPUT__DATABASE__URL=postgres://postgres@127.0.0.1:5432/$DB
export JEMPUT__SERVER__PORT=18089
export JEMPUT__LOG__FILTER=warn
export JEMPUT__PLANNING__THREADS=${THREADS:-1}
$BIN migrate >/dev/null
$BIN demo >/dev/null
psql -h 127.0.0.1 -U postgres -d $DB -qc "INSERT INTO visit_requests (citizen_id, region_id, service_kind_id, lat, lon, address, notes, accessibility_needs, priority, earliest_date, deadline, preferred_windows, status, version, created_at, updated_at)
 SELECT citizen_id, region_id, service_kind_id, lat + (random()-0.5)*0.02, lon + (random()-0.5)*0.02, address, notes, accessibility_needs, priority, earliest_date, deadline, preferred_windows, status, 1, now(), now()
 FROM visit_requests, generate_series(1, 1000) WHERE status = 'submitted' LIMIT $((100000 - $(psql -h 127.0.0.1 -U postgres -d $DB -tAc "SELECT count(*) FROM visit_requests WHERE status='submitted'")))"
psql -h 127.0.0.1 -U postgres -d $DB -tAc "SELECT 'open requests: ' || count(*) FROM visit_requests WHERE status='submitted'"
$BIN serve > $OUT/serve.log 2>&1 &
PID=$!
trap "kill $PID 2>/dev/null" EXIT
for i in $(seq 50); do curl -sf http://127.0.0.1:18089/health/ready >/dev/null && break; sleep 0.2; done
B=http://127.0.0.1:18089
COORD=$(curl -s $B/v1/auth/login -H 'content-type: application/json' -d '{"username":"koordinator","password":"jemput-demo-2026"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["access_token"])')
DATES=$(python3 -c '
import datetime; d=datetime.date.today(); out=[]
while len(out)<5:
    d+=datetime.timedelta(days=1)
    if d.weekday()<5: out.append(d.isoformat())
import json; print(json.dumps(out))')
grep VmHWM /proc/$PID/status
START=$(date +%s.%N)
ID=$(curl -s $B/v1/plans -H "authorization: Bearer $COORD" -H 'content-type: application/json' -d "{\"region_id\":1,\"dates\":$DATES,\"time_limit_seconds\":10}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
while true; do
  curl -s $B/v1/plans/$ID -H "authorization: Bearer $COORD" -o $OUT/plan.json
  S=$(python3 -c 'import json, os; print(json.load(open(os.environ["OUT"] + "/plan.json"))["status"])')
  case "$S" in *done*|*failed*) break;; esac
  sleep 0.1
done
END=$(date +%s.%N)
echo "status: $S  queued->done: $(python3 -c "print(round($END-$START,2))") s"
grep VmHWM /proc/$PID/status
python3 -c '
import json, os; p=json.load(open(os.environ["OUT"] + "/plan.json")); d=p.get("draft") or {}
from collections import Counter
print("routes", len(d.get("routes",[])), "visits", sum(len(r["stops"]) for r in d.get("routes",[])), "unassigned", len(d.get("unassigned",[])), Counter(u.get("reason") for u in d.get("unassigned",[])).most_common(3))
print("kpis", {k:v for k,v in (d.get("kpis") or {}).items() if not isinstance(v,(list,dict))})'
