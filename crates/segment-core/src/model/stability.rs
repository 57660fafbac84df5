//! "Is this segment real?": each segment's stability under resampling, as Hennig's clusterboot
//! (C. Hennig, "Cluster-wise assessment of cluster stability", Computational Statistics & Data
//! Analysis 52, 2007). Each of `runs` bootstrap samples draws n of the n rows with replacement
//! (seeded), and the model's method is fitted again on it with the same options (k included) and
//! another seed. The original segments restricted to the distinct rows drawn are then compared
//! with the refit's segments of those rows: a segment's Jaccard similarity to its most similar
//! refit segment, |C ∩ D| / |C ∪ D|. A segment's stability is the mean over the runs in which it
//! had a row drawn; a run in which it scored at most 0.5 dissolved it. Hennig's reading: at most
//! 0.5, the segment is not found again; 0.6 to 0.75, there is a pattern but which rows belong to
//! it is doubtful; 0.85 and above, highly stable.
//!
//! The rows are those of the model's own space (its preprocessing replayed: `StabilityRows`),
//! and their segments the model's own rule's (what `segment_assign` gives them). A refit is
//! `model::fit::fit_labelled` without its extras (profile, silhouette), so every method that
//! fits in memory is refitted as `segment_fit` fits it, sampling included. DBSCAN's noise is no
//! segment: a row that is noise in the refit counts in no refit segment, and original noise
//! rows in no original one (they still enlarge the refit segments they join).

use crate::cluster::dbscan::NOISE;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{Method, SegmentModel};
use crate::model::fit::fit_labelled;
use crate::model::labelled_rows::LabelledRows;
use crate::model::limits::Limits;
use crate::model::options::FitOptions;
use crate::params::{Given, Key, Kind};
use crate::prep::matrix::FeatureMatrix;
use crate::prep::preprocessor::Prepared;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Bootstrap runs when the call names none (Hennig's examples use 20 to 100).
pub const DEFAULT_RUNS: u32 = 20;
/// The most runs a call may ask for.
pub const MAX_RUNS: u32 = 1000;
/// A segment whose mean Jaccard reaches this is reported stable (Hennig: 0.75 and above
/// "indicates" a valid, stable segment).
pub const DEFAULT_THRESHOLD: f64 = 0.75;
/// A run in which a segment's best Jaccard is at most this dissolved it (Hennig's criterion).
pub const DISSOLVED: f64 = 0.5;

/// `segment_stability`'s options: `seed` (default: the model's own), `threshold` of `stable`
/// (default 0.75), `store` the result in the version's metrics (default true).
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityOptions {
    pub seed: Option<u64>,
    pub threshold: f64,
    pub store: bool,
}

const KEYS: [Key; 3] = [
    Key::new("seed", Kind::NonNegativeInteger),
    Key::new("threshold", Kind::Number),
    Key::new("store", Kind::Boolean),
];

impl StabilityOptions {
    /// The options (the `options jsonb` argument as text), each checked.
    pub fn read(text: &str) -> CoreResult<StabilityOptions> {
        let given = Given::from_json(text, None, &KEYS)?;
        let threshold = given.number("threshold").unwrap_or(DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option threshold must be above 0 and at most 1, not {threshold}"
            ))
            .with_hint("It is the mean Jaccard similarity from which a segment counts as stable: Hennig reads 0.75 and above as stable, 0.85 as highly stable."));
        }
        Ok(StabilityOptions {
            seed: given.integer("seed"),
            threshold,
            store: given.boolean("store").unwrap_or(true),
        })
    }
}

/// The number of bootstrap runs, checked: 1 to `MAX_RUNS`.
pub fn check_runs(runs: i64) -> CoreResult<u32> {
    if !(1..=MAX_RUNS as i64).contains(&runs) {
        return Err(CoreError::invalid_parameter(format!(
            "runs must be between 1 and {MAX_RUNS}, not {runs}"
        ))
        .with_hint("Each run fits the model again: Hennig's clusterboot uses 20 to 100."));
    }
    Ok(runs as u32)
}

