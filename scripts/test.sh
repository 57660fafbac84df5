#!/usr/bin/env bash
# Runs every test tier; exits non-zero on the first failing tier and prints what failed.
#   1. core unit tests (pure Rust, no PostgreSQL)      cargo test -p segment-core
#   2. #[pg_test] tests inside a PostgreSQL backend     cargo pgrx test
#   3. SQL regression tests (tests/pg_regress)          pg_regress on a temporary instance,
#      including the quality test against scikit-learn's stored results
#   4. upgrade: the newest release updated to this build   tests/upgrade/run.sh
#      equals a fresh install (pg_dump --schema-only)
#   5. reliability: sessions, cancel, SIGKILL, memory    tests/stress/run.sh
# Arguments pick tiers for a quicker loop while developing:
#   scripts/test.sh core | pg | sql | upgrade | stress   (several: scripts/test.sh sql upgrade)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${TEST_WORKDIR:-/tmp/customer_segment_test}

ensure_all
cd "$REPO"
TIERS=${*:-core pg sql upgrade stress}
want() { [[ " $TIERS " == *" $1 "* ]]; }

if want core; then
log "1/5 core unit tests (and the lints: rustfmt, clippy with warnings as errors)"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --quiet -- -D warnings
else
    echo "rustfmt or clippy is not installed with this toolchain: lints skipped" >&2
fi
cargo test -p segment-core
fi

if want pg; then
log "2/5 #[pg_test] tests in PostgreSQL"
if is_root; then
    pg_workdir /var/tmp/customer_segment-pgrx-test
    cargo pgrx test pg$PG_MAJOR --runas postgres --pgdata /var/tmp/customer_segment-pgrx-test/data pg_test_
else
    cargo pgrx test pg$PG_MAJOR pg_test_
fi
fi

if want sql; then
log "3/5 SQL regression tests"
# `cargo pgrx test` installed a test build into the system PostgreSQL: install the real one last.
install_extension --release
installed=yes
rm -rf "$WORK"
mkdir -p "$WORK/in"
cp -r tests/pg_regress/sql tests/pg_regress/expected tests/pg_regress/schedule "$WORK/in/"
mkdir -p "$WORK/in/data" "$WORK/in/reference"
cp tests/data/wholesale_customers/wholesale_customers.csv tests/data/bank_marketing/bank.csv \
    tests/data/cdnow/cdnow_master_transactions.csv tests/data/cdnow/cdnow_sample_transactions.csv "$WORK/in/data/"
cp tests/reference/*.csv "$WORK/in/reference/"
# The walk-through (docs/walkthrough.md) is a test of its own: its SQL, as written there, run from a directory
# laid out like the repository (it reads tests/data/cdnow with \copy).
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' docs/walkthrough.md |
    sed '1,2d;$d' | sed '$d' > "$WORK/in/sql/walkthrough.sql"
# So is the README's Getting started (less its CREATE EXTENSION: setup made it already). It prints
# floats unrounded: 11 significant digits keep the output stable, since the last digits of sums
# split across threads vary from run to run.
{ echo "SET extra_float_digits = -4;"
  sed -n '/<!-- getting-started:begin -->/,/<!-- getting-started:end -->/p' README.md |
      sed '1,2d;$d' | sed '$d' | grep -v '^CREATE EXTENSION'; } > "$WORK/in/sql/getting_started.sql"
mkdir -p "$WORK/tests/data/cdnow"
cp tests/data/cdnow/cdnow_master_transactions.csv "$WORK/tests/data/cdnow/"
# Progress NOTICEs come once a second of work: off, so outputs do not depend on the machine's speed
# (the stress tier checks them).
echo "customer_segment.progress = off" > "$WORK/in/regress.conf"
pg_workdir "$WORK"
status=0
(cd "$WORK" && as_pg "$PG_REGRESS" \
    --temp-instance="$WORK/tmp_check" \
    --temp-config="$WORK/in/regress.conf" \
    --bindir="$PG_BIN" \
    --inputdir="$WORK/in" \
    --outputdir="$WORK/out" \
    --schedule="$WORK/in/schedule" \
    --dbname=regression) || status=$?
if [ $status -ne 0 ]; then
    [ -f "$WORK/out/regression.diffs" ] && cat "$WORK/out/regression.diffs"
    echo "SQL regression tests failed (outputs in $WORK/out)" >&2
    exit $status
fi
# pg_regress writes the temporary server's log under the output directory.
server_log="$WORK/out/log/postmaster.log"
[ -s "$server_log" ] || { echo "no server log at $server_log: the crash check would be blind" >&2; exit 1; }
if grep -h "terminated by signal" "$server_log"; then
    echo "a backend crashed during the SQL regression tests" >&2
    exit 1
fi
echo "server log: no backend terminated by a signal ($(grep -c 'ERROR:' "$server_log") ERRORs answered)"
fi

if want upgrade; then
log "4/5 upgrade: the newest release, updated, equals a fresh install (tests/upgrade/run.sh)"
# The tier checks this checkout's build: install it unless the sql tier just did (`cargo pgrx
# test` installs a test build).
[ "${installed:-}" = yes ] || install_extension --release
bash "$REPO/tests/upgrade/run.sh"
fi

if want stress; then
log "5/5 reliability: concurrency, cancel, crash recovery, memory (tests/stress/run.sh)"
bash "$REPO/tests/stress/run.sh"
fi
log "test tiers passed: $TIERS"
