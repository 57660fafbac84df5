//! `#[pg_test]`s: the SQL functions inside a real backend, including the SQLSTATE of errors
//! (pg_regress shows messages; here the codes are asserted one by one).

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::pg_sys::panic::CaughtError;
    use pgrx::prelude::*;
    use pgrx::PgSqlErrorCode;

    fn setup() {
        Spi::run(
            "CREATE TABLE t (id int, a float8, b int, c text, d date);
             INSERT INTO t SELECT i, CASE WHEN i <= 50 THEN 0 ELSE 100 END + (i % 5), i % 3, 'x',
                                  date '2026-01-01' + i
             FROM generate_series(1, 100) i;",
        )
        .unwrap();
    }

    /// The SQLSTATE a statement fails with, or None when it succeeds.
    fn sqlstate_of(sql: &str) -> Option<PgSqlErrorCode> {
        let sql = sql.to_string();
        PgTryBuilder::new(move || {
            Spi::run(&sql).unwrap();
            None
        })
        .catch_others(|e| match e {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => Some(r.sql_error_code()),
            _ => None,
        })
        .execute()
    }

    /// Random doubles (every exponent, subnormals, extremes) go into jsonb as a model document's
    /// numbers do and come back bit for bit: serde_json's float_roundtrip parser and PostgreSQL's
    /// numeric keep every digit (-0 comes back as 0, which compares equal).
    #[pg_test]
    fn pg_test_doubles_survive_jsonb_bit_for_bit() {
        // splitmix64: every bit pattern is as likely (no generator crate in the shell).
        let mut state = 7u64;
        let mut next_bits = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut values = vec![
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            0.1 + 0.2,
            1.0 / 3.0,
            2283.3,
            -0.0,
        ];
        while values.len() < 5_000 {
            let x = f64::from_bits(next_bits());
            if x.is_finite() {
                values.push(x);
            }
        }
        let sent = serde_json::to_string(&values).unwrap();
        let back: String = Spi::get_one(&format!("SELECT '{sent}'::jsonb::text"))
            .unwrap()
            .unwrap();
        let read: Vec<f64> = serde_json::from_str(&back).unwrap();
        assert_eq!(read.len(), values.len());
        for (a, b) in values.iter().zip(&read) {
            assert!(
                a == b && (*a == 0.0 || a.to_bits() == b.to_bits()),
                "{a:e} came back as {b:e}"
            );
        }
    }

    #[pg_test]
    fn pg_test_fit_then_assign_every_row() {
        setup();
        let (model, version, k) = Spi::get_three::<String, i32, i32>(
            "SELECT model, version, segments FROM segment_fit('t', ARRAY['a'], 2)",
        )
        .unwrap();
        assert_eq!(
            (model.as_deref(), version, k),
            (Some("t"), Some(1), Some(2))
        );
        // The low and the high halves are the two segments, 50 rows each.
        let split =
            Spi::get_one::<i64>("SELECT count(DISTINCT (id <= 50, segment_assign('t', t))) FROM t")
                .unwrap();
        assert_eq!(split, Some(2));
        let sizes = Spi::get_one::<String>(
            "SELECT string_agg(size::text, ',' ORDER BY segment) FROM
             (SELECT DISTINCT segment, size FROM segment_profile('t')) p",
        )
        .unwrap();
        assert_eq!(sizes.as_deref(), Some("50,50"));
    }

    #[pg_test]
    fn pg_test_per_group_models_assign_with_the_rows_group() {
        setup();
        // Three groups (b = 0, 1, 2), each with a low and a high half of a.
        let rows = Spi::get_one::<i64>(
            "SELECT count(*) FROM segment_fit('t', ARRAY['a'], 2, 'per_b', '{\"group_by\": \"b\"}')",
        )
        .unwrap();
        assert_eq!(rows, Some(4), "the per-group model's row and one per group");
        let groups = Spi::get_one::<String>(
            "SELECT string_agg(group_value || ':' || model, ',' ORDER BY group_value) FROM segment_groups('per_b')",
        )
        .unwrap();
        assert_eq!(groups.as_deref(), Some("0:per_b/0,1:per_b/1,2:per_b/2"));
        // Within each group the halves are the two segments, and the group model agrees.
        let (pairs, agree) = Spi::get_two::<i64, i64>(
            "SELECT count(DISTINCT (b, id <= 50, segment_assign('per_b', t))),
                    count(*) FILTER (WHERE segment_assign('per_b', t) = segment_assign('per_b/' || b, t))
             FROM t",
        )
        .unwrap();
        assert_eq!((pairs, agree), (Some(6), Some(100)));
        let split =
            Spi::get_one::<i64>("SELECT count(DISTINCT (b, segment_assign('per_b', t))) FROM t")
                .unwrap();
        assert_eq!(split, Some(6));
        for (sql, code) in [
            (
                "SELECT segment_assign('per_b', ARRAY[1.0]::float8[])",
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            ),
            (
                "SELECT * FROM segment_profile('per_b')",
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            ),
            (
                "SELECT segment_drop('per_b/1')",
                PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            ),
            (
                "SELECT * FROM segment_fit('t', ARRAY['a'], 2, 'x', '{\"group_by\": \"nope\"}')",
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            ),
        ] {
            assert_eq!(sqlstate_of(sql), Some(code), "{sql}");
        }
        // Dropping it drops the three group models too: 4 versions.
        assert_eq!(
            Spi::get_one::<i64>("SELECT segment_drop('per_b')").unwrap(),
            Some(4)
        );
    }

    #[pg_test]
    fn pg_test_refit_is_seen_by_the_next_statement() {
        setup();
        Spi::run("SELECT * FROM segment_fit('t', ARRAY['a'], 2, name => 'm')").unwrap();
        let before =
            Spi::get_one::<i64>("SELECT count(DISTINCT segment_assign('m', t)) FROM t").unwrap();
        Spi::run(
            "SELECT * FROM segment_fit('t', ARRAY['a', 'b'], 6, name => 'm',
                                       options => '{\"replace\": true}')",
        )
        .unwrap();
        let after =
            Spi::get_one::<i64>("SELECT count(DISTINCT segment_assign('m', t)) FROM t").unwrap();
        assert_eq!((before, after), (Some(2), Some(6)));
    }

    #[pg_test]
    fn pg_test_choose_k_recommends_the_two_halves() {
        setup();
        let rows = Spi::get_two::<i64, i32>(
            "SELECT count(*), max(k) FILTER (WHERE recommended)
             FROM segment_choose_k('t', ARRAY['a'], 2, 5)",
        )
        .unwrap();
        assert_eq!(rows, (Some(4), Some(2)));
        // Nothing is stored.
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM segment_models").unwrap(),
            Some(0)
        );
    }

    #[pg_test]
    fn pg_test_array_and_row_forms_agree() {
        setup();
        Spi::run("SELECT * FROM segment_fit('t', ARRAY['b', 'a'], 3, name => 'm')").unwrap();
        let disagree = Spi::get_one::<i64>(
            "SELECT count(*) FROM t WHERE segment_assign('m', t) <> segment_assign('m', ARRAY[b, a])",
        )
        .unwrap();
        assert_eq!(disagree, Some(0));
    }

    #[pg_test]
    fn pg_test_error_sqlstates() {
        setup();
        Spi::run("SELECT * FROM segment_fit('t', ARRAY['a'], 2, name => 'm')").unwrap();
        use PgSqlErrorCode::*;
        let cases = [
            (
                "SELECT segment_fit('t', ARRAY['nope'], 2)",
                ERRCODE_UNDEFINED_COLUMN,
            ),
            (
                "SELECT segment_fit('t', ARRAY['d'], 2)",
                ERRCODE_DATATYPE_MISMATCH,
            ),
            (
                "SELECT segment_fit('t', ARRAY[]::text[], 2)",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a', 'a'], 2)",
                ERRCODE_DUPLICATE_COLUMN,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 0)",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 101)",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], NULL, options => '{\"k_min\": 1}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit(NULL, ARRAY['a'], 2)",
                ERRCODE_NULL_VALUE_NOT_ALLOWED,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, options => '{\"x\": 1}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, options => '{\"seed\": -1}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_assign('nope', ARRAY[1.0])",
                ERRCODE_UNDEFINED_OBJECT,
            ),
            (
                "SELECT segment_assign('m', ARRAY[1.0, 2.0])",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SET LOCAL customer_segment.invalid_rows = error;
                 SELECT segment_assign('m', ARRAY['Infinity'::float8])",
                ERRCODE_DATA_EXCEPTION,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a', 'b'], 2, name => 'm')",
                ERRCODE_DUPLICATE_OBJECT,
            ),
            (
                "SELECT segment_assign('m', r) FROM (SELECT 1 AS b) r",
                ERRCODE_UNDEFINED_COLUMN,
            ),
            ("SELECT segment_drop('nope')", ERRCODE_UNDEFINED_OBJECT),
            (
                "SELECT segment_choose_k('t', ARRAY['a'], 1, 3)",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_choose_k('t', ARRAY['a'], 2, NULL)",
                ERRCODE_NULL_VALUE_NOT_ALLOWED,
            ),
            (
                "SELECT * FROM segment_profile(NULL)",
                ERRCODE_NULL_VALUE_NOT_ALLOWED,
            ),
        ];
        for (sql, code) in cases {
            assert_eq!(sqlstate_of(sql), Some(code), "{sql}");
        }
        // By default an unscorable row is NULL, not an error.
        Spi::run("SET LOCAL customer_segment.invalid_rows = 'null'").unwrap();
        assert_eq!(
            Spi::get_one::<i32>("SELECT segment_assign('m', ARRAY['Infinity'::float8])"),
            Ok(None)
        );
        Spi::run("UPDATE t SET a = 'NaN' WHERE id = 1").unwrap();
        assert_eq!(
            sqlstate_of("SELECT segment_fit('t', ARRAY['a'], 2)"),
            Some(ERRCODE_DATA_EXCEPTION)
        );
        // Every failed fit above wrote nothing: only 'm' version 1 exists.
        let versions = Spi::get_one::<i64>("SELECT count(*) FROM segment_models").unwrap();
        assert_eq!(versions, Some(1));
    }

    /// A churn tree learns a rule planted in the data, and its SQL rules select exactly the
    /// rows its predictions put in each leaf.
    /// Monitoring and adapting: warm refits, incremental updates and anomalies, each kind of
    /// mistake with its SQLSTATE; a refused call stores no version.
    #[pg_test]
    fn pg_test_adapting_sqlstates() {
        setup();
        Spi::run(
            "SELECT * FROM segment_fit('t', ARRAY['a'], 2, name => 'km');
             SELECT * FROM segment_fit('t', ARRAY['a'], 2, name => 'mix', options => '{\"method\": \"gmm\"}');
             SELECT * FROM segment_fit('t', ARRAY['a'], NULL, name => 'dense', options => '{\"method\": \"dbscan\", \"eps\": 0.5}');
             SELECT * FROM segment_fit('t', ARRAY['a'], 2, name => 'grouped', options => '{\"group_by\": \"b\"}');",
        )
        .unwrap();
        use PgSqlErrorCode::*;
        let versions = || Spi::get_one::<i64>("SELECT count(*) FROM segment_models").unwrap();
        let before = versions();
        let cases = [
            // No current version, another k: 22023.
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, name => 'new', options => '{\"warm_start\": true}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 3, name => 'km', options => '{\"warm_start\": true}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, options => '{\"contamination\": 0}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            // Not in memory, per group: 0A000.
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, options => '{\"engine\": \"aggregate\", \"contamination\": 0.1}')",
                ERRCODE_FEATURE_NOT_SUPPORTED,
            ),
            (
                "SELECT segment_fit('t', ARRAY['a'], 2, name => 'grouped', options => '{\"group_by\": \"b\", \"warm_start\": true}')",
                ERRCODE_FEATURE_NOT_SUPPORTED,
            ),
            (
                "SELECT segment_update('grouped', 't')",
                ERRCODE_FEATURE_NOT_SUPPORTED,
            ),
            // A model without centres to move, or without a threshold: 42809.
            ("SELECT segment_update('mix', 't')", ERRCODE_WRONG_OBJECT_TYPE),
            (
                "SELECT segment_is_anomaly('dense', t) FROM t",
                ERRCODE_WRONG_OBJECT_TYPE,
            ),
            (
                "SELECT segment_update('km', 't', '{\"forgetting\": 2}')",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
            ("SELECT segment_update('km', NULL)", ERRCODE_NULL_VALUE_NOT_ALLOWED),
            ("SELECT segment_update('nope', 't')", ERRCODE_UNDEFINED_OBJECT),
            (
                "SELECT segment_anomalies('km', max_rows => 0)",
                ERRCODE_INVALID_PARAMETER_VALUE,
            ),
        ];
        for (sql, code) in cases {
            assert_eq!(sqlstate_of(sql), Some(code), "{sql}");
        }
        assert_eq!(versions(), before);
        // What works: an update and a warm refit are new versions. The 100 rows lie at five
        // distances from their centres, 20 of them at the largest: that distance is the 99%
        // quantile (numpy's too), and no row is strictly above it.
        Spi::run("SELECT * FROM segment_update('km', 't')").unwrap();
        Spi::run("SELECT * FROM segment_fit('t', ARRAY['a'], NULL, name => 'km', options => '{\"warm_start\": true}')").unwrap();
        assert_eq!(
            Spi::get_one::<i32>("SELECT max(version) FROM segment_models WHERE name = 'km'"),
            Ok(Some(3))
        );
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM segment_anomalies('km')"),
            Ok(Some(0))
        );
    }

    #[pg_test]
    fn pg_test_churn_rules_agree_with_predictions() {
        Spi::run(
            "CREATE TABLE c (tenure int, plan text, churned bool);
             INSERT INTO c SELECT i % 48, CASE WHEN i % 3 = 0 THEN 'monthly' ELSE 'yearly' END,
                                  (i % 48) < 12 AND i % 3 = 0
             FROM generate_series(1, 600) i;",
        )
        .unwrap();
        let leaves = Spi::get_one::<i32>(
            "SELECT leaves FROM segment_churn_fit('c', ARRAY['tenure', 'plan'], 'churned',
                                                  options => '{\"min_samples_leaf\": 5}')",
        )
        .unwrap();
        assert!(leaves.unwrap() >= 2);
        // The planted rule is learnt exactly: the held-out accuracy is 1.
        let accuracy = Spi::get_one::<f64>(
            "SELECT (metrics->>'accuracy')::float8 FROM segment_models WHERE name = 'c_churn'",
        )
        .unwrap();
        assert_eq!(accuracy, Some(1.0));
        let rules: Vec<(i32, String)> = Spi::connect(|client| {
            client
                .select(
                    "SELECT segment, rule FROM segment_churn_rules('c_churn')",
                    None,
                    &[],
                )
                .unwrap()
                .map(|r| {
                    (
                        r.get::<i32>(1).unwrap().unwrap(),
                        r.get::<String>(2).unwrap().unwrap(),
                    )
                })
                .collect()
        });
        for (segment, rule) in rules {
            let wrong = Spi::get_one::<i64>(&format!(
                "SELECT count(*) FROM c WHERE ({rule}) <> (segment_churn_assign('c_churn', c) = {segment})"
            ))
            .unwrap();
            assert_eq!(wrong, Some(0), "{rule}");
        }
    }

    /// Rules select exactly the rows the tree assigns, NULLs included: on a table with NULLs in
    /// used and unused features (numeric and text), under impute skip and impute mean, every
    /// leaf's rule is true on the rows segment_churn_assign puts in that leaf and false on every
    /// other row (a row without a segment matches no rule); the fit's rows_skipped counts the
    /// rows with a NULL feature under skip, none under mean.
    #[pg_test]
    fn pg_test_rules_are_faithful_with_nulls() {
        Spi::run(
            "CREATE TABLE cn (tenure float8, plan text, spare float8, churned bool);
             INSERT INTO cn
             SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE i % 48 END,
                    CASE WHEN i % 13 = 0 THEN NULL WHEN i % 3 = 0 THEN 'monthly' ELSE 'yearly' END,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE i % 7 END,
                    (i % 48) < 12 AND i % 3 = 0
             FROM generate_series(1, 900) i;",
        )
        .unwrap();
        let with_null =
            Spi::get_one::<i64>("SELECT count(*) FROM cn WHERE num_nulls(tenure, plan, spare) > 0")
                .unwrap()
                .unwrap();
        for (name, impute) in [("cn_skip", "skip"), ("cn_mean", "mean")] {
            // The fit's row reports the rows it left out: those with a NULL feature under skip.
            let skipped = Spi::get_one::<i64>(&format!(
                "SELECT rows_skipped FROM segment_churn_fit('cn', ARRAY['tenure', 'plan', 'spare'], 'churned',
                     name => '{name}', options => '{{\"impute\": \"{impute}\", \"min_samples_leaf\": 5}}')"
            ))
            .unwrap()
            .unwrap();
            assert_eq!(
                skipped,
                if impute == "skip" { with_null } else { 0 },
                "{name}"
            );
            let rules: Vec<(i32, String)> = Spi::connect(|client| {
                client
                    .select(
                        &format!("SELECT segment, rule FROM segment_churn_rules('{name}')"),
                        None,
                        &[],
                    )
                    .unwrap()
                    .map(|r| {
                        (
                            r.get::<i32>(1).unwrap().unwrap(),
                            r.get::<String>(2).unwrap().unwrap(),
                        )
                    })
                    .collect()
            });
            assert!(rules.len() >= 2, "{name}: {rules:?}");
            let mut matched = 0;
            for (segment, rule) in &rules {
                let wrong = Spi::get_one::<i64>(&format!(
                    "SELECT count(*) FROM cn WHERE ({rule}) IS DISTINCT FROM
                         coalesce(segment_churn_assign('{name}', cn) = {segment}, false)"
                ))
                .unwrap();
                assert_eq!(wrong, Some(0), "{name}: {rule}");
                matched += Spi::get_one::<i64>(&format!("SELECT count(*) FROM cn WHERE {rule}"))
                    .unwrap()
                    .unwrap();
            }
            let assigned = Spi::get_one::<i64>(&format!(
                "SELECT count(segment_churn_assign('{name}', cn)) FROM cn"
            ))
            .unwrap()
            .unwrap();
            assert_eq!(matched, assigned, "{name}");
            // Skip leaves the rows with a NULL out; mean assigns every row.
            assert_eq!(assigned, 900 - skipped, "{name}");
            assert!(
                with_null > 100,
                "the table has rows with a NULL feature: {with_null}"
            );
        }
    }

    /// segment_rfm's scores (breaks in SQL, `width_bucket` per customer) are those of the rule
    /// written in Rust (`rfm::scores`: a count of worse values per customer), and its names those
    /// of the segment table, on customers with many ties (returns and NaN spends included), for
    /// several bins.
    #[pg_test]
    fn pg_test_rfm_scores_follow_the_rule() {
        use segment_core::value::rfm;
        Spi::run(
            "CREATE TABLE rfm_tx (customer int, at timestamptz, amount numeric);
             INSERT INTO rfm_tx SELECT 1 + (i * 37) % 300, timestamptz '2024-01-01 12:00+00'
                                       + ((i * 7919) % 200) * interval '1 day', (i * 31) % 40 - 3
             FROM generate_series(1, 1500) i;
             -- A NaN amount makes a NaN spend, which PostgreSQL orders above every number:
             -- 30 customers, so that the NaN spends reach a score of their own.
             INSERT INTO rfm_tx SELECT c, '2024-02-01 12:00+00', 'NaN' FROM generate_series(1, 300, 10) c;",
        )
        .unwrap();
        for bins in [1, 3, 5, 7, 20] {
            // Per customer: recency, frequency, monetary; their three scores; the name.
            let rows: Vec<([f64; 3], [u32; 3], String)> = Spi::connect(|client| {
                let sql = format!(
                    "SELECT recency_days, frequency, monetary_total, r_score, f_score, m_score,
                            rfm_segment
                     FROM segment_rfm('rfm_tx', 'customer', 'at', 'amount',
                                      as_of => '2024-09-01', bins => {bins})"
                );
                let table = client.select(&sql, None, &[]).unwrap();
                table
                    .map(|r| {
                        let score = |i| r.get::<i32>(i).unwrap().unwrap() as u32;
                        (
                            [
                                r.get::<i32>(1).unwrap().unwrap() as f64,
                                r.get::<i64>(2).unwrap().unwrap() as f64,
                                r.get::<f64>(3).unwrap().unwrap(),
                            ],
                            [score(4), score(5), score(6)],
                            r.get::<String>(7).unwrap().unwrap(),
                        )
                    })
                    .collect()
            });
            assert!(rows.len() > 250, "{}", rows.len());
            for (column, higher_is_better) in [(0, false), (1, true), (2, true)] {
                let values: Vec<f64> = rows.iter().map(|(v, _, _)| v[column]).collect();
                let expected = rfm::scores(&values, bins, higher_is_better);
                let got: Vec<u32> = rows.iter().map(|(_, s, _)| s[column]).collect();
                assert_eq!(got, expected, "column {column}, bins {bins}");
            }
            for (_, [r, f, _], name) in &rows {
                let (r5, f5) = (rfm::on_five(*r, bins), rfm::on_five(*f, bins));
                assert_eq!(name, rfm::segment(r5, f5), "bins {bins}");
            }
        }
    }

    /// The error a statement fails with (SQLSTATE and message), or None when it succeeds.
    fn error_of(sql: &str) -> Option<(PgSqlErrorCode, String)> {
        // In a subtransaction of its own, as a PL/pgSQL EXCEPTION block runs its statements: a
        // caught error is rolled back, so the next statement runs in a sound transaction (without
        // it, a fit after a caught error failed with 'relation "n" does not exist').
        // SAFETY: the subtransaction is begun here and ended on both paths below, each restoring
        // the memory context and resource owner it began in, as PL/pgSQL's exception handling
        // does.
        let (context, owner) =
            unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
        unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
        let restore = move || unsafe {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
        };
        let sql = sql.to_string();
        PgTryBuilder::new(move || {
            Spi::run(&sql).unwrap();
            unsafe { pg_sys::ReleaseCurrentSubTransaction() };
            restore();
            None
        })
        .catch_others(move |e| {
            restore();
            unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
            restore();
            match e {
                CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => {
                    Some((r.sql_error_code(), r.message().to_string()))
                }
                _ => None,
            }
        })
        .execute()
    }

    /// Numerics of every shape (money, random scales, 30-digit significands from 1e-340 to
    /// 1e320, subnormals, halfway cases, NaN, ±Infinity, values stored compressed): the digits
    /// read by `source::numeric_f64` give the double `numeric::float8` gives, bit for bit.
    #[pg_test]
    fn pg_test_numeric_reads_as_numeric_float8_does() {
        Spi::run(
            "SELECT setseed(0.3);
             CREATE TABLE nums (x numeric);
             -- numeric(14,4) money, the common case.
             INSERT INTO nums SELECT round(((random() * 2 - 1) * 10 ^ (random() * 10))::numeric, 4)::numeric(14,4)
             FROM generate_series(1, 60000);
             -- Random magnitudes and display scales.
             INSERT INTO nums SELECT round(((random() * 2 - 1) * 10 ^ (random() * 60 - 30))::numeric,
                                           (random() * 40)::int)
             FROM generate_series(1, 40000);
             -- 1 to 30 significant digits, decimal exponents -340 ..= 320: huge, tiny, subnormal.
             INSERT INTO nums SELECT (CASE WHEN random() < 0.5 THEN '-' ELSE '' END
                                      || left((random() * 1e15)::bigint::text || (random() * 1e15)::bigint::text,
                                              1 + (random() * 29)::int)
                                      || 'e' || (floor(random() * 661) - 340)::int)::numeric
             FROM generate_series(1, 60000);
             -- 17 to 19 digits around Clinger's bounds (10^±22 .. 10^±37).
             INSERT INTO nums SELECT ((random() * 9e18)::bigint::text || 'e' || (floor(random() * 80) - 40)::int)::numeric
             FROM generate_series(1, 30000);
             -- Near 2^53: halfway cases between doubles.
             INSERT INTO nums SELECT 9007199254740992::numeric + (random() * 8)::int
                                     + CASE WHEN random() < 0.3 THEN 0.5 ELSE 0 END
             FROM generate_series(1, 10000);
             INSERT INTO nums VALUES ('NaN'), ('Infinity'), ('-Infinity'), (0), ('-0'), ('0.0000'),
                 ('-0.00000000000000000000000000000000000000001e-300'),
                 (9007199254740993), (9007199254740995), ('9007199254740993.000000000000000000001'),
                 (1e22), (1e23), (-1e23), (0.1), (-0.1), (1e-22), (1e-23),
                 ('179769313486231570814527423731704356798070567525844996598917476803157296776'
                  '2229208290185316620306993270390024124047616085810000000000000000000000000000'
                  '000000000000000000000000000000000000000000000000000000000000000000000000000000'
                  '000000000000000000000000000000000000000000000000000000000000000000000000000000'),
                 ('4.9406564584124654e-324'), ('2.48e-324'), ('2.2250738585072014e-308'),
                 ('3.14159265358979323846264338327950288419716939937510582097494459230781640628'),
                 -- Stored compressed (7,000 digits) and out of line.
                 (('0.' || repeat('1234567', 1000))::numeric),
                 (('-' || repeat('9', 300) || '.' || repeat('0123456789', 300))::numeric);",
        )
        .unwrap();
        let (mut compared, mut mismatched) = (0u64, Vec::new());
        // The cast's range (the bounds a little inside it: values the cast rejects are tested
        // below, by their error).
        let query = "SELECT x, x::float8 FROM nums
                     WHERE x = 0 OR x = 'NaN' OR abs(x) = 'Infinity'
                        OR (abs(x) < 1.7976931348623157e308 AND abs(x) > 2.48e-324)";
        Spi::connect(|_| {
            crate::query_rows::for_each(query, &[], crate::query_rows::Plan::Serial, |row| {
                let x = row.datum(0).unwrap();
                let cast = f64::from_bits(row.datum(1).unwrap().value() as u64);
                // SAFETY: column 0 is a non-NULL numeric.
                let ours = unsafe { crate::source::numeric_f64(x) };
                compared += 1;
                if ours.to_bits() != cast.to_bits() && mismatched.len() < 10 {
                    mismatched.push((row.text(0), ours, cast));
                }
                true
            })
        });
        assert!(mismatched.is_empty(), "{mismatched:?}");
        // 200,025 values, of which about 2,500 of the third set lie outside the cast's range
        // (exponents above 308 or below -324) and are tested below by their error.
        assert!(compared > 195_000, "{compared}");
    }

    /// A numeric the cast rejects fails a fit and an assign as the cast does: 22003 and the
    /// cast's own message.
    #[pg_test]
    fn pg_test_numeric_out_of_range_fails_as_the_cast_does() {
        Spi::run(
            "CREATE TABLE n (id int PRIMARY KEY, a numeric(14,4), b numeric);
             INSERT INTO n SELECT i, i * 1.5, (i % 7) * 100.25 FROM generate_series(1, 40) i;
             CREATE TABLE f AS SELECT id, a::float8 AS a, b::float8 AS b FROM n;",
        )
        .unwrap();
        // Numerics read from their digits give the float8 columns' fit and assignments.
        let inertia = |t: &str| {
            Spi::get_one::<f64>(&format!(
                "SELECT inertia FROM segment_fit('{t}', ARRAY['a', 'b'], 3, name => 'm{t}')"
            ))
            .unwrap()
            .unwrap()
        };
        assert_eq!(inertia("n").to_bits(), inertia("f").to_bits());
        assert_eq!(
            Spi::get_one::<i64>(
                "SELECT count(*) FROM n JOIN f USING (id)
                 WHERE segment_assign('mn', n) IS DISTINCT FROM segment_assign('mf', f)"
            )
            .unwrap(),
            Some(0)
        );
        for bad in ["1e400", "-1e400", "1e-400", "-2e-324"] {
            Spi::run(&format!("UPDATE n SET b = '{bad}' WHERE id = 20")).unwrap();
            let cast = error_of(&format!("SELECT '{bad}'::numeric::float8"));
            let (code, message) = cast.clone().expect("the cast fails");
            assert_eq!(code, PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE);
            assert!(
                message.ends_with("is out of range for type double precision"),
                "{message}"
            );
            assert_eq!(
                error_of("SELECT * FROM segment_fit('n', ARRAY['a', 'b'], 3, name => 'mn2')"),
                cast,
                "{bad}"
            );
            assert_eq!(
                error_of("SELECT sum(segment_assign('mn', n)) FROM n"),
                cast,
                "{bad}"
            );
        }
    }

    /// The backend's model cache (catalog/model_cache.rs): a model read by one statement serves
    /// the next ones without a catalog read, a refit replaces it, and the kept models stay within
    /// customer_segment.model_cache_size, the least recently used dropped first.
    #[pg_test]
    fn pg_test_model_cache_reuses_models_within_its_budget() {
        use crate::catalog::model_cache_contents as contents;
        setup();
        let names = ["mc_a", "mc_b", "mc_c"];
        // k from 8: documents over 1 kB each, so that a budget in kB can hold two, not three.
        for (name, k) in names.iter().zip(8..) {
            Spi::run(&format!(
                "SELECT * FROM segment_fit('t', ARRAY['a', 'b'], {k}, name => '{name}')"
            ))
            .unwrap();
        }
        let assign = |name: &str| {
            Spi::get_one::<i64>(&format!("SELECT count(segment_assign('{name}', t)) FROM t"))
                .unwrap()
        };
        let kept = || contents().iter().map(|e| e.0.clone()).collect::<Vec<_>>();
        // Read once, then served from the cache.
        assign("mc_a");
        assign("mc_a");
        assert_eq!(kept(), ["mc_a"]);
        assert_eq!(contents()[0].4, 1, "the second statement was a hit");
        // A refit: the next statement reads the new version.
        Spi::run("SELECT * FROM segment_fit('t', ARRAY['a', 'b'], 8, name => 'mc_a')").unwrap();
        assign("mc_a");
        assert_eq!(contents()[0].2, 2, "the new version is kept");
        // A budget for the two largest documents, not for all three.
        let size = |name: &str| {
            Spi::get_one::<i32>(&format!(
                "SELECT length(model::text) FROM segment_model WHERE name = '{name}' \
                 ORDER BY version DESC LIMIT 1"
            ))
            .unwrap()
            .unwrap() as usize
        };
        let sizes: Vec<usize> = names.iter().map(|n| size(n)).collect();
        let total: usize = sizes.iter().sum();
        let pair = total - sizes.iter().min().unwrap();
        let budget_kb = pair.div_ceil(1024);
        assert!(
            budget_kb * 1024 < total,
            "models too small for a budget in kB: {sizes:?}"
        );
        Spi::run(&format!(
            "SET customer_segment.model_cache_size = '{budget_kb}kB'"
        ))
        .unwrap();
        for name in names {
            assign(name);
            let bytes: usize = contents().iter().map(|e| e.3).sum();
            assert!(
                bytes <= budget_kb * 1024,
                "{bytes} bytes kept, budget {budget_kb} kB"
            );
        }
        // mc_a was used least recently; using it again drops mc_b, now the oldest.
        assert_eq!(kept(), ["mc_b", "mc_c"]);
        assign("mc_a");
        assert_eq!(kept(), ["mc_a", "mc_c"]);
        // 0: nothing kept, and what was is given back.
        Spi::run("SET customer_segment.model_cache_size = 0").unwrap();
        assign("mc_a");
        assert!(contents().is_empty());
        Spi::run("RESET customer_segment.model_cache_size").unwrap();
    }
}
