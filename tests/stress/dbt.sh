# Sourced by tests/stress/run.sh (its cluster $DIR/$PORT and its P, fail and log): the dbt example
# project (examples/dbt, docs/dbt.md) run by dbt-core with dbt-postgres against a database of the
# tier's cluster. Checks the first fit with options from YAML, the assignment against SQL run
# outside dbt, the drift policy keeping the model (and refitting once the customers moved), forced
# refits and the on-run-end prune, options as a quoted JSON text (and a bad one refused by name),
# a run-operation, a dropped segment name warned about, and a test that fails.
# dbt comes from PyPI into a virtual environment (DBT_VENV, kept between runs); when it cannot be
# installed (no registry), the check is skipped with a line saying so. About two minutes here.
log "dbt: the example project (examples/dbt) with dbt-core and dbt-postgres"
DBT_VENV=${DBT_VENV:-/tmp/customer_segment_dbt_venv}
DBT_SPECS=("dbt-core>=1.10,<1.11" "dbt-postgres>=1.9,<1.12")
if ! "$DBT_VENV/bin/dbt" --version >/dev/null 2>&1; then
    rm -rf "$DBT_VENV"
    { python3 -m venv "$DBT_VENV" &&
      "$DBT_VENV/bin/pip" install -q --disable-pip-version-check "${DBT_SPECS[@]}"; } >"$DIR/dbt_install.log" 2>&1 ||
        { tail -3 "$DIR/dbt_install.log"; rm -rf "$DBT_VENV"; }
fi
if [ ! -x "$DBT_VENV/bin/dbt" ]; then
    echo "dbt: skipped (dbt-core and dbt-postgres could not be installed; see $DIR/dbt_install.log)"
