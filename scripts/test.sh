#!/usr/bin/env bash
# Runs the test tiers; exits non-zero on the first failing tier and prints what failed.
#   1. core unit tests (pure Rust, no PostgreSQL)      cargo test -p segment-core
#   2. #[pg_test] tests inside a PostgreSQL backend     cargo pgrx test
#   3. SQL regression tests (tests/pg_regress)          pg_regress on a temporary instance,
#      including the quality test against scikit-learn's stored results
#   4. upgrade: the newest release updated to this build   tests/upgrade/run.sh
#      equals a fresh install (pg_dump --schema-only)
#   5. reliability: sessions, cancel, SIGKILL, memory,   tests/stress/run.sh, and on 15 the
#      and the Debian package                            .deb: tests/package/run.sh
#   6. crossversion: a database dumped by pg_dump 15     tests/crossversion/run.sh
#      restored into 18 assigns every row the same
#   7. citus: on a coordinator and two workers, each     tests/citus/run.sh; skipped (one
#      function's answer on distributed tables equals     line, nothing built or started)
#      its answer on plain ones, or is a refusal          where Citus is not installed
#
# Which PostgreSQL: PG_MAJOR=16 bash scripts/test.sh ... (or --pg 16); 15, 16, 17 and 18 are
# supported (scripts/lib.sh says where each comes from). Without PG_MAJOR and without tiers it
# runs the whole matrix, which is what CI runs:
#   15 (the primary version, Debian's): every tier, 1 to 5, then 7
#   16, 17, 18 (PyPI wheels):           pg and sql, then 7 (skipped: no Citus built for them here)
#   then crossversion (15 -> 18)
# PG_MATRIX="15 18" narrows the matrix. Arguments pick tiers for a quicker loop while
# developing, for one version (15 unless PG_MAJOR says otherwise):
#   scripts/test.sh core | pg | sql | upgrade | stress | crossversion | citus   (several: scripts/test.sh sql upgrade)
#   PG_MAJOR=18 bash scripts/test.sh pg sql
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg_option.sh"

# ---------------------------------------------------------------------------------------------
# The matrix: each version in a run of its own (this script, with PG_MAJOR and tiers).
if [ -z "${PG_MAJOR:-}" ] && [ $# -eq 0 ]; then
    self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/test.sh
    matrix=${PG_MATRIX:-15 16 17 18}
    summary=()
    passed=0
    step() { # MAJOR TIERS...
        local major=$1 t0 status=0
        shift
        t0=$(date +%s)
        printf '\n==> PostgreSQL %s: %s\n' "$major" "$*" >&2
        PG_MAJOR=$major bash "$self" "$@" || status=$?
        summary+=("PostgreSQL $major: $* ($(( $(date +%s) - t0 )) s)")
        if [ $status -ne 0 ]; then
            printf '%s\n' "${summary[@]}" >&2
            echo "the matrix stopped at PostgreSQL $major ($*)" >&2
            echo "matrix: $passed passed, 1 failed"
            exit $status
        fi
        passed=$((passed + 1))
    }
    start=$(date +%s)
    # Every version's PostgreSQL first: pgrx's config.toml then lists them all from the first
    # build on and never changes during the run (each change rebuilds pgrx-pg-sys everywhere).
    for major in $matrix; do
        PG_MAJOR=$major bash -c 'source "$1/scripts/lib.sh"; ensure_system_packages; ensure_postgres' _ "$(dirname "$self")/.."
    done
    for major in $matrix; do
        if [ "$major" = 15 ]; then
            step 15 core pg sql upgrade stress citus
        else
            step "$major" pg sql citus
        fi
    done
    # pg_dump of 15, restored into 18: both were installed (release builds) by their sql tiers.
    if [[ " $matrix " == *" 15 "* && " $matrix " == *" 18 "* ]]; then
        step 15 crossversion
    fi
    printf '\n==> the matrix passed in %d s:\n' "$(( $(date +%s) - start ))"
    printf '  %s\n' "${summary[@]}"
    echo "matrix: $passed passed, 0 failed"
    exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Work directories of their own per version (scripts/lib.sh: PG_SUFFIX), so runs for two
# versions never share one.
WORK=${TEST_WORKDIR:-/tmp/customer_segment_test$PG_SUFFIX}

# The build that the sql, upgrade, stress and crossversion tiers install (scripts/lib.sh:
# test_profile): the release build on the primary version, a debug build on the others.
TEST_PROFILE=$(test_profile)
install_for_tests() { install_build "$TEST_PROFILE"; }

ensure_all
cd "$REPO"
TIERS=${*:-core pg sql upgrade stress citus}
want() { [[ " $TIERS " == *" $1 "* ]]; }
for t in $TIERS; do
    case $t in core | pg | sql | upgrade | stress | crossversion | citus) ;; *) echo "unknown tier: $t" >&2; exit 2 ;; esac
done
log "PostgreSQL $PG_MAJOR ($("$PG_CONFIG" --version)): $TIERS"

if want core; then
log "1/7 core unit tests (and the lints: rustfmt, clippy with warnings as errors)"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
    cargo fmt --all --check
    if [ "$PG_MAJOR" = "$PG_PRIMARY" ]; then
        cargo clippy --workspace --all-targets --quiet -- -D warnings
    else
        # The shell crate as built for this version (the core does not depend on it).
        cargo clippy --all-targets --quiet "${PG_FEATURES[@]}" -- -D warnings
    fi
else
    echo "rustfmt or clippy is not installed with this toolchain: lints skipped" >&2