/// One segment's stability over the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentStability {
    pub segment: u32,
    /// Mean over `runs` of the best Jaccard similarity to a refit segment; None when the segment
    /// had no row drawn in any run (or no row at all).
    pub stability: Option<f64>,
    /// Runs whose best Jaccard was at most `DISSOLVED`.
    pub dissolved: u32,
    /// Runs in which the segment had at least one row drawn.
    pub runs: u32,
}

impl SegmentStability {
    /// Whether the segment reads as stable at `threshold` (never without a stability).
    pub fn stable(&self, threshold: f64) -> bool {
        self.stability.is_some_and(|s| s >= threshold)
    }
}

/// What `segment_stability` stores in a version's metrics (`metrics.stability`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredStability {
    /// Bootstrap runs asked for, and their seed.
    pub runs: u32,
    pub seed: u64,
    pub threshold: f64,
    /// The relation the rows were read from, as SQL.
    pub source: String,
    /// Rows resampled (those the model gives a segment or noise; skipped ones are not).
    pub rows: u64,
    pub segments: Vec<SegmentStability>,
}

impl StoredStability {
    /// The stability a metrics document holds, None when it holds none. Only `stability` is
    /// read; one that is there must read whole.
    pub fn in_metrics(metrics: &serde_json::Value) -> Result<Option<StoredStability>, String> {
        match metrics.get("stability") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(s) => serde_json::from_value(s.clone())
                .map(Some)
                .map_err(|e| format!("stability: {e}")),
        }
    }

    /// The segments below the threshold (or never measured), in segment order.
    pub fn unstable(&self) -> Vec<&SegmentStability> {
        self.segments
            .iter()
            .filter(|s| !s.stable(self.threshold))
            .collect()
    }

    /// Each segment's stability in segment order, as a report shows them: "0.85, 0.54, –".
    pub fn values(&self) -> String {
        let shown: Vec<String> = self.segments.iter().map(|s| shown(s.stability)).collect();
        shown.join(", ")
    }

    /// A report's note naming the segments below the threshold (`labels` by segment), None
    /// when every segment reaches it.
    pub fn note(&self, labels: &[String]) -> Option<String> {
        let unstable = self.unstable();
        if unstable.is_empty() {
            return None;
        }
        let listed: Vec<String> = unstable
            .iter()
            .map(|s| {
                let label = labels.get(s.segment as usize).map_or("", String::as_str);
                format!("{} \"{label}\" ({})", s.segment, shown(s.stability))
            })
            .collect();
        Some(format!(
            "Segments below the stability threshold {}: {}. Refitted on {} bootstrap samples of its rows, the model did not find them again reliably (Hennig's reading of the mean Jaccard: at most 0.5 dissolved, 0.6 to 0.75 a pattern whose members are doubtful); see segment_stability.",
            self.threshold,
            listed.join(", "),
            self.runs
        ))
    }
}

/// A stability to two decimals, "–" when never measured.
fn shown(stability: Option<f64>) -> String {
    stability.map_or("–".to_string(), |v| format!("{v:.2}"))
}

/// Refuses a model whose method `stability` cannot refit: minibatch_kmeans streams its source.
pub fn check_method(method: Method) -> CoreResult<()> {
    match method {
        Method::MinibatchKmeans => Err(CoreError::new(
            ErrorKind::NotSupported,
            "segment_stability refits the model in memory, and method minibatch_kmeans streams its source",
        )
        .with_hint("Assess a k-means model with the same features and k fitted on a sampled view of the rows (its segments are those minibatch_kmeans approximates).")),
        m if m.is_supervised() => Err(CoreError::wrong_model(format!(
            "segment_stability assesses clustering models, not method {}",
            m.name()
        ))
        .with_hint("A churn model or classifier is checked on held-out rows: see its report.")),
        _ => Ok(()),
    }
}