else
    DB=dbt_example
    D() { cluster_psql "$DIR" "$PORT" -qAt -d "$DB" "$@"; }
    P -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    : >"$DIR/dbt_all.log"
    cp "$REPO/tests/data/wholesale_customers/wholesale_customers.csv" "$DIR/dbt_wholesale.csv"
    D -c "CREATE EXTENSION customer_segment" -c "CREATE SCHEMA raw" \
      -c "CREATE TABLE raw.wholesale_customers (customer_id serial PRIMARY KEY, channel int, region int,
              fresh numeric, milk numeric, grocery numeric, frozen numeric, detergents_paper numeric,
              delicassen numeric)" \
      -c "\\copy raw.wholesale_customers (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen) FROM 'dbt_wholesale.csv' CSV HEADER"
    # dbt writes target/ and logs/ into the project: a copy of it.
    rm -rf "$DIR/dbt_project"
    cp -r "$REPO/examples/dbt" "$DIR/dbt_project"
    dbt_in() { (cd "$DIR/dbt_project" && PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB \
        DBT_SEND_ANONYMOUS_USAGE_STATS=false "$DBT_VENV/bin/dbt" "$@" --no-use-colors) >"$DIR/dbt.log" 2>&1
        local status=$?; cat "$DIR/dbt.log" >>"$DIR/dbt_all.log"; return $status; }
    versions() { D -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM segment_models WHERE name = 'wholesale_dbt'"; }
    # segment_assign of every customer, computed here without dbt, against the table dbt built.
    agree() {
        D -c "SELECT count(*) FILTER (WHERE s.segment IS DISTINCT FROM segment_assign('wholesale_dbt', f)
                                        OR s.segment_label IS DISTINCT FROM segment_label('wholesale_dbt', s.segment)),
                     count(*)
              FROM analytics.customer_segments s
              JOIN (SELECT customer_id, ln(1 + fresh) AS fresh, ln(1 + milk) AS milk, ln(1 + grocery) AS grocery,
                           ln(1 + frozen) AS frozen, ln(1 + detergents_paper) AS detergents_paper,
                           ln(1 + delicassen) AS delicassen
                    FROM raw.wholesale_customers) f USING (customer_id)"
    }
    t0=$(now)

    dbt_in build || { cat "$DIR/dbt.log"; fail "dbt build failed on the example project"; }
    grep -q "Completed successfully" "$DIR/dbt.log" || { cat "$DIR/dbt.log"; fail "dbt build did not complete"; }
    nodes_passed=$(sed -n 's/.*Done\. PASS=\([0-9]*\) .*/\1/p' "$DIR/dbt.log")
    [ "$(versions)" = 1 ] || fail "the first dbt build left versions $(versions), not 1"
    [ "$(D -c "SELECT options->>'seed' || ' ' || (options->>'impute') FROM segment_models WHERE name = 'wholesale_dbt' AND version = 1")" = "1 mean" ] ||
        fail "the options of the YAML mapping did not reach segment_fit"
    [ "$(agree)" = "0|440" ] || fail "customer_segments disagrees with segment_assign: $(agree) (mismatches|rows)"

    dbt_in build || { cat "$DIR/dbt.log"; fail "the second dbt build failed"; }
    grep -q "drift psi_total 0" "$DIR/dbt.log" || { cat "$DIR/dbt.log"; fail "the drift policy did not report the drift"; }
    [ "$(versions)" = 1 ] || fail "the drift policy refitted an unchanged source: versions $(versions)"

    for i in 1 2 3; do
        dbt_in build --vars '{segment_refit: always}' || { cat "$DIR/dbt.log"; fail "dbt build with segment_refit always failed"; }
    done
    [ "$(versions)" = 2,3,4 ] || fail "after three refits and the prune (keep 3): versions $(versions), not 2,3,4"
    [ "$(agree)" = "0|440" ] || fail "customer_segments disagrees with version 4: $(agree)"

    dbt_in build --vars '{segment_refit: always, segment_options: "{\"seed\": 7, \"impute\": \"median\"}"}' ||
        { cat "$DIR/dbt.log"; fail "dbt build with options as a JSON text failed"; }
    [ "$(D -c "SELECT options->>'seed' || ' ' || (options->>'impute') FROM segment_models WHERE name = 'wholesale_dbt' AND is_current")" = "7 median" ] ||
        fail "the options of the JSON text did not reach segment_fit"
    if dbt_in build --vars '{segment_refit: always, segment_options: "{seed: 8}"}'; then
        fail "options that are not JSON were accepted"
    fi
    grep -q "var segment_options is not a JSON object" "$DIR/dbt.log" || { cat "$DIR/dbt.log"; fail "bad options were not refused by name"; }
    [ "$(versions)" = 3,4,5 ] || fail "a refused run changed the versions: $(versions)"

    dbt_in run-operation refit_segments || { cat "$DIR/dbt.log"; fail "dbt run-operation refit_segments failed"; }
    grep -q "segments: fitted wholesale_dbt version 6" "$DIR/dbt.log" || { cat "$DIR/dbt.log"; fail "the run-operation did not fit version 6"; }
    [ "$(versions)" = 3,4,5,6 ] || fail "the run-operation's version was not committed: $(versions)"

    # The drift policy refits once the customers have moved: half of them buy a hundredth of the
    # fresh and frozen food they did (psi_total about 0.67 against version 6).
    D -c "UPDATE raw.wholesale_customers SET fresh = fresh / 100, frozen = frozen / 100 WHERE customer_id % 2 = 0"
    dbt_in build || { cat "$DIR/dbt.log"; fail "dbt build after the drift failed"; }
    psi=$(sed -n 's/.*drift psi_total \([0-9.]*\) .*/\1/p' "$DIR/dbt.log")
    [ "$(versions)" = 5,6,7 ] || fail "the drift policy did not refit moved customers (psi_total $psi): versions $(versions)"
    [ "$(agree)" = "0|440" ] || fail "customer_segments disagrees with version 7: $(agree)"

    # A name set with segment_rename whose segment has no counterpart after a refit (k = 3: id 3
    # cannot be kept) is dropped: the singular test segment_names_kept warns, the build passes.
    D -c "SELECT segment_rename('wholesale_dbt', 3, 'Name to lose')" >/dev/null
    dbt_in build --vars '{segment_refit: always, segment_k: 3}' || { cat "$DIR/dbt.log"; fail "dbt build with k = 3 failed"; }
    grep -q "WARN 1 segment_names_kept" "$DIR/dbt.log" || { cat "$DIR/dbt.log"; fail "a dropped segment name did not warn"; }

    if dbt_in build --vars '{segment_refit: always, segment_k: 5}'; then
        fail "dbt build passed with k = 5 although the accepted_values test allows 0 to 3"
    fi
    grep -q "FAIL 1 accepted_values_customer_segments_segment" "$DIR/dbt.log" ||
        { cat "$DIR/dbt.log"; fail "k = 5 did not fail the accepted_values test of segment"; }
    echo "dbt: $("$DBT_VENV/bin/dbt" --version 2>/dev/null | grep -m1 -o 'installed: [0-9.]*' | cut -d' ' -f2) (postgres $("$DBT_VENV/bin/pip" show dbt-postgres 2>/dev/null | sed -n 's/^Version: //p')):" \
         "first build fitted version 1 with the YAML options, $nodes_passed nodes passed (models, tests, the prune hook), 440 rows agree with segment_assign;" \
         "drift 0 kept it; 3 forced refits pruned to 3 versions; JSON-text options used, bad ones refused;" \
         "run-operation committed version 6; moved customers (psi_total $psi) refitted; a dropped name warned; k = 5 failed accepted_values ($(elapsed "$t0" "$(now)") s)"
    P -c "DROP DATABASE $DB"
fi
