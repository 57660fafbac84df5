//! Fits that stream the source instead of holding it: mini-batch k-means for sources larger than
//! memory, and k-means with `engine = aggregate`. The rows are read several times, never held.
//!
//! Our own (linfa-clustering's incremental k-means takes whole in-memory batches through
//! ndarray and has no streaming scaler or profile): the source is read several times through
//! the `scan` callback, each time in a fixed order-independent way.
//! 1. Summary pass: per column count, mean and spread (Welford), min and max, and a seeded
//!    reservoir sample of `sample_rows` rows; this gives the imputer and the scaler.
//! 2. Start: k-means (best of n_init k-means++ starts) on the scaled sample.
//! 3. `epochs` passes of mini-batch updates (Sculley 2010, as scikit-learn's MiniBatchKMeans
//!    without reassignment): each batch of `batch_size` rows moves every centre towards the
//!    mean of its rows in the batch, with a step of (its rows in the batch) / (its rows so far).
//!    Stops early when an epoch moves the centres by less than the k-means tolerance.
//! 4. Final pass: every row's segment, the exact inertia, sizes, means, spreads and ANOVA F.
//!    Medians and the silhouette are measured on the sample.
//!
//! Memory: the sample (sample_rows x columns x 8 bytes), one batch, and k centres; not the rows.
//!
//! The same passes 1 and 4 serve k-means with `engine = aggregate` ([`Refinement::Steps`]):
//! there steps 2 and 3 are replaced by whole Lloyd steps computed by the caller (the SQL
//! aggregate `segment_kmeans_step`), from k-means++ starts on the sample (`lloyd_step::drive`).

use crate::analysis::metrics;
use crate::analysis::profile::{raw_row, raw_value, segment_medians, Profile, ProfileAccumulator};
use crate::cluster::kmeans::Centres;
use crate::cluster::kmeans::KChoice;
use crate::cluster::kmeans::{self, KMeansParams};
use crate::cluster::lloyd_step::{self, StepResult};
use crate::cluster::minibatch;
use crate::cluster::minibatch::MiniBatchMethod;
use crate::cluster::Starts;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{MethodRule, SegmentModel, FORMAT_VERSION};
use crate::model::fit::{order_from_counts, FitReport};
use crate::model::limits::Limits;
use crate::model::options::{FitOptions, MethodParams};
use crate::parallel::Pace;
use crate::prep::builder::check_row;
use crate::prep::encoding::{column_log_mask, Columns};
use crate::prep::matrix::{fill_nan, matrix_bytes, FeatureMatrix};
use crate::prep::preprocessor::Moments;
use crate::prep::reservoir::Reservoir;
use crate::prep::scaling::ImputeMethod;

/// Rows of the summary pass's reservoir when `sample_rows` is not given.
pub const DEFAULT_SAMPLE_ROWS: u64 = 10_000;

/// Re-reads the source: calls the row callback with every row (matrix columns, NULL as None).
pub type Scan<'a> =
    dyn FnMut(&mut dyn FnMut(&[Option<f64>]) -> CoreResult<()>) -> CoreResult<()> + 'a;

/// Checks what the streaming fit supports before any row is read.
pub fn check_options(options: &FitOptions) -> CoreResult<()> {
    streamed(options)?;
    Moments::supports(options.impute(), options.scale())
}

/// What a streaming fit takes from the options: k, the k-means starts (on the sample, and
/// k-means' Lloyd steps), the reservoir's size, and for mini-batch its batches and epochs.
struct Streamed<'a> {
    k: usize,
    starts: &'a Starts,
    sample_rows: Option<u64>,
    minibatch: Option<&'a MiniBatchMethod>,
}

fn streamed(options: &FitOptions) -> CoreResult<Streamed<'_>> {
    match options.params() {
        MethodParams::MinibatchKmeans(p) => Ok(Streamed {
            k: p.k(),
            starts: p.starts(),
            sample_rows: p.sample_rows(),
            minibatch: Some(p),
        }),
        MethodParams::Kmeans(p) => match p.k() {
            KChoice::Given(k) => Ok(Streamed {
                k,
                starts: p.starts(),
                sample_rows: p.sample_rows(),
                minibatch: None,
            }),
            KChoice::Scan(_) => Err(CoreError::invalid_parameter(
                "option engine aggregate needs k",
            )),
        },
        other => Err(CoreError::invalid_parameter(format!(
            "method {} is not fitted by streaming the source",
            other.method().name()
        ))),
    }
}

