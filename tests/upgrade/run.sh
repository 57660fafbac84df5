#!/usr/bin/env bash
# The upgrade tier: a database created with the newest released version and brought here by
# ALTER EXTENSION UPDATE must be the database a fresh CREATE EXTENSION gives, object for object.
#   1. every upgrade script in sql/ starts with the \echo ... \quit guard
#   2. the crate's version has an upgrade script from the newest release, and it is installed
#   3. created at the released version, a model fitted, updated: the model assigns the same rows
#      and refits
#   4. every object of a fresh install has a COMMENT
#   5. pg_dump --schema-only of the updated database equals that of a fresh install: every
#      function (arguments, defaults, result, volatility, parallel safety, strictness, SET
#      clauses, body or C symbol), aggregate, type, table, view, policy, grant and COMMENT
#   6. owners and grants survive pg_dump and a restore where the roles were re-created
# Runs on a throwaway cluster of its own, in about 2 s once the build is installed.
# Usage: tests/upgrade/run.sh (the extension must be installed; scripts/test.sh upgrade does that).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# Per version (scripts/lib.sh): /tmp/customer_segment_upgrade_pg18 and port 54641 for 18.
DIR=${UPGRADE_DIR:-/tmp/customer_segment_upgrade$PG_SUFFIX}
PORT=${UPGRADE_PORT:-$((54341 + PG_PORT_OFFSET))}

fail() { echo "UPGRADE FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. The guard: psql fed an upgrade script by mistake stops at once (the server drops the line).
for script in "$REPO"/sql/customer_segment--*--*.sql; do
    to=$(basename "$script" .sql | sed 's/.*--//')
    guard="\\echo Use \"ALTER EXTENSION customer_segment UPDATE TO '$to'\" to load this file. \\quit"
    [ "$(head -1 "$script")" = "$guard" ] \
        || fail "$(basename "$script") does not start with the line: $guard"
done
echo "upgrade: every upgrade script in sql/ starts with the \\echo ... \\quit guard"

# ---------------------------------------------------------------------------------------------
# 2. A path from the newest release to the crate's version, installed.
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -1)
released=$(ls "$REPO"/sql/released/customer_segment--*.sql | sed 's/.*customer_segment--\(.*\)\.sql/\1/' | sort -V | tail -1)
sharedir=$("$PG_CONFIG" --sharedir)/extension
if [ "$released" != "$crate_version" ]; then
    [ -f "$REPO/sql/customer_segment--$released--$crate_version.sql" ] \
        || fail "no upgrade script sql/customer_segment--$released--$crate_version.sql for the crate's version"
    cmp -s "$REPO/sql/customer_segment--$released--$crate_version.sql" \
        "$sharedir/customer_segment--$released--$crate_version.sql" \
        || fail "the installed upgrade script is not this checkout's (install the build: cargo pgrx install copies sql/*--*--*.sql)"
fi
cp "$REPO/sql/released/customer_segment--$released.sql" "$sharedir/"

stop_cluster "$DIR" 2>/dev/null || true
rm -rf "$DIR"
start_cluster "$DIR" "$PORT"
trap 'stop_cluster "$DIR"' EXIT
# psql and pg_dump run as the postgres user when we are root: work from a directory it may enter.
cd "$DIR"

P() { cluster_psql "$DIR" "$PORT" -qAt "$@"; }
U() { P -d updated "$@"; }

# ---------------------------------------------------------------------------------------------
# 3. Created at the released version, with a model; updated; the model still works.
P -c "CREATE DATABASE updated" -c "CREATE DATABASE fresh"
U -c "CREATE EXTENSION customer_segment VERSION '$released'"
U -c "CREATE TABLE people AS
          SELECT i AS id, ((i * 7919) % 1000) / 10.0 AS spend, ((i * 104729) % 997) / 10.0 AS visits
          FROM generate_series(1, 20000) i"
U -c "SET customer_segment.progress = off" \
  -c "SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 4, name => 'old')" >/dev/null
