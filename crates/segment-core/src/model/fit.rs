//! From a built matrix to a stored model and its fit report: scaling, the chosen method,
//! canonical segment order, profile and metrics (k chosen first by `model::choose_k` when a
//! k-means fit scans a range). The SQL shell calls `fit_model`.

use crate::analysis::metrics;
use crate::analysis::profile::Profile;
use crate::cluster::dbscan::NOISE;
use crate::cluster::kmeans::{self, Centres, KChoice};
use crate::cluster::ward::WardSample;
use crate::cluster::{constrained, dbscan, gmm, kprototypes, ward};
use crate::error::{CoreError, CoreResult};
use crate::model::anomaly::AnomalyThreshold;
use crate::model::assigner;
use crate::model::choose_k::{auto_k, KScore};
use crate::model::document::{Method, MethodRule, SegmentModel, FORMAT_VERSION};
use crate::model::limits::Limits;
use crate::model::options::{FitOptions, MethodParams};
use crate::model::warm_start::{warm_start, WarmStart};
use crate::parallel::{self, ROW_ITEM};
use crate::prep::encoding::{column_log_mask, Columns};
use crate::prep::matrix::FeatureMatrix;
use crate::prep::preprocessor::Prepared;
use crate::prep::scaling::NearConstant;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    pub k: usize,
    pub rows_used: u64,
    pub rows_skipped: u64,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    /// Rows the silhouette was computed on (less than rows_used when sampled).
    pub silhouette_rows: u64,
    /// Lloyd iterations of the winning k-means start (None for other methods).
    pub iterations: Option<u32>,
    pub converged: bool,
    /// Rows the method was fitted on (a seeded sample when fewer than rows_used).
    pub rows_fitted: u64,
    /// Training rows in no segment (DBSCAN noise).
    pub rows_noise: u64,
    /// Gaussian mixtures: mean log-likelihood per row (scaled units) and the BIC.
    pub log_likelihood: Option<f64>,
    pub bic: Option<f64>,
    /// Hierarchical: adjusted Rand index between the dendrogram's segments of the fitted rows
    /// and the nearest-centre segments `segment_assign` gives them (Ward segments are not
    /// Voronoi cells, so the two differ).
    pub centre_agreement: Option<f64>,
    /// k-prototypes: the weight of one mismatched category (`inertia` is then the k-prototypes
    /// cost).
    pub gamma: Option<f64>,
    /// The (nearly) constant feature columns, left unscaled: the shell warns about each.
    pub near_constant: Vec<NearConstant>,
}

/// The numbers of `segment_fit`'s row for one fitted model (or, summed, a per-group model).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitSummary {
    pub segments: usize,
    pub rows_used: u64,
    pub rows_skipped: u64,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub iterations: Option<u32>,
    pub silhouette_rows: u64,
    pub rows_fitted: u64,
}

impl FitReport {
    pub fn summary(&self) -> FitSummary {
        FitSummary {
            segments: self.k,
            rows_used: self.rows_used,
            rows_skipped: self.rows_skipped,
            inertia: self.inertia,
            silhouette: self.silhouette,
            iterations: self.iterations,
            silhouette_rows: self.silhouette_rows,
            rows_fitted: self.rows_fitted,
        }
    }
}

/// New ids so that segment 0 is the largest (ties: lower centre first), whatever the start
/// that won: `new_id[segment]`. `NOISE` labels are not counted.
pub fn canonical_order(labels: &[u32], centres: &[Vec<f64>]) -> Vec<u32> {
    let mut counts = vec![0u64; centres.len()];
    for &l in labels.iter().filter(|&&l| l != NOISE) {
        counts[l as usize] += 1;
    }
    order_from_counts(&counts, centres)
}

/// `canonical_order` from the rows per segment.
pub fn order_from_counts(counts: &[u64], centres: &[Vec<f64>]) -> Vec<u32> {
    let k = centres.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        counts[b].cmp(&counts[a]).then_with(|| {
            centres[a]
                .iter()
                .zip(&centres[b])
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_id = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new as u32;
    }
    new_id
}

/// Mean of the rows of each label `0..k` (NOISE ignored): the centre of a segment found by a
/// method that has none of its own.
fn label_means(x: &FeatureMatrix, labels: &[u32], k: usize) -> Vec<Vec<f64>> {
    let d = x.n_cols();
    let mut sums = vec![vec![0.0; d]; k];
    let mut counts = vec![0usize; k];
    for (row, &l) in x.rows().zip(labels) {
        if l != NOISE {
            counts[l as usize] += 1;
            sums[l as usize]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s += v);
        }
    }
    for (s, &c) in sums.iter_mut().zip(&counts) {
        s.iter_mut().for_each(|v| *v /= c.max(1) as f64);
    }
    sums
}