/// The rows `stability` resamples (`LabelledRows`: read through the model's own
/// preprocessing, each with its segment), bounded by `max_bytes` while rows arrive.
pub struct StabilityRows {
    rows: LabelledRows,
}

impl StabilityRows {
    pub fn new(model: &SegmentModel, max_bytes: usize) -> StabilityRows {
        StabilityRows {
            rows: LabelledRows::new(
                model.assigner(),
                max_bytes,
                "the rows to resample",
                "Raise customer_segment.max_memory_mb, or assess the model on a sampled view (source argument).",
            ),
        }
    }

    /// One source row as matrix columns, NULLs as None. A row whose NULL the model skips is
    /// counted, not kept.
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        self.rows.push(values)
    }

    /// Rows kept so far.
    pub fn rows(&self) -> usize {
        self.rows.rows()
    }

    pub fn rows_skipped(&self) -> u64 {
        self.rows.rows_skipped()
    }

    /// The rows in scaled units, and each one's segment.
    pub fn into_parts(self) -> (FeatureMatrix, Vec<u32>) {
        let (x, labels, _) = self.rows.into_parts();
        (x, labels)
    }
}

/// Each of the model's segments' stability over `runs` bootstrap refits of `x` (rows in the
/// model's scaled units, `labels` their segments under the model's rule, NOISE for DBSCAN
/// noise), seeded by `seed`. `options` are the model's (k included); each refit takes another
/// seed. `check` runs before every run and inside every refit.
#[allow(clippy::too_many_arguments)]
pub fn stability(
    model: &SegmentModel,
    x: &FeatureMatrix,
    labels: &[u32],
    options: &FitOptions,
    runs: u32,
    seed: u64,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<Vec<SegmentStability>> {
    check_method(options.method())?;
    let (n, k) = (x.n_rows(), model.k());
    if n == 0 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "the source has no rows the model gives a segment",
        )
        .with_hint("Assess the model on the rows it was fitted on (source NULL)."));
    }
    let mut sums = vec![0.0; k];
    let mut present = vec![0u32; k];
    let mut dissolved = vec![0u32; k];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // Per row: its refit segment in this run (the first copy drawn's), or `UNDRAWN`.
    const UNDRAWN: u32 = u32::MAX - 1;
    let mut refit_of = vec![UNDRAWN; n];
    for run in 0..runs {
        check();
        let drawn: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
        let refit_seed = rng.gen::<u32>() as u64;
        let prepared = Prepared {
            matrix: x.select_rows(&drawn),
            imputer: model.imputer.clone(),
            scaler: model.scaler.clone(),
            rows_skipped: 0,
            near_constant: Vec::new(),
        };
        let (_, report, _, new_labels) = fit_labelled(
            prepared,
            model.features.clone(),
            model.categories.clone(),
            &options.with_seed(refit_seed).cold(),
            None,
            limits,
            false,
            check,
        )
        .map_err(|mut e| {
            e.message = format!("bootstrap run {} of {runs}: {}", run + 1, e.message);
            e
        })?;
        refit_of.fill(UNDRAWN);
        for (&i, &l) in drawn.iter().zip(&new_labels) {
            if refit_of[i] == UNDRAWN {
                refit_of[i] = l;
            }
        }
        let best = best_jaccard(labels, &refit_of, k, report.k, UNDRAWN);
        for (c, b) in best.into_iter().enumerate() {
            if let Some(b) = b {
                sums[c] += b;
                present[c] += 1;
                dissolved[c] += u32::from(b <= DISSOLVED);
            }
        }
    }
    Ok((0..k)
        .map(|c| SegmentStability {
            segment: c as u32,
            stability: (present[c] > 0).then(|| sums[c] / present[c] as f64),
            dissolved: dissolved[c],
            runs: present[c],
        })
        .collect())
}

