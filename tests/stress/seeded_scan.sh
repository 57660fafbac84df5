# Sourced by tests/stress/run.sh (its cluster, P and fail): same seed, same model, while another
# session's scan of the source is under way. A sequential scan of a table larger than a quarter of
# shared_buffers joins a running scan of it where that one is (synchronize_seqscans), so a read
# of the rows would start mid-table, and k-means++ (which draws rows by position) and the
# samples of minibatch_kmeans would see other rows first: another model for the same seed.

log "seeded fits while another session's scan of the table is under way"
P -c "CREATE TABLE scan_order AS
      SELECT i AS id, ((i * 7919) % 1000) / 10.0 AS spend, ((i * 104729) % 997) / 10.0 AS visits,
             ((i * 31337) % 991) / 10.0 AS tenure
      FROM generate_series(1::bigint, 200000) i"
# shared_buffers is counted in 8 kB pages, as the table's size below.
P -c "SELECT pg_relation_size('scan_order') / 8192 > setting::bigint / 4
      FROM pg_settings WHERE name = 'shared_buffers'" | grep -qx t ||
    fail "scan_order is not larger than a quarter of shared_buffers: the check would be blind"

# One statement's whole answer, every figure in full precision: the fit's row and the centres.
seeded_fit() { # method name
    P -c "SET extra_float_digits = 3" -c "SET customer_segment.progress = off" -c "
        SELECT f.segments || ' ' || f.inertia || ' ' || coalesce(f.iterations::text, '-') || ' ' ||
               (SELECT string_agg(c.segment || ':' || c.feature || '=' || c.value, ' '
                                  ORDER BY c.segment, c.feature)
                FROM segment_centroids('$2') c)
        FROM segment_fit('scan_order', ARRAY['spend', 'visits', 'tenure'], 6, name => '$2',
                         options => '{\"method\": \"$1\", \"seed\": 7, \"n_init\": 1}') f"
}

# The first fits: no other scan, every read starts at the first page.
alone_kmeans=$(seeded_fit kmeans scan_alone_kmeans)
alone_minibatch=$(seeded_fit minibatch_kmeans scan_alone_minibatch)
# Another session reads half of the table through a cursor and keeps it open: its scan is
# reported mid-table, where a new synchronized scan starts.
P -c "SET application_name = 'cs_long_scan'" -c "BEGIN" \
  -c "DECLARE long_scan NO SCROLL CURSOR FOR SELECT * FROM scan_order" \
  -c "FETCH 100000 FROM long_scan" -c "SELECT pg_sleep(120)" -c "COMMIT" >/dev/null 2>&1 &
long_scan=$!
for _ in $(seq 1 100); do
    [ "$(P -c "SELECT count(*) FROM pg_stat_activity
               WHERE application_name = 'cs_long_scan' AND query = 'SELECT pg_sleep(120)'")" = 1 ] && break
    sleep 0.1
done
# Not blind: a plain query now starts where the open scan is, not at the first row.
first=$(P -c "SELECT id FROM scan_order LIMIT 1")
[ "$first" != 1 ] || fail "a new scan of scan_order starts at its first row beside an open scan: the check would be blind"
during_kmeans=$(seeded_fit kmeans scan_during_kmeans)
during_minibatch=$(seeded_fit minibatch_kmeans scan_during_minibatch)
P -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cs_long_scan'" >/dev/null
wait $long_scan || true
echo "seeded scan: beside another session's scan (a plain query's first row: id $first), kmeans" \
     "and minibatch_kmeans with seed 7 gave $( [ "$alone_kmeans" = "$during_kmeans" ] && echo the same || echo another ) k-means model and" \
     "$( [ "$alone_minibatch" = "$during_minibatch" ] && echo the same || echo another ) mini-batch model"
[ "$alone_kmeans" = "$during_kmeans" ] ||
    fail "a seeded k-means fit changed beside another scan of its source (segments, inertia, iterations: ${alone_kmeans%% 0:*}, then ${during_kmeans%% 0:*})"
[ "$alone_minibatch" = "$during_minibatch" ] ||
    fail "a seeded minibatch_kmeans fit changed beside another scan of its source (segments, inertia, passes: ${alone_minibatch%% 0:*}, then ${during_minibatch%% 0:*})"