/// k-prototypes reads categories as categories: their one-hot columns go back to 0 and 1 (the
/// fit's scaler leaves them so from now on, and the profile's means of them are shares). Refuses
/// rows without a text or boolean feature: that is k-means.
fn unscale_categories(
    matrix: &mut FeatureMatrix,
    scaler: &mut crate::prep::scaling::Scaler,
    categories: &[Option<Vec<String>>],
    features: &[String],
) -> CoreResult<()> {
    let (_, slices) = Columns::of(features, categories).split(categories);
    let one_hot: Vec<usize> = slices
        .into_iter()
        .flat_map(|(start, len)| start..start + len)
        .collect();
    if one_hot.is_empty() {
        return Err(CoreError::invalid_parameter(
            "method kprototypes needs at least one text or boolean feature; these are all numeric",
        )
        .with_hint("With numbers only, k-prototypes is k-means: use method kmeans, or name a categorical column in the categorical option."));
    }
    let d = matrix.n_cols();
    for row in matrix.as_mut_slice().chunks_exact_mut(d) {
        for &j in &one_hot {
            // (v - o) / s * s + o need not give 0 or 1 back exactly: snap them, so that a row
            // reads as the same category here as in segment_assign (whose scale is 1 on them).
            let v = scaler.inverse_value(j, row[j]);
            row[j] = if (v - v.round()).abs() < 1e-9 {
                v.round()
            } else {
                v
            };
        }
    }
    for &j in &one_hot {
        scaler.offset[j] = 0.0;
        scaler.scale[j] = 1.0;
    }
    Ok(())
}

/// The rows as k-prototypes takes them: scaled numbers, and each categorical feature's category
/// (the one-hot column of the highest value).
fn mixed_rows(
    x: &FeatureMatrix,
    columns: &Columns,
    categories: &[Option<Vec<String>>],
) -> kprototypes::Mixed {
    let (numeric, slices) = columns.split(categories);
    let mut mixed = kprototypes::Mixed {
        p: numeric.len(),
        numbers: Vec::with_capacity(x.n_rows() * numeric.len()),
        levels: slices.iter().map(|&(_, len)| len).collect(),
        codes: Vec::with_capacity(x.n_rows() * slices.len()),
    };
    for row in x.rows() {
        mixed.numbers.extend(numeric.iter().map(|&j| row[j]));
        mixed
            .codes
            .extend(slices.iter().map(|&s| assigner::category_of(row, s)));
    }
    mixed
}

/// Centres on the matrix columns as k-prototypes' prototypes (`prototype_centres` backwards):
/// the numbers, and each category's mode (its one-hot column of the highest value).
fn start_prototypes(
    centres: &[Vec<f64>],
    columns: &Columns,
    categories: &[Option<Vec<String>>],
    gamma: f64,
) -> kprototypes::Prototypes {
    let (numeric, slices) = columns.split(categories);
    let mut p = kprototypes::Prototypes {
        p: numeric.len(),
        q: slices.len(),
        gamma,
        numbers: Vec::with_capacity(centres.len() * numeric.len()),
        modes: Vec::with_capacity(centres.len() * slices.len()),
    };
    for centre in centres {
        p.numbers.extend(numeric.iter().map(|&j| centre[j]));
        p.modes
            .extend(slices.iter().map(|&s| assigner::category_of(centre, s)));
    }
    p
}

/// Prototypes as centres on the matrix columns: the numbers, and each mode as a one-hot 1.
fn prototype_centres(
    p: &kprototypes::Prototypes,
    columns: &Columns,
    categories: &[Option<Vec<String>>],
) -> Vec<Vec<f64>> {
    (0..p.k())
        .map(|c| {
            let mut centre = vec![0.0; columns.width()];
            let (mut num, mut cat) = (0, 0);
            for (j, &at) in columns.offsets.iter().enumerate() {
                if categories.get(j).and_then(|c| c.as_ref()).is_some() {
                    centre[at + p.modes[c * p.q + cat] as usize] = 1.0;
                    cat += 1;
                } else {
                    centre[at] = p.numbers[c * p.p + num];
                    num += 1;
                }
            }
            centre
        })
        .collect()
}

/// `f(row, scratch)` of every row of `x` (`scratch` holds `k` values), on threads in small items
/// of rows with `check` between them: per-row outputs, so the item size changes nothing.
fn each_row<T: Copy + Default + Send>(
    x: &FeatureMatrix,
    k: usize,
    threads: usize,
    check: &mut dyn FnMut(),
    f: impl Fn(&[f64], &mut [f64]) -> T + Sync,
) -> Vec<T> {
    let d = x.n_cols();
    let mut out = vec![T::default(); x.n_rows()];
    let mut items: Vec<_> = x
        .as_slice()
        .chunks(ROW_ITEM * d)
        .zip(out.chunks_mut(ROW_ITEM))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(rows, out)| {
        let mut scratch = vec![0.0; k];
        for (row, o) in rows.chunks_exact(d).zip(out.iter_mut()) {
            *o = f(row, &mut scratch);
        }
    });
    out
}