/// Per original segment (0..k), the highest Jaccard similarity to a refit segment (0..k_new)
/// over the rows drawn (`refit[i] != undrawn`); None for a segment with no row drawn. NOISE in
/// either labelling is in no segment of that labelling.
fn best_jaccard(
    original: &[u32],
    refit: &[u32],
    k: usize,
    k_new: usize,
    undrawn: u32,
) -> Vec<Option<f64>> {
    // Counts with one more row and column for noise.
    let (rows, cols) = (k + 1, k_new + 1);
    let mut table = vec![0u64; rows * cols];
    for (&a, &b) in original.iter().zip(refit) {
        if b == undrawn {
            continue;
        }
        let a = if a == NOISE { k } else { a as usize };
        let b = if b == NOISE { k_new } else { b as usize };
        table[a * cols + b] += 1;
    }
    let row_sum = |a: usize| table[a * cols..(a + 1) * cols].iter().sum::<u64>();
    let col_sums: Vec<u64> = (0..cols)
        .map(|b| (0..rows).map(|a| table[a * cols + b]).sum())
        .collect();
    (0..k)
        .map(|a| {
            let size = row_sum(a);
            (size > 0).then(|| {
                (0..k_new)
                    .map(|b| {
                        let both = table[a * cols + b];
                        both as f64 / (size + col_sums[b] - both) as f64
                    })
                    .fold(0.0, f64::max)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fit::fit_model;
    use crate::model::fit::tests::{options, LIMITS};
    use crate::parallel;
    use crate::prep::builder::MatrixBuilder;
    use crate::prep::preprocessor::fit_matrix;
    use crate::prep::scaling::ImputeMethod;

    /// Rows around the given centres (each coordinate a sum of uniforms: bell-shaped, standard
    /// deviation 0.71 times `spread`).
    fn blobs<const D: usize>(
        n_per: usize,
        centres: &[[f64; D]],
        spread: f64,
        seed: u64,
    ) -> Vec<[f64; D]> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut rows = Vec::new();
        for c in centres {
            for _ in 0..n_per {
                let mut row = *c;
                for v in row.iter_mut() {
                    *v += (0..6).map(|_| rng.gen::<f64>() - 0.5).sum::<f64>() * spread;
                }
                rows.push(row);
            }
        }
        rows
    }

    fn names(d: usize) -> Vec<String> {
        (0..d).map(|j| format!("x{j}")).collect()
    }

    fn prepared<const D: usize>(rows: &[[f64; D]], options: &FitOptions) -> Prepared {
        let mut b = MatrixBuilder::new(names(D), ImputeMethod::Skip, usize::MAX);
        for r in rows {
            b.push(&r.map(Some)).unwrap();
        }
        fit_matrix(b.finish().unwrap(), options.scale())
    }

    /// The model of the options fitted on the rows, the rows read back through it.
    fn fitted<const D: usize>(
        rows: &[[f64; D]],
        options: &FitOptions,
    ) -> (SegmentModel, FeatureMatrix, Vec<u32>) {
        let (model, _, _) = fit_model(
            prepared(rows, options),
            names(D),
            vec![],
            options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        let mut r = StabilityRows::new(&model, usize::MAX);
        for row in rows {
            r.push(&row.map(Some)).unwrap();
        }
        let (x, labels) = r.into_parts();
        (model, x, labels)
    }

    /// Fits the model, reads the rows back through it and assesses it.
    fn assess<const D: usize>(
        rows: &[[f64; D]],
        text: &str,
        k: Option<i64>,
        runs: u32,
        seed: u64,
    ) -> Vec<SegmentStability> {
        let options = options(text, k);
        let (model, x, labels) = fitted(rows, &options);
        stability(
            &model,
            &x,
            &labels,
            &options,
            runs,
            seed,
            LIMITS,
            &mut || {},
        )
        .unwrap()
    }

    #[test]
    fn jaccard_by_hand() {
        // Original {0,1,2} {3,4,5}; refit splits the first: {0,1} {2,3,4,5}; row 5 undrawn.
        let original = [0, 0, 0, 1, 1, 1];
        let refit = [0, 0, 1, 1, 1, u32::MAX - 1];
        let best = best_jaccard(&original, &refit, 2, 2, u32::MAX - 1);
        // Segment 0: {0,1,2} vs {0,1}: 2/3; vs {2,3,4}: 1/5. Segment 1 (drawn {3,4}) vs {2,3,4}:
        // 2/3.
        assert_eq!(best, vec![Some(2.0 / 3.0), Some(2.0 / 3.0)]);
        // A segment with no row drawn has no value; noise is in no segment on either side.
        let best = best_jaccard(&[0, 0, NOISE, 1], &[NOISE, 0, 0, 7], 2, 1, 7);
        // Segment 0 {0,1} vs refit {1,2}: 1/3.
        assert_eq!(best, vec![Some(1.0 / 3.0), None]);
    }

    #[test]
    fn well_separated_blobs_are_stable() {
        let rows = blobs(100, &[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], 1.0, 1);
        for (text, k) in [
            ("{}", Some(3)),
            (r#"{"method": "gmm"}"#, Some(3)),
            (r#"{"method": "hierarchical"}"#, Some(3)),
            (r#"{"method": "dbscan", "eps": 0.3}"#, None),
        ] {
            let s = assess(&rows, text, k, 10, 7);
            assert_eq!(s.len(), 3, "{text}");
            for seg in &s {
                assert!(seg.stability.unwrap() > 0.97, "{text}: {seg:?}");
                assert_eq!((seg.dissolved, seg.runs), (0, 10), "{text}: {seg:?}");
            }
        }
    }

    /// One round blob cut in two by k-means, beside a far blob: the far blob stays, the halves
    /// of the round one are an arbitrary cut, whose direction (the sample's longest axis, in
    /// four dimensions nearly as long as the others) each refit picks anew. With scikit-learn's
    /// KMeans the halves of such blobs score 0.65 to 0.75 over seeds, the far blob 1.
    #[test]
    fn an_arbitrary_split_is_less_stable() {
        let mut rows = blobs(300, &[[0.0; 4]], 1.0, 3);
        rows.extend(blobs(150, &[[30.0, 0.0, 0.0, 0.0]], 1.0, 4));
        let s = assess(&rows, r#"{"scale": "none"}"#, Some(3), 30, 11);
        let mut values: Vec<f64> = s.iter().map(|x| x.stability.unwrap()).collect();
        values.sort_by(f64::total_cmp);
        assert!(values[2] > 0.97, "the far blob: {s:?}");
        assert!(values[..2].iter().all(|&v| v < 0.85), "the halves: {s:?}");
    }

    #[test]
    fn kprototypes_are_refitted_on_their_categories() {
        let features = vec!["spend".to_string(), "channel".to_string()];
        let categories = vec![None, Some(vec!["retail".to_string(), "web".to_string()])];
        let columns = vec![
            "spend".into(),
            "channel=retail".into(),
            "channel=web".into(),
        ];
        let mut b = MatrixBuilder::new(columns, ImputeMethod::Skip, usize::MAX);
        let mut raw = Vec::new();
        for i in 0..200 {
            let web = i >= 100;
            let spend = if web { 100.0 } else { 10.0 } + (i % 10) as f64;
            let row = [Some(spend), Some(!web as u8 as f64), Some(web as u8 as f64)];
            b.push(&row).unwrap();
            raw.push(row);
        }
        let options = options(r#"{"method": "kprototypes"}"#, Some(2));
        let (model, _, _) = fit_model(
            fit_matrix(b.finish().unwrap(), options.scale()),
            features,
            categories,
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        let mut r = StabilityRows::new(&model, usize::MAX);
        raw.iter().for_each(|row| r.push(row).unwrap());
        let (x, labels) = r.into_parts();
        let s = stability(&model, &x, &labels, &options, 5, 1, LIMITS, &mut || {}).unwrap();
        assert!(s.iter().all(|x| x.stability == Some(1.0)), "{s:?}");
    }

    #[test]
    fn a_seed_gives_the_same_answer() {
        let mut rows = blobs(200, &[[0.0, 0.0]], 1.0, 5);
        rows.extend(blobs(100, &[[4.0, 0.0]], 1.0, 6));
        let a = assess(&rows, "{}", Some(3), 8, 42);
        assert_eq!(a, assess(&rows, "{}", Some(3), 8, 42));
        assert_ne!(a, assess(&rows, "{}", Some(3), 8, 43));
        // The thread count changes nothing.
        let options = options("{}", Some(3));
        let (model, x, labels) = fitted(&rows, &options);
        let two = Limits {
            threads: 2,
            ..LIMITS
        };
        let b = stability(&model, &x, &labels, &options, 8, 42, two, &mut || {}).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn check_runs_between_runs_and_stops() {
        let rows = blobs(100, &[[0.0, 0.0], [5.0, 5.0]], 1.0, 9);
        let options = options("{}", Some(2));
        let (model, x, labels) = fitted(&rows, &options);
        let calls = |runs: u32| {
            parallel::testing::checks(|check| {
                stability(&model, &x, &labels, &options, runs, 1, LIMITS, check).unwrap();
            })
        };
        let (one, five) = (calls(1), calls(5));
        assert!(five >= 5 * one && one >= 2, "{one} {five}");
        parallel::testing::stops_at(one + 1, |check| {
            let _ = stability(&model, &x, &labels, &options, 5, 1, LIMITS, check);
        });
    }

    #[test]
    fn options_and_runs_are_checked() {
        let o = StabilityOptions::read("{}").unwrap();
        assert_eq!((o.seed, o.threshold, o.store), (None, 0.75, true));
        let o =
            StabilityOptions::read(r#"{"seed": 3, "threshold": 0.85, "store": false}"#).unwrap();
        assert_eq!((o.seed, o.threshold, o.store), (Some(3), 0.85, false));
        let e = StabilityOptions::read(r#"{"threshold": 1.5}"#).unwrap_err();
        assert!(e.message.contains("threshold"), "{}", e.message);
        let e = StabilityOptions::read(r#"{"runs": 5}"#).unwrap_err();
        assert!(
            e.message.contains("unknown option \"runs\""),
            "{}",
            e.message
        );
        assert_eq!(check_runs(20).unwrap(), 20);
        for bad in [0, -1, 1001] {
            let e = check_runs(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert!(e.message.contains("between 1 and 1000"), "{}", e.message);
        }
        assert_eq!(
            check_method(Method::MinibatchKmeans).unwrap_err().kind,
            ErrorKind::NotSupported
        );
    }

    #[test]
    fn the_stored_form_reads_back() {
        let stored = StoredStability {
            runs: 20,
            seed: 0,
            threshold: 0.75,
            source: "public.t".into(),
            rows: 10,
            segments: vec![
                SegmentStability {
                    segment: 0,
                    stability: Some(0.9),
                    dissolved: 0,
                    runs: 20,
                },
                SegmentStability {
                    segment: 1,
                    stability: Some(0.6),
                    dissolved: 5,
                    runs: 19,
                },
            ],
        };
        let metrics = serde_json::json!({"inertia": 1.0, "stability": stored});
        let back = StoredStability::in_metrics(&metrics).unwrap().unwrap();
        assert_eq!(back, stored);
        assert_eq!(back.unstable().len(), 1);
        assert_eq!(back.values(), "0.90, 0.60");
        let labels = ["loyal".to_string(), "new".to_string()];
        let note = back.note(&labels).unwrap();
        assert!(
            note.starts_with("Segments below the stability threshold 0.75: 1 \"new\" (0.60). Refitted on 20 bootstrap samples"),
            "{note}"
        );
        let mut all_stable = back.clone();
        all_stable.threshold = 0.5;
        assert_eq!(all_stable.note(&labels), None);
        assert_eq!(
            StoredStability::in_metrics(&serde_json::json!({})).unwrap(),
            None
        );
        assert!(
            StoredStability::in_metrics(&serde_json::json!({"stability": {"runs": 1}})).is_err()
        );
    }
}