ASSIGNED="SELECT md5(string_agg(segment_assign('old', p)::text, ',' ORDER BY id)) FROM people p"
before=$(U -c "$ASSIGNED")
# Before the update, the released SQL runs against this library: its aggregate's functions are
# this library's, declared without STRICT. A step over no rows (a NULL state into the final
# function) must give NULL, not crash the server. (Its serial and deserial functions, gone since,
# are refusals asking for the update: CREATE EXTENSION above found their symbols.)
[ "$(U -c "SELECT segment_kmeans_step(ARRAY[spend, visits]::float8[], '{0,0}') IS NULL FROM people WHERE false")" = t ] ||
    fail "a step over no rows under the released SQL did not give NULL"
U -c "ALTER EXTENSION customer_segment UPDATE"
now=$(U -c "SELECT extversion FROM pg_extension WHERE extname = 'customer_segment'")
[ "$now" = "$crate_version" ] || fail "ALTER EXTENSION UPDATE left version $now, not $crate_version"
after=$(U -c "$ASSIGNED")
[ "$before" = "$after" ] || fail "the model fitted at $released assigns differently after the update"
U -c "SET customer_segment.progress = off" \
  -c "SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 4, name => 'old')" | grep -qx 2 \
    || fail "refitting the old model after the update failed"
echo "upgrade: created at $released, fitted, ALTER EXTENSION UPDATE to $now; the model assigns the same 20000 rows and refits as version 2"
# The test's own table is not the extension's: out of the comparison (the models stay, as rows).
U -c "DROP TABLE people"

# ---------------------------------------------------------------------------------------------
# 4. The whole schema of the updated database against a fresh install.
P -d fresh -c "CREATE EXTENSION customer_segment"

# pg_dump writes an extension's objects as one CREATE EXTENSION line, so a plain dump of two
# databases with the extension is equal however different their extensions are. In each
# throwaway database we first write down what belongs to the extension (its version, its member
# objects, its configuration tables, which pg_dump keeps the rows of) and then release every
# member from it (ALTER EXTENSION ... DROP removes the membership, not the object): pg_dump then
# writes each object in full, with its comment, grants and policies. Both databases get the same
# treatment; the dumps are compared as they are.
DETACH=$(cat <<'SQL'
DO $$
DECLARE o record;
BEGIN
    FOR o IN SELECT (pg_identify_object(classid, objid, objsubid)).*
             FROM pg_depend
             WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
               AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_segment')
    LOOP
        EXECUTE format('ALTER EXTENSION customer_segment DROP %s %s', o.type, o.identity);
    END LOOP;
END
$$
SQL
)
MEMBERS="SELECT '-- extension ' || extname || ' ' || extversion
                || ', configuration tables ' || coalesce(extconfig::regclass[]::text, '{}')
                || ' ' || coalesce(extcondition::text, '{}')
         FROM pg_extension WHERE extname = 'customer_segment'
         UNION ALL
         (SELECT '-- member ' || pg_describe_object(classid, objid, objsubid)
          FROM pg_depend
          WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_segment')
          ORDER BY 1)"
dump() { # database
    P -d "$1" -c "$MEMBERS" >"$DIR/$1.sql"
    P -d "$1" -c "$DETACH"
    # A fixed \restrict key (letters and digits only): pg_dump would draw a random one per dump.
    as_pg "$PG_BIN/pg_dump" -h "$DIR" -p "$PORT" -U postgres --schema-only \
        --restrict-key=customersegmentupgrade "$1" >>"$DIR/$1.sql"
}
# Every object of the extension says what it is (sql/comments.sql; internal plumbing says so).
uncommented=$(P -d fresh -c "SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
                             WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                               AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_segment')
                               AND obj_description(objid, classid::regclass::name) IS NULL
                             ORDER BY 1")
[ -z "$uncommented" ] || { echo "$uncommented" >&2; fail "objects of the extension without a COMMENT (above): add one to sql/comments.sql and the upgrade script"; }
echo "upgrade: every one of the $(P -d fresh -c "SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e' AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_segment')") objects of a fresh install has a COMMENT"
dump fresh
dump updated
if ! diff -u --label "fresh install ($crate_version)" --label "updated ($released -> $now)" \
        "$DIR/fresh.sql" "$DIR/updated.sql"; then
    fail "after ALTER EXTENSION UPDATE the schema differs from a fresh install (above: - fresh, + updated); add the missing statements to sql/customer_segment--$released--$crate_version.sql (dumps in $DIR)"