/// How the centres are found between the summary pass and the final pass.
pub enum Refinement<'a> {
    /// Mini-batch epochs from the best of n_init k-means fits on the sample.
    MiniBatch,
    /// Whole Lloyd steps: given the model's preprocessing and centres (scaled, row-major), the
    /// sums of the step over every row (`engine = aggregate`).
    Steps(&'a mut dyn FnMut(&SegmentModel, &[f64]) -> CoreResult<StepResult>),
}

/// Fits mini-batch k-means (or, with `Refinement::Steps`, k-means) over a source read through
/// `scan` (several passes; its rows are the matrix columns of `features` and `categories`).
#[allow(clippy::too_many_arguments)]
pub fn fit(
    refinement: Refinement<'_>,
    scan: &mut Scan<'_>,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    options: &FitOptions,
    limits: Limits,
    max_bytes: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<(SegmentModel, FitReport)> {
    check_options(options)?;
    let streamed = streamed(options)?;
    if matches!(refinement, Refinement::Steps(_)) && categories.iter().any(Option::is_some) {
        // The SQL aggregate's steps read numbers only.
        return Err(CoreError::new(
            ErrorKind::NotSupported,
            "option engine aggregate takes numeric features only",
        )
        .with_hint("One-hot encode text columns in a view, or use the default engine."));
    }
    options.log_mask(&features)?; // every name in log is a feature
    let columns = &Columns::of(&features, &categories).names;
    let log = &column_log_mask(&features, &categories, options.log())?;
    let k = streamed.k;
    let d = columns.len();
    let cap = streamed.sample_rows.unwrap_or(DEFAULT_SAMPLE_ROWS) as usize;
    if matrix_bytes(cap, d) > max_bytes {
        return Err(CoreError::new(
            ErrorKind::ResourceLimit,
            format!(
                "a sample of {cap} rows would exceed customer_segment.max_memory_mb ({} MB)",
                max_bytes / (1024 * 1024)
            ),
        )
        .with_hint("Lower the sample_rows option."));
    }

    // 1. Summary pass.
    let mut moments = Moments::new(d);
    let mut rows_used = 0u64;
    let mut rows_skipped = 0u64;
    let mut sample = Reservoir::new(cap, d, options.seed());
    let mut raw = vec![0.0; d];
    scan(&mut |values| {
        let has_null = check_row(columns, log, options.impute(), values)?;
        if has_null && options.impute() == ImputeMethod::Skip {
            rows_skipped += 1;
            return Ok(());
        }
        for (j, v) in values.iter().enumerate() {
            raw[j] = match v {
                Some(x) if log[j] => x.ln_1p(),
                Some(x) => *x,
                None => f64::NAN,
            };
        }
        moments.push(&raw);
        rows_used += 1;
        sample.push(&raw);
        Ok(())
    })?;
    kmeans::check_k(k, rows_used as usize)?;
    if let Some(j) = moments.empty_column() {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!("feature column \"{}\" is NULL in every row", columns[j]),
        )
        .with_hint("Remove the column from the features array."));
    }
    let (imputer, scaler) = moments.finish(options.impute(), options.scale())?;
    let mut sample = FeatureMatrix::from_rows(sample.into_rows(), d);
    if let Some(fill) = imputer.fill_values() {
        for row in sample.as_mut_slice().chunks_exact_mut(d) {
            for (x, m) in row.iter_mut().zip(fill) {
                if x.is_nan() {
                    *x = *m;
                }
            }
        }
    }
    scaler.transform(&mut sample);
    check();

    let mut model = SegmentModel {
        format_version: FORMAT_VERSION,
        features,
        categories,
        log: Vec::new(),
        imputer,
        scaler,
        centres: vec![vec![0.0; d]; k],
        rule: MethodRule::MinibatchKmeans,
        profile: Profile::empty(),
        anomaly: None,
        weights: None,
    };
    model.log = model
        .features
        .iter()
        .filter(|f| options.log().contains(f))
        .cloned()
        .collect();
    let tol = streamed.starts.tol() * moments.scaled_mean_variance(&model.scaler);
    let (centres, epochs, converged) = match (refinement, streamed.minibatch) {
        (Refinement::MiniBatch, Some(minibatch)) => epochs(
            scan,
            &sample,
            &mut model,
            tol,
            minibatch,
            options.seed(),
            limits,
            check,
        )?,
        (Refinement::MiniBatch, None) => {
            return Err(CoreError::invalid_parameter(
                "mini-batch updates need method minibatch_kmeans",
            ))
        }
        (Refinement::Steps(step), _) => {
            model.rule = MethodRule::Kmeans;
            let skeleton = model.clone();
            let driven = lloyd_step::drive(
                &sample,
                k,
                streamed.starts.n_init(),
                streamed.starts.max_iter(),
                tol,
                options.seed(),
                limits.threads,
                &mut |centres| step(&skeleton, centres),
                check,
            )?;
            (driven.centres, driven.iterations, driven.converged)
        }
    };
    model.centres = centres.chunks_exact(d).map(<[f64]>::to_vec).collect();
    let prepare = model.assigner();
    let mut scratch = vec![0.0; k];
    let mut row = vec![0.0; d];

    // 4. Final pass: the segment of every row; then ids in canonical order (largest first).
    let final_centres = Centres::new(centres, d);
    let log_mask = model.log_mask();
    let mut acc = ProfileAccumulator::with_log(k, d, &log_mask);
    let mut inertia = 0.0;
    let (mut unscaled, mut raw) = (vec![0.0; d], vec![0.0; d]);
    let mut pace = Pace::new(check);
    pace.check();
    scan(&mut |values| {
        fill_nan(&mut row, values, columns)?;
        if prepare.scale_raw(&mut row)? {
            pace.add(k * d);
            let (label, d2) = final_centres.nearest(&row, &mut scratch);
            inertia += d2;
            raw_row(&model.scaler, &log_mask, &row, &mut unscaled, &mut raw);
            acc.push_both(&raw, &unscaled, label);
        }
        Ok(())
    })?;
    let new_id = order_from_counts(acc.sizes(), &model.centres);
    let sample_labels: Vec<u32> = sample
        .rows()
        .map(|r| {
            pace.add(k * d);
            new_id[final_centres.nearest(r, &mut scratch).0 as usize]
        })
        .collect();
    // Medians in the final numbering; the rest is renumbered with the centres below.
    let mut medians = segment_medians(
        &sample,
        &sample_labels,
        k,
        &|j, v| raw_value(&model.scaler, &log_mask, j, v),
        check,
    );
    let mut old_order = medians.clone();
    for (old, &new) in new_id.iter().enumerate() {
        old_order[old] = std::mem::take(&mut medians[new as usize]);
    }
    model.profile = acc.finish(old_order);
    model.renumber(&new_id);
    let sil = metrics::silhouette(
        &sample,
        &sample_labels,
        k,
        limits.silhouette_rows,
        options.seed(),
        limits.threads,
        check,
    );
    let report = FitReport {
        gamma: None,
        k,
        rows_used,
        rows_skipped,
        inertia,
        silhouette: sil.map(|(s, _)| s),
        silhouette_rows: sil.map_or(0, |(_, m)| m as u64),
        iterations: Some(epochs),
        converged,
        rows_fitted: rows_used,
        rows_noise: 0,
        log_likelihood: None,
        bic: None,
        centre_agreement: None,
        near_constant: moments.near_constant(columns),
    };
    Ok((model, report))
}