fi
cargo test -p segment-core
# The core never sees PostgreSQL: no pgrx crate anywhere in its dependency tree (dev and build
# dependencies included), so a change that adds one fails here rather than in review.
core_pgrx=$(cargo tree -p segment-core -e normal,build,dev --prefix none | grep -E '^pgrx' | sort -u || true)
if [ -n "$core_pgrx" ]; then
    echo "the core crate (crates/segment-core) depends on pgrx: $core_pgrx" >&2
    exit 1
fi
echo "core: no pgrx in segment-core's dependency tree"
fi

if want pg; then
log "2/7 #[pg_test] tests in PostgreSQL $PG_MAJOR"
if is_root; then
    pgdata=/var/tmp/customer_segment-pgrx-test$PG_SUFFIX
    pg_workdir "$pgdata"
    cargo pgrx test pg$PG_MAJOR --runas postgres --pgdata "$pgdata/data" pg_test_
else
    cargo pgrx test pg$PG_MAJOR pg_test_
fi
fi

if want sql; then
log "3/7 SQL regression tests on PostgreSQL $PG_MAJOR"
# `cargo pgrx test` installed a test build into this PostgreSQL: install the real one last.
install_for_tests
installed=yes
rm -rf "$WORK"
mkdir -p "$WORK/in"
cp -r tests/pg_regress/sql tests/pg_regress/expected tests/pg_regress/schedule "$WORK/in/"
mkdir -p "$WORK/in/data" "$WORK/in/reference"
cp tests/data/wholesale_customers/wholesale_customers.csv tests/data/bank_marketing/bank.csv \
    tests/data/cdnow/cdnow_master_transactions.csv tests/data/cdnow/cdnow_sample_transactions.csv \
    tests/data/online_retail/online_retail_sample.csv "$WORK/in/data/"
cp tests/reference/*.csv "$WORK/in/reference/"
# The walk-through (docs/walkthrough.md) is a test of its own: its SQL, as written there, run from a directory
# laid out like the repository (it reads tests/data/cdnow with \copy).
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' docs/walkthrough.md |
    sed '1,2d;$d' | sed '$d' > "$WORK/in/sql/walkthrough.sql"
# And so is docs/monitoring.md's (it reads tests/data/cdnow too).
sed -n '/<!-- monitoring-walkthrough:begin -->/,/<!-- monitoring-walkthrough:end -->/p' docs/monitoring.md |
    sed '1,2d;$d' | sed '$d' > "$WORK/in/sql/monitoring_walkthrough.sql"
# So is the README's Getting started, in a database like the one scripts/demo.sh leaves
# (examples/demo.sql run first, its output not shown). It prints floats unrounded: 11 significant
# digits keep the output stable, since the last digits of sums split across threads vary.
sed '/^\\echo/d' examples/demo.sql > "$WORK/demo.sql"
cp tests/data/wholesale_customers/wholesale_customers.csv "$WORK/"
{ printf '%s\n' 'CREATE DATABASE customer_segment_demo;' '\c customer_segment_demo' '\set ECHO none' \
      '\o /dev/null' '\i demo.sql' '\pset footer on' '\o' '\set ECHO all' 'SET extra_float_digits = -4;'
  sed -n '/<!-- getting-started:begin -->/,/<!-- getting-started:end -->/p' README.md |
      sed '1,2d;$d' | sed '$d'
  printf '%s\n' '\c regression' 'DROP DATABASE customer_segment_demo;'; } > "$WORK/in/sql/getting_started.sql"
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
    echo "SQL regression tests failed on PostgreSQL $PG_MAJOR (outputs in $WORK/out)" >&2
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
log "4/7 upgrade: the newest release, updated, equals a fresh install (tests/upgrade/run.sh)"
# The tier checks this checkout's build: install it unless the sql tier just did (`cargo pgrx
# test` installs a test build).
[ "${installed:-}" = yes ] || install_for_tests
installed=yes
bash "$REPO/tests/upgrade/run.sh"
fi

if want stress; then
log "5/7 reliability: concurrency, cancel, crash recovery, memory (tests/stress/run.sh)"
[ "${installed:-}" = yes ] || install_for_tests
installed=yes
bash "$REPO/tests/stress/run.sh"
if [ "$PG_MAJOR" = 15 ]; then
    # The Debian package, installed with apt-get into Debian's PostgreSQL 15 and removed again:
    # last, since removing it deletes the installed extension's files; the release build goes
    # back in afterwards (cargo builds nothing: the package is that build), so that what this
    # machine's PostgreSQL has is this checkout's build, as after every other tier.
    log "5/7 reliability: the Debian package (tests/package/run.sh)"
    bash "$REPO/tests/package/run.sh"
    install_for_tests
fi
fi

if want crossversion; then
log "6/7 crossversion: pg_dump of PostgreSQL 15, restored into 18 (tests/crossversion/run.sh)"
# This checkout's builds in both versions, the ones their own tiers test (each call builds
# nothing when the matrix built it already).
for v in 15 18; do
    PG_MAJOR=$v bash -c 'source "$1/scripts/lib.sh"; ensure_all; install_build "$(test_profile)"' _ "$REPO"
done
bash "$REPO/tests/crossversion/run.sh"
fi
if want citus; then
log "7/7 citus: distributed tables against plain ones on a Citus cluster (tests/citus/run.sh)"
# Without Citus the tier only prints that it is skipped: build nothing for it.
if [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
    [ "${installed:-}" = yes ] || install_for_tests
    installed=yes
fi
bash "$REPO/tests/citus/run.sh"
fi
log "test tiers passed on PostgreSQL $PG_MAJOR: $TIERS"