fi
count() { grep -c "$1" "$DIR/fresh.sql" || true; }
echo "upgrade: pg_dump --schema-only of the updated database equals a fresh install's:" \
     "$(wc -l <"$DIR/fresh.sql") lines, $(count '^-- member ') members," \
     "$(count '^CREATE FUNCTION') functions, $(count '^CREATE AGGREGATE') aggregate," \
     "$(count '^CREATE TYPE') type, $(count '^CREATE TABLE') tables, $(count '^CREATE VIEW') view," \
     "$(count '^CREATE POLICY') policies, $(count '^GRANT ') grants, $(count '^COMMENT ON ') comments"

# ---------------------------------------------------------------------------------------------
# 6. Owners and grants survive pg_dump and a restore where the roles were re-created (other
#    OIDs): segment_model_access stores regrole, which pg_dump writes as role names.
P -c "CREATE ROLE regress_cs_owner" -c "CREATE ROLE regress_cs_reader" -c "CREATE DATABASE moved"
M() { P -d moved "$@"; }
M -c "CREATE EXTENSION customer_segment" \
  -c "CREATE TABLE people AS
          SELECT i AS id, ((i * 7919) % 1000) / 10.0 AS spend, ((i * 104729) % 997) / 10.0 AS visits
          FROM generate_series(1, 2000) i" \
  -c "GRANT SELECT ON people TO regress_cs_owner, regress_cs_reader"
M -c "SET customer_segment.progress = off" -c "SET ROLE regress_cs_owner" \
  -c "SELECT version FROM segment_fit('people', ARRAY['spend', 'visits'], 3, name => 'shared')" \
  -c "SELECT segment_grant('shared', 'regress_cs_reader')" \
  -c "SELECT segment_grant('shared', 'public')" >/dev/null
READ="SELECT md5(string_agg(segment_assign('shared', p)::text, ',' ORDER BY id)) FROM people p"
GRANTS="SELECT owner || ' ' || users::text || ' ' || managers::text FROM segment_model_access WHERE name = 'shared'"
before=$(M -c "SET ROLE regress_cs_reader" -c "$READ")
grants_before=$(M -c "$GRANTS")
old_oids=$(P -c "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'regress_cs_%'")
as_pg "$PG_BIN/pg_dump" -h "$DIR" -p "$PORT" -U postgres --restrict-key=customersegmentmoved moved >"$DIR/moved.sql"
P -c "DROP DATABASE moved" -c "DROP ROLE regress_cs_owner" -c "DROP ROLE regress_cs_reader"
# Re-created in the other order, after another role: each gets another OID.
P -c "CREATE ROLE regress_cs_filler" -c "CREATE ROLE regress_cs_reader" -c "CREATE ROLE regress_cs_owner" \
  -c "CREATE DATABASE moved"
new_oids=$(P -c "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('regress_cs_owner', 'regress_cs_reader')")
[ "$old_oids" != "$new_oids" ] || fail "the re-created roles kept their OIDs ($new_oids): the test would prove nothing"
M -q <"$DIR/moved.sql" >/dev/null
owner=$(M -c "SELECT owner FROM segment_models WHERE name = 'shared'")
[ "$owner" = regress_cs_owner ] || fail "after a restore with re-created roles the model's owner reads '$owner', not regress_cs_owner"
grants_after=$(M -c "$GRANTS")
[ "$grants_after" = "$grants_before" ] || fail "grants before the dump '$grants_before', after the restore '$grants_after'"
after=$(M -c "SET ROLE regress_cs_reader" -c "$READ" 2>&1) || fail "the grantee cannot assign after the restore: $after"
[ "$after" = "$before" ] || fail "the grantee assigns differently after the restore"
M -c "SET ROLE regress_cs_owner" -c "SELECT segment_grant('shared', 'regress_cs_filler')" >/dev/null \
    || fail "the owner cannot grant after the restore"
echo "upgrade: dumped, dropped the database and roles, re-created the roles (other OIDs), restored:" \
     "owner $owner, grants '$grants_after'; the grantee assigns the same 2000 rows; the owner grants"
P -c "DROP DATABASE moved" -c "DROP ROLE regress_cs_owner, regress_cs_reader, regress_cs_filler"