/// Steps 2 and 3 of mini-batch k-means: the best of n_init k-means fits on the sample, then
/// `epochs` passes of mini-batch updates. Returns the centres (row-major), epochs run and convergence.
#[allow(clippy::too_many_arguments)]
fn epochs(
    scan: &mut Scan<'_>,
    sample: &FeatureMatrix,
    model: &mut SegmentModel,
    tol: f64,
    minibatch: &MiniBatchMethod,
    seed: u64,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<(Vec<f64>, u32, bool)> {
    let d = sample.n_cols();
    let k = minibatch.k();
    let starts = minibatch.starts();
    let start = kmeans::fit(
        sample,
        &KMeansParams {
            k,
            n_init: starts.n_init(),
            max_iter: starts.max_iter(),
            tol: starts.tol(),
            seed,
            threads: limits.threads,
        },
        check,
    )?;
    model.centres = (0..k).map(|c| start.centres.row(c).to_vec()).collect();
    let batch_size = minibatch.batch_size();
    let mut centres: Vec<f64> = model.centres.concat();
    let mut counts = vec![0.0f64; k];
    let mut batch: Vec<f64> = Vec::with_capacity(batch_size * d);
    let mut epochs = 0;
    let mut converged = false;
    let mut scratch = vec![0.0; k];
    let mut row = vec![0.0; d];
    let prepare = model.assigner();
    let mut pace = Pace::new(check);
    while epochs < minibatch.epochs() && !converged {
        pace.check();
        let before = centres.clone();
        // One update per full batch, and one for the rest at the end of the pass.
        let mut update = |batch: &mut Vec<f64>, pace: &mut Pace| {
            minibatch::step(&mut centres, &mut counts, batch, d, &mut scratch, pace);
            batch.clear();
        };
        scan(&mut |values| {
            fill_nan(&mut row, values, prepare.columns())?;
            if prepare.scale_raw(&mut row)? {
                batch.extend_from_slice(&row);
                if batch.len() == batch_size * d {
                    update(&mut batch, &mut pace);
                }
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            update(&mut batch, &mut pace);
        }
        epochs += 1;
        let shift: f64 = centres
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        converged = shift <= tol;
    }
    Ok((centres, epochs, converged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fit::fit_model;
    use crate::prep::builder::MatrixBuilder;
    use crate::prep::preprocessor::fit_matrix;

    const LIMITS: Limits = Limits {
        threads: 1,
        silhouette_rows: 10_000,
    };

    fn rows() -> Vec<[f64; 2]> {
        // Three well separated groups, deterministic jitter.
        let mut rows = Vec::new();
        for i in 0..3000 {
            let g = (i % 3) as f64;
            let jitter = ((i * 7919) % 101) as f64 / 101.0 - 0.5;
            let other = ((i * 104729) % 97) as f64 / 97.0 - 0.5;
            rows.push([g * 10.0 + jitter, g * -5.0 + other]);
        }
        rows
    }

    #[test]
    fn streams_to_the_same_segments_as_in_memory_k_means() {
        let data = rows();
        let names = vec!["x".to_string(), "y".to_string()];
        let options = FitOptions::for_fit(
            r#"{"method": "minibatch_kmeans", "sample_rows": 500, "epochs": 3}"#,
            Some(3),
        )
        .unwrap();
        let mut passes = 0;
        let mut scan = |f: &mut dyn FnMut(&[Option<f64>]) -> CoreResult<()>| {
            passes += 1;
            for r in &data {
                f(&[Some(r[0]), Some(r[1])])?;
            }
            Ok(())
        };
        let (model, report) = fit(
            Refinement::MiniBatch,
            &mut scan,
            names.clone(),
            vec![None, None],
            &options,
            LIMITS,
            usize::MAX,
            &mut || {},
        )
        .unwrap();
        assert_eq!(report.rows_used, 3000);
        assert!(report.iterations.unwrap() >= 1 && report.iterations.unwrap() <= 3);
        assert_eq!(model.profile.sizes, vec![1000, 1000, 1000]);

        // The in-memory k-means on the same rows: same inertia within 0.1%, same segments.
        let mut b = MatrixBuilder::new(names.clone(), ImputeMethod::Skip, usize::MAX);
        for r in &data {
            b.push(&[Some(r[0]), Some(r[1])]).unwrap();
        }
        let kopts = FitOptions::for_fit("{}", Some(3)).unwrap();
        let (full, full_report, _) = fit_model(
            fit_matrix(b.finish().unwrap(), kopts.scale()),
            names,
            vec![],
            &kopts,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert!(
            (report.inertia / full_report.inertia - 1.0).abs() < 1e-3,
            "{} vs {}",
            report.inertia,
            full_report.inertia
        );
        let (a, b) = (model.assigner(), full.assigner());
        let mut s = vec![0.0; 3];
        let same = data
            .iter()
            .filter(|r| {
                let x = a.assign(&mut r.to_vec(), &mut s).unwrap();
                let y = b.assign(&mut r.to_vec(), &mut s).unwrap();
                x == y
            })
            .count();
        assert_eq!(same, 3000);
        // Means over every row are exact (streamed), within floating error.
        for (m, f) in model.profile.means.iter().zip(&full.profile.means) {
            assert!((m[0] - f[0]).abs() < 1e-9 && (m[1] - f[1]).abs() < 1e-9);
        }
    }

    #[test]
    fn medians_and_robust_scaling_are_refused() {
        let minibatch = |text: &str| {
            let mut o: serde_json::Value = serde_json::from_str(text).unwrap();
            o["method"] = "minibatch_kmeans".into();
            FitOptions::for_fit(&o.to_string(), Some(3)).unwrap()
        };
        assert!(check_options(&minibatch("{}")).is_ok());
        assert!(check_options(&minibatch(r#"{"scale": "robust"}"#)).is_err());
        assert!(check_options(&minibatch(r#"{"impute": "median"}"#)).is_err());
        // In-memory methods and k-means scans are not streamed.
        let gmm = FitOptions::for_fit(r#"{"method": "gmm"}"#, Some(3)).unwrap();
        assert!(check_options(&gmm).is_err());
        assert!(check_options(&FitOptions::for_fit("{}", None).unwrap()).is_err());
    }
}