/// Fits the method and k of the options (a k-means scan first picks k: its scores are returned
/// for the model's metrics), assigns every training row with the stored rule (so the profile
/// describes what `segment_assign` gives), orders segments largest first, and scores the result.
pub fn fit_model(
    prepared: Prepared,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    options: &FitOptions,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<(SegmentModel, FitReport, Option<Vec<KScore>>)> {
    fit_labelled(
        prepared, features, categories, options, None, limits, true, check,
    )
    .map(|(model, report, scores, _)| (model, report, scores))
}

/// `fit_model`, starting from `previous` (the current version) when the options ask for a warm
/// start (`model::warm_start`): k-means, k-prototypes and gmm run once from its parameters
/// mapped into this fit's units. `previous` is required then, and ignored otherwise.
pub fn fit_model_from(
    prepared: Prepared,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    options: &FitOptions,
    previous: Option<&SegmentModel>,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<(SegmentModel, FitReport, Option<Vec<KScore>>)> {
    fit_labelled(
        prepared, features, categories, options, previous, limits, true, check,
    )
    .map(|(model, report, scores, _)| (model, report, scores))
}

/// A fitted model, its report, a k-means scan's scores and every row's segment.
type Labelled = (SegmentModel, FitReport, Option<Vec<KScore>>, Vec<u32>);

/// `fit_model_from`, also returning every row's segment (canonical ids, `NOISE` for DBSCAN
/// noise). With `scored` false the extras are left out (profile, silhouette, the dendrogram's
/// agreement, the mixture's log-likelihood, the anomaly threshold: `Profile::empty()` and None in
/// their place): what a refit on a bootstrap sample needs (`model::stability`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_labelled(
    prepared: Prepared,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    options: &FitOptions,
    previous: Option<&SegmentModel>,
    limits: Limits,
    scored: bool,
    check: &mut dyn FnMut(),
) -> CoreResult<Labelled> {
    let (options, scores) = match options.params() {
        MethodParams::Kmeans(p) if options.warm_start() && matches!(p.k(), KChoice::Scan(_)) => {
            return Err(CoreError::invalid_parameter(
                "option warm_start keeps the current version's k: k must be given",
            ))
        }
        MethodParams::Kmeans(p) if matches!(p.k(), KChoice::Scan(_)) => {
            let (k, scores) = auto_k(&prepared, options, limits, check)?;
            (options.with_k(k)?, Some(scores))
        }
        _ => (options.clone(), None),
    };
    let options = &options;
    let Prepared {
        mut matrix,
        mut scaler,
        imputer,
        rows_skipped,
        near_constant,
    } = prepared;
    let n = matrix.n_rows();
    if options.method() == Method::Kprototypes {
        unscale_categories(&mut matrix, &mut scaler, &categories, &features)?;
    }
    options.log_mask(&features)?; // every name in log is a feature
    let log_mask = column_log_mask(&features, &categories, options.log())?;
    let sampled_rows: Option<Vec<usize>> =
        options.sample_limit().filter(|&s| n as u64 > s).map(|s| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed());
            let mut idx = sample(&mut rng, n, s as usize).into_vec();
            idx.sort_unstable();
            idx
        });
    let sampled = sampled_rows.as_ref().map(|rows| matrix.select_rows(rows));
    let fit_on = sampled.as_ref().unwrap_or(&matrix);
    let rows_fitted = fit_on.n_rows() as u64;
    // k was checked with the options; here against the rows.
    let rows_for = |k: usize| kmeans::check_k(k, fit_on.n_rows()).map(|()| k);
    let (seed, threads) = (options.seed(), limits.threads);
    let warm = match (options.warm_start(), previous) {
        (false, _) => None,
        (true, None) => {
            return Err(CoreError::new(
                crate::error::ErrorKind::InvalidParameter,
                "option warm_start needs a current version to start from",
            )
            .with_hint("Fit the model once without warm_start."))
        }
        (true, Some(previous)) => Some(warm_start(
            previous,
            options.method().name(),
            options.k().unwrap_or(0),
            &Columns::of(&features, &categories),
            &log_mask,
            &scaler,
        )?),
    };

    let mut kmeans_result = None;
    let mut prototypes_result = None;
    let mut ward_labels = None;
    let mut mixture_converged = None;
    let mut density_labels = None;
    let (centres, rule) = match options.params() {
        MethodParams::Kmeans(p) => {
            let KChoice::Given(k) = p.k() else {
                return Err(CoreError::invalid_parameter(
                    "k-means has no k after its scan",
                ));
            };
            let lloyd = p.lloyd(rows_for(k)?, seed, threads);
            let fit = match &warm {
                Some(w) => {
                    let d = fit_on.n_cols();
                    let start = Centres::new(w.centres.concat(), d);
                    kmeans::fit_from(fit_on, start, &lloyd, check)?
                }
                // Segments within size bounds: their labels are the training labels.
                None if p.shares().is_set() => {
                    let bounds = p.shares().rows(fit_on.n_rows(), k);
                    constrained::fit(fit_on, &lloyd, bounds, check)?
                }
                None => kmeans::fit(fit_on, &lloyd, check)?,
            };
            let centres = (0..fit.centres.k())
                .map(|c| fit.centres.row(c).to_vec())
                .collect();
            kmeans_result = Some(fit);
            (centres, MethodRule::Kmeans)
        }
        MethodParams::Gmm(p) => {
            rows_for(p.k())?;
            let em = p.em(seed, threads);
            let fit = match &warm {
                Some(WarmStart {
                    centres,
                    mixture: Some(mixture),
                }) => gmm::fit_from(fit_on, mixture, centres, &em, check)?,
                _ => gmm::fit(fit_on, &em, check)?,
            };
            mixture_converged = Some(fit.converged);
            (
                fit.means,
                MethodRule::Gmm {
                    mixture: fit.mixture,
                },
            )
        }
        MethodParams::Hierarchical(p) => {
            let k = rows_for(p.k())?;
            let labels = ward::ward(fit_on, k, check);
            let centres = label_means(fit_on, &labels, k);
            let sample = WardSample::new(fit_on, &labels);
            ward_labels = Some(labels);
            (
                centres,
                MethodRule::Hierarchical {
                    sample: Some(sample),
                },
            )
        }
        MethodParams::Kprototypes(p) => {
            rows_for(p.k())?;
            let columns = Columns::of(&features, &categories);
            let mixed = mixed_rows(fit_on, &columns, &categories);
            let gamma = p
                .gamma()
                .unwrap_or_else(|| kprototypes::default_gamma(&mixed));
            let params = p.params(gamma, seed, threads);
            let fit = match &warm {
                Some(w) => {
                    let start = start_prototypes(&w.centres, &columns, &categories, gamma);
                    kprototypes::fit_from(&mixed, start, &params, check)?
                }
                None => kprototypes::fit(&mixed, &params, check)?,
            };
            let centres = prototype_centres(&fit.prototypes, &columns, &categories);
            prototypes_result = Some(fit);
            (centres, MethodRule::Kprototypes { gamma })
        }
        MethodParams::MinibatchKmeans(_) => {
            return Err(CoreError::invalid_parameter(
                "method minibatch_kmeans streams the source (model::streaming), not a matrix",
            ))
        }
        MethodParams::Dbscan(p) => {
            let fit = dbscan::fit(fit_on, p.eps(), p.min_points(), threads, check)?;
            let centres = label_means(fit_on, &fit.labels, fit.k);
            density_labels = Some((fit.labels, fit.core));
            (
                centres,
                MethodRule::Dbscan {
                    density: fit.density,
                },
            )
        }
    };
    check();
    let k = centres.len();
    let log = features
        .iter()
        .filter(|f| options.log().contains(f))
        .cloned()
        .collect();
    let mut model = SegmentModel {
        format_version: FORMAT_VERSION,
        features,
        categories,
        log,
        imputer,
        scaler,
        centres,
        rule,
        profile: Profile::empty(),
        anomaly: None,
        weights: None,
    };

    // Every training row through the model's own rule (k-means on every row already has it).
    // On threads, in small items of rows (per-row outputs: the item size changes nothing) with
    // an interrupt check between them: a row of DBSCAN measures the core points near it, of
    // Ward the fitted rows near it, of a mixture every component.
    let assigner = model.assigner();
    let threads = limits.threads;
    let label_of = |row: &[f64], scratch: &mut [f64]| assigner.label_scaled(row, scratch);
    let mut labels = match (&kmeans_result, &sampled_rows, density_labels) {
        (Some(fit), None, _) => fit.labels.clone(),
        (_, _, Some((fitted, core))) => {
            // DBSCAN: a fitted core or noise row already has the label the rule gives it (see
            // `dbscan::DensityFit::core`); only border rows and rows outside the sample are
            // measured. Measuring every row took 117-142 ms of a 290 ms fit of 5,000 bench
            // rows (eps 1.5, one run, 2 cores).
            let mut known = vec![None; n];
            let at = |j: usize| sampled_rows.as_ref().map_or(j, |rows| rows[j]);
            for (j, (&l, &is_core)) in fitted.iter().zip(&core).enumerate() {
                if is_core || l == NOISE {
                    known[at(j)] = Some(l);
                }
            }
            let rest: Vec<usize> = (0..n).filter(|&i| known[i].is_none()).collect();
            let measured = each_row(&matrix.select_rows(&rest), k, threads, check, label_of);
            for (&i, l) in rest.iter().zip(measured) {
                known[i] = Some(l);
            }
            known.into_iter().map(|l| l.unwrap_or(NOISE)).collect()
        }
        _ => each_row(&matrix, k, threads, check, label_of),
    };
    let centre_agreement = match ward_labels {
        Some(dendrogram) if scored => {
            let nearest = each_row(fit_on, k, threads, check, label_of);
            Some(metrics::adjusted_rand_index(&dendrogram, &nearest))
        }
        _ => None,
    };
    // Every training row's anomaly score (DBSCAN has none: its noise rows are its anomalies);
    // the threshold above which the contamination share of them lies is stored. A refit that is
    // not scored (`model::stability`) needs neither.
    let anomaly_scores = match model.rule {
        MethodRule::Dbscan { .. } => None,
        _ if !scored => None,
        _ => Some(each_row(&matrix, k, threads, check, |row, out| {
            assigner.anomaly_score_scaled(row, out).1
        })),
    };
    let is_mixture = matches!(model.rule, MethodRule::Gmm { .. });
    let log_likelihood = match &anomaly_scores {
        // A mixture's score is the row's negative log-likelihood, added in row order as one
        // pass over the rows would.
        Some(scores) if is_mixture => Some(-scores.iter().sum::<f64>() / n as f64),
        _ => None,
    };
    model.anomaly = anomaly_scores.and_then(|s| AnomalyThreshold::of(s, options.contamination()));
    check();
    let new_id = canonical_order(&labels, &model.centres);
    model.renumber(&new_id);
    for l in labels.iter_mut().filter(|l| **l != NOISE) {
        *l = new_id[*l as usize];
    }
    if scored {
        model.profile =
            Profile::measure_checked(&matrix, &labels, k, &model.scaler, &log_mask, check);
    }

    let rows_noise = labels.iter().filter(|&&l| l == NOISE).count() as u64;
    // k-prototypes: distances weigh a category mismatch γ. The silhouette is measured on the
    // one-hot columns times sqrt(γ / 2), where the squared distance between two rows is their
    // dissimilarity.
    let gamma = prototypes_result.as_ref().map(|f| f.prototypes.gamma);
    let weighted = assigner.distance_weights().filter(|_| scored).map(|w| {
        let mut out = matrix.clone();
        for row in out.as_mut_slice().chunks_exact_mut(w.len()) {
            row.iter_mut().zip(&w).for_each(|(v, f)| *v *= f);
        }
        out
    });
    let matrix_for_scores = weighted.as_ref().unwrap_or(&matrix);
    let inertia = match (&kmeans_result, &prototypes_result, &sampled_rows) {
        (Some(fit), _, None) => fit.inertia,
        (_, Some(fit), None) => fit.cost,
        _ => matrix
            .rows()
            .zip(&labels)
            .filter(|(_, &l)| l != NOISE)
            .map(|(row, &l)| {
                row.iter()
                    .zip(&model.centres[l as usize])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            })
            .sum(),
    };
    check();
    let sil = if !scored {
        None
    } else if rows_noise > 0 {
        let kept: Vec<usize> = (0..n).filter(|&i| labels[i] != NOISE).collect();
        let kept_labels: Vec<u32> = kept.iter().map(|&i| labels[i]).collect();
        metrics::silhouette(
            &matrix.select_rows(&kept),
            &kept_labels,
            k,
            limits.silhouette_rows,
            seed,
            limits.threads,
            check,
        )
    } else {
        metrics::silhouette(
            matrix_for_scores,
            &labels,
            k,
            limits.silhouette_rows,
            seed,
            limits.threads,
            check,
        )
    };
    let d = model.columns().width();
    let bic = log_likelihood.map(|ll| {
        // Free parameters of a full-covariance mixture: weights, means, covariances.
        let p = (k - 1) + k * d + k * d * (d + 1) / 2;
        -2.0 * ll * n as f64 + p as f64 * (n as f64).ln()
    });
    let report = FitReport {
        k,
        rows_used: n as u64,
        rows_skipped,
        inertia,
        silhouette: sil.map(|(s, _)| s),
        silhouette_rows: sil.map_or(0, |(_, m)| m as u64),
        iterations: kmeans_result
            .as_ref()
            .map(|f| f.iterations)
            .or(prototypes_result.as_ref().map(|f| f.iterations)),
        converged: kmeans_result.as_ref().is_none_or(|f| f.converged)
            && prototypes_result.as_ref().is_none_or(|f| f.converged)
            && mixture_converged.unwrap_or(true),
        gamma,
        rows_fitted,
        rows_noise,
        log_likelihood,
        bic,
        centre_agreement,
        near_constant,
    };
    Ok((model, report, scores, labels))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::prep::builder::{BuiltMatrix, MatrixBuilder};
    use crate::prep::preprocessor::fit_matrix;
    use crate::prep::scaling::{ImputeMethod, ScaleMethod};

    pub(crate) fn built(rows: &[[f64; 2]]) -> BuiltMatrix {
        let mut b =
            MatrixBuilder::new(vec!["x".into(), "y".into()], ImputeMethod::Skip, usize::MAX);
        for r in rows {
            b.push(&[Some(r[0]), Some(r[1])]).unwrap();
        }
        b.finish().unwrap()
    }

    pub(crate) const LIMITS: Limits = Limits {
        threads: 1,
        silhouette_rows: 10_000,
    };

    /// Options of a fit (`segment_fit`'s options and k).
    pub(crate) fn options(text: &str, k: Option<i64>) -> FitOptions {
        FitOptions::for_fit(text, k).unwrap()
    }

    /// Options of a k-means scan over k_min..=k_max (`segment_choose_k`'s).
    pub(crate) fn scan_options(k_min: i64, k_max: i64) -> FitOptions {
        FitOptions::for_choose_k("{}", k_min, k_max).unwrap()
    }

    /// Rows on a 100 x 100 grid with some spread, `n` of them.
    pub(crate) fn grid(n: usize) -> Prepared {
        let rows: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let jitter = ((i * 7919) % 1000) as f64 / 1000.0;
                [(i % 100) as f64 + jitter, ((i / 100) % 100) as f64 - jitter]
            })
            .collect();
        fit_matrix(built(&rows), ScaleMethod::Zscore)
    }

    #[test]
    fn every_row_is_labelled_with_checks() {
        for options in [
            r#"{"method": "dbscan", "eps": 0.3, "sample_rows": 500}"#,
            r#"{"method": "hierarchical", "sample_rows": 500}"#,
        ] {
            let k = options.contains("hierarchical").then_some(3);
            let options = FitOptions::for_fit(options, k).unwrap();
            let fit = |n: usize, check: &mut dyn FnMut()| {
                let _ = fit_model(
                    grid(n),
                    vec!["x".into(), "y".into()],
                    vec![],
                    &options,
                    Limits {
                        threads: 2,
                        silhouette_rows: 1000,
                    },
                    check,
                );
            };
            let small = parallel::testing::checks(|check| fit(10_000, check));
            let large = parallel::testing::checks(|check| fit(50_000, check));
            // Only the calling thread checks, between its own items: on a loaded machine the other
            // thread may take more than half of them, so the floor is a quarter of the items.
            assert!(
                large >= 50_000 / ROW_ITEM / 4 && large > small,
                "{}: {small} {large}",
                options.method().name()
            );
            parallel::testing::stops_at(large / 2, |check| fit(50_000, check));
        }
    }

    #[test]
    fn each_row_checks_between_items() {
        let x = FeatureMatrix::from_rows((0..10 * ROW_ITEM).map(|i| i as f64).collect(), 1);
        let mut out = Vec::new();
        let calls = parallel::testing::checks(|check| {
            out = each_row(&x, 1, 1, check, |row, _| row[0] as u32 + 1);
        });
        assert_eq!(calls, 10);
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as u32 + 1));
    }

    #[test]
    fn log_option_profiles_raw_means_and_assigns_raw_rows() {
        // x spans orders of magnitude; in log units the two groups are {1, 3} and {999, 2999}.
        let rows = [[1.0, 0.0], [3.0, 0.0], [999.0, 0.0], [2999.0, 0.0]];
        let options = options(r#"{"log": ["x"], "scale": "none"}"#, Some(2));
        let mut b =
            MatrixBuilder::new(vec!["x".into(), "y".into()], ImputeMethod::Skip, usize::MAX)
                .with_log(vec![true, false]);
        for r in &rows {
            b.push(&[Some(r[0]), Some(r[1])]).unwrap();
        }
        let prepared = fit_matrix(b.finish().unwrap(), options.scale());
        let (model, _, _) = fit_model(
            prepared,
            vec!["x".into(), "y".into()],
            vec![],
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(model.log, vec!["x".to_string()]);
        let mut means: Vec<f64> = model.profile.means.iter().map(|m| m[0]).collect();
        means.sort_by(f64::total_cmp);
        assert!(
            (means[0] - 2.0).abs() < 1e-9 && (means[1] - 1999.0).abs() < 1e-9,
            "{means:?}"
        );
        assert!((model.profile.overall_mean[0] - 1000.5).abs() < 1e-9);
        // Centre of {1, 3} in log units is (ln 2 + ln 4) / 2 = ln(sqrt 8): exp - 1 = 2 sqrt 2 - 1.
        let mut c: Vec<f64> = model.centres_original().iter().map(|c| c[0]).collect();
        c.sort_by(f64::total_cmp);
        assert!((c[0] - (8f64.sqrt() - 1.0)).abs() < 1e-9, "{c:?}");
        let a = model.assigner();
        let mut s = vec![0.0; 2];
        let low = a.assign(&mut [2.0, 0.0], &mut s).unwrap();
        let high = a.assign(&mut [1500.0, 0.0], &mut s).unwrap();
        assert_ne!(low, high);
        assert!(a.assign(&mut [-1.0, 0.0], &mut s).is_err());
    }

    #[test]
    fn profile_and_order_by_hand() {
        // Three rows near (0, 0) and two near (10, 100): segment 0 is the larger group.
        let rows = [
            [0.0, 0.0],
            [1.0, 0.0],
            [2.0, 3.0],
            [10.0, 100.0],
            [12.0, 100.0],
        ];
        let (model, report, _) = fit_model(
            fit_matrix(built(&rows), ScaleMethod::Zscore),
            vec!["x".into(), "y".into()],
            vec![],
            &options("{}", Some(2)),
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(model.profile.sizes, vec![3, 2]);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        assert!(close(&model.profile.means[0], &[1.0, 1.0]));
        assert!(close(&model.profile.means[1], &[11.0, 100.0]));
        assert!(close(&model.profile.overall_mean, &[5.0, 40.6]));
        // population sd of x: values 0,1,2,10,12 around 5 -> sqrt((25+16+9+25+49)/5)
        assert!((model.profile.overall_sd[0] - 24.8f64.sqrt()).abs() < 1e-9);
        // Centres in original units equal the segment means once converged.
        for (c, m) in model.centres_original().iter().zip(&model.profile.means) {
            assert!(close(c, m));
        }
        assert_eq!((report.rows_used, report.rows_skipped, report.k), (5, 0, 2));
        assert!(report.silhouette.unwrap() > 0.5);
        assert_eq!(report.silhouette_rows, 5);
        // Assigning the training rows gives the training labels.
        let a = model.assigner();
        let mut s = vec![0.0; 2];
        let got: Vec<u32> = rows
            .iter()
            .map(|r| a.assign(&mut r.clone(), &mut s).unwrap().unwrap())
            .collect();
        assert_eq!(got, vec![0, 0, 0, 1, 1]);
    }

    /// Size bounds through the whole fit: 990 rows in a cloud and 10 far away make plain k-means
    /// segments of 990 and 10 rows; with min_share 0.2 every segment holds at least 200 of
    /// them. The profile describes those training segments (largest first), the reported
    /// inertia is their cost, and the model assigns a new row to its nearest centre.
    #[test]
    fn size_bounds_hold_on_the_training_rows() {
        let mut rows: Vec<[f64; 2]> = (0..990)
            .map(|i| [(i % 33) as f64 * 0.1, (i / 33) as f64 * 0.1])
            .collect();
        rows.extend((0..10).map(|i| [50.0 + i as f64, 50.0]));
        let fit = |text: &str| {
            fit_model(
                fit_matrix(built(&rows), ScaleMethod::Zscore),
                vec!["x".into(), "y".into()],
                vec![],
                &options(text, Some(2)),
                LIMITS,
                &mut || {},
            )
            .unwrap()
        };
        let (plain, _, _) = fit("{}");
        assert_eq!(plain.profile.sizes, vec![990, 10]);
        let (model, report, _) = fit(r#"{"min_share": 0.2, "n_init": 3}"#);
        assert_eq!(model.profile.sizes, vec![800, 200]);
        assert!(report.converged);
        // The cost of the training segments at the stored centres, recomputed.
        let prepared = fit_matrix(built(&rows), ScaleMethod::Zscore);
        let centres = &model.centres;
        let mut costs: Vec<(f64, f64)> = prepared
            .matrix
            .rows()
            .map(|r| {
                let d = |c: &Vec<f64>| (r[0] - c[0]).powi(2) + (r[1] - c[1]).powi(2);
                (d(&centres[0]), d(&centres[1]))
            })
            .collect();
        // The 200 rows of segment 1 are those that give up least by leaving segment 0.
        costs.sort_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
        let by_hand: f64 = costs[..200].iter().map(|c| c.1).sum::<f64>()
            + costs[200..].iter().map(|c| c.0).sum::<f64>();
        assert!(
            (by_hand - report.inertia).abs() <= 1e-9 * by_hand,
            "{by_hand} {}",
            report.inertia
        );
        // New rows: the nearest centre.
        let a = model.assigner();
        let mut s = vec![0.0; 2];
        assert_eq!(a.assign(&mut [55.0, 50.0], &mut s).unwrap(), Some(1));
        let back = SegmentModel::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
    }

    /// Ward's clusters are not Voronoi cells: on two long parallel bands Ward's cut at k = 2 is
    /// 64 / 56 rows along the bands, and nearest centres would move some of them (adjusted Rand
    /// index 0.93 against the dendrogram, computed with scikit-learn). Assign follows the
    /// dendrogram: every fitted row gets the segment Ward gave it, and a new row the segment of
    /// its nearest fitted row.
    #[test]
    fn hierarchical_assign_reproduces_the_dendrogram() {
        let mut rows = Vec::new();
        for i in 0..60 {
            let x = i as f64 * 0.5;
            rows.push([x, 0.0]);
            rows.push([x, 3.0]);
        }
        let options = options(r#"{"method": "hierarchical", "scale": "none"}"#, Some(2));
        let prepared = fit_matrix(built(&rows), options.scale());
        let dendrogram = ward::ward(&prepared.matrix, 2, &mut || {});
        let (model, report, _) = fit_model(
            prepared,
            vec!["x".into(), "y".into()],
            vec![],
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(report.centre_agreement, Some(1.0));
        let assigner = model.assigner();
        let mut scratch = vec![0.0; 2];
        let assigned: Vec<u32> = rows
            .iter()
            .map(|r| {
                assigner
                    .label_raw(&mut r.to_vec(), &mut scratch)
                    .unwrap()
                    .unwrap()
            })
            .collect();
        assert_eq!(metrics::adjusted_rand_index(&dendrogram, &assigned), 1.0);
        // (29.5, 1.4) is nearest to the fitted row (29.5, 0).
        let low = assigned[118];
        assert_eq!(
            assigner.label_raw(&mut [29.5, 1.4], &mut scratch).unwrap(),
            Some(low)
        );
    }

    /// k-prototypes end to end: spend (numeric) and channel (two categories) in two groups,
    /// one of which has a row of the other's channel. The stored rule gives the fitted labels,
    /// the profile's channel columns are shares, the prototypes' modes are one-hot.
    #[test]
    fn kprototypes_fits_stores_and_assigns() {
        let features = vec!["spend".to_string(), "channel".to_string()];
        let categories = vec![None, Some(vec!["retail".to_string(), "web".to_string()])];
        let mut b = MatrixBuilder::new(
            vec![
                "spend".into(),
                "channel=retail".into(),
                "channel=web".into(),
            ],
            ImputeMethod::Skip,
            usize::MAX,
        );
        for i in 0..20 {
            let web = i >= 10 || i == 0;
            let spend = if i < 10 { 10.0 } else { 100.0 } + i as f64;
            b.push(&[Some(spend), Some(!web as u8 as f64), Some(web as u8 as f64)])
                .unwrap();
        }
        let options = options(r#"{"method": "kprototypes", "gamma": 0.5}"#, Some(2));
        let prepared = fit_matrix(b.finish().unwrap(), options.scale());
        let (model, report, _) =
            fit_model(prepared, features, categories, &options, LIMITS, &mut || {}).unwrap();
        assert_eq!(report.gamma, Some(0.5));
        assert!(report.converged);
        assert!(report.silhouette.unwrap() > 0.5);
        let back = SegmentModel::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        // Segment sizes 10 and 10; the low-spend one is mostly retail (9 of 10).
        assert_eq!(model.profile.sizes, vec![10, 10]);
        let low = (0..2).find(|&s| model.profile.means[s][1] > 0.5).unwrap();
        assert!((model.profile.means[low][1] - 0.9).abs() < 1e-12);
        assert_eq!(model.centres[low][1..], [1.0, 0.0]);
        assert_eq!(model.centres[1 - low][1..], [0.0, 1.0]);
        // The mismatched row still joins the low spenders (its spend is far from the others').
        let a = model.assigner();
        let mut s = vec![0.0; 2];
        assert_eq!(
            a.label_raw(&mut [10.0, 0.0, 1.0], &mut s).unwrap(),
            Some(low as u32)
        );
        assert_eq!(
            a.label_raw(&mut [110.0, 0.0, 1.0], &mut s).unwrap(),
            Some(1 - low as u32)
        );
        // A channel not seen at fit time matches no mode: it costs gamma against both.
        a.label_raw(&mut [10.0, 0.0, 0.0], &mut s).unwrap();
        // Cost by hand from the stored prototypes equals the report's.
        let scaled_spend = |v: f64| (v - model.scaler.offset[0]) / model.scaler.scale[0];
        let mut cost = 0.0;
        for i in 0..20 {
            let web = i >= 10 || i == 0;
            let spend = if i < 10 { 10.0 } else { 100.0 } + i as f64;
            let seg = if i < 10 { low } else { 1 - low };
            let c = &model.centres[seg];
            cost += (scaled_spend(spend) - c[0]).powi(2);
            if (c[2] == 1.0) != web {
                cost += 0.5;
            }
        }
        assert!(
            (cost - report.inertia).abs() < 1e-9,
            "{cost} vs {}",
            report.inertia
        );
        // Numbers only: k-means' job.
        let mut b = MatrixBuilder::new(vec!["x".into()], ImputeMethod::Skip, usize::MAX);
        for i in 0..5 {
            b.push(&[Some(i as f64)]).unwrap();
        }
        let e = fit_model(
            fit_matrix(b.finish().unwrap(), options.scale()),
            vec!["x".into()],
            vec![],
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("needs at least one text or boolean feature"),
            "{}",
            e.message
        );
    }
}
