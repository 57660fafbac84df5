//! `segment_fit` options: read key by key from the caller's JSON (`params`: a wrong kind named in
//! plain words, an unknown key with the nearest known one), only the keys that apply to the
//! call's method ([`applicable_keys`]), then each method's own parameters checked by its module
//! in `cluster` through linfa's `ParamGuard` (`KMeansOptions::check` gives a `KMeansMethod`, ...),
//! k included. The result is one [`FitOptions`]: the tagged [`MethodParams`] and the options
//! every method takes, which the fits read and the catalog stores.
//!
//! A new method: its module in `cluster` (options, checked parameters, fit), an arm of
//! `MethodParams` and of `model::document::Method`, its keys in `applicable_keys` (CONTRIBUTING
//! has the whole recipe).

use crate::cluster::dbscan::{DbscanMethod, DbscanOptions};
use crate::cluster::gmm::{GmmMethod, GmmOptions};
use crate::cluster::kmeans::{check_k_scan, KMeansMethod, KMeansOptions};
use crate::cluster::kprototypes::{KPrototypesMethod, KPrototypesOptions};
use crate::cluster::minibatch::{MiniBatchMethod, MiniBatchOptions};
use crate::cluster::ward::{WardMethod, WardOptions};
use crate::cluster::{MethodParameters, OPTION_KEYS};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::anomaly::{self, check_contamination};
use crate::model::document::{Method, CLUSTERING_METHODS};
use crate::params::{
    check_range, does_not_apply, options_object, wrong_kind, Given, Key, Kind, ParamGuard,
};
use crate::prep::encoding::{DEFAULT_MAX_CATEGORIES, MAX_CATEGORIES};
use crate::prep::scaling::{ImputeMethod, ScaleMethod};
use serde::Serialize;

pub use crate::cluster::kmeans::Engine;
pub use crate::cluster::{DEFAULT_SAMPLE_ROWS, MAX_ITER, MAX_N_INIT, MAX_SAMPLE_ROWS};

/// The names of the methods a caller may name (`CLUSTERING_METHODS`). `churn_tree` models are
/// made by `segment_churn_fit` only, classifiers by `segment_classify_fit`.
pub const PUBLIC_METHODS: [&str; CLUSTERING_METHODS.len()] = {
    let mut names = [""; CLUSTERING_METHODS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CLUSTERING_METHODS[i].name();
        i += 1;
    }
    names
};

/// Keys that apply to every method (`method` itself aside).
pub const COMMON_KEYS: [&str; 8] = [
    "scale",
    "impute",
    "seed",
    "log",
    "max_categories",
    "categorical",
    "replace",
    "contamination",
];

/// Keys of the methods that fit in memory (every method but minibatch_kmeans), which can fit one
/// model per group.
pub const GROUP_KEYS: [&str; 2] = ["group_by", "min_group_rows"];

const METHOD: Kind = Kind::OneOf(&PUBLIC_METHODS);

/// Every key `segment_fit` knows, with its kind.
fn keys() -> Vec<Key> {
    [
        Key::new("method", METHOD),
        Key::new(
            "scale",
            Kind::OneOf(&["zscore", "minmax", "robust", "none"]),
        ),
        Key::new("impute", Kind::OneOf(&["skip", "mean", "median", "error"])),
        Key::new("seed", Kind::NonNegativeInteger),
        Key::new("log", Kind::Strings),
        Key::new("max_categories", Kind::PositiveInteger),
        Key::new("categorical", Kind::Strings),
        Key::new("replace", Kind::Boolean),
        Key::new("contamination", Kind::Number),
        Key::nullable("group_by", Kind::Text),
        Key::nullable("min_group_rows", Kind::PositiveInteger),
    ]
    .into_iter()
    .chain(OPTION_KEYS)
    .collect()
}

/// What the options are for, which decides the keys that apply beyond the method's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `segment_fit`, with k given or NULL: k_min and k_max apply only when k is NULL.
    Fit { k_given: bool },
    /// `segment_choose_k`, whose k range is its arguments.
    ChooseK,
    /// Options read back from a model version or an exported document.
    Stored,
}

/// The keys that apply to `method` in `call`: the method's own, then those of every method.
pub fn applicable_keys(method: Method, call: Call) -> Vec<&'static str> {
    let own: &[&'static str] = match method {
        Method::Kmeans => &KMeansOptions::KEYS,
        Method::Gmm => &GmmOptions::KEYS,
        Method::Hierarchical => &WardOptions::KEYS,
        Method::Dbscan => &DbscanOptions::KEYS,
        Method::MinibatchKmeans => &MiniBatchOptions::KEYS,
        Method::Kprototypes => &KPrototypesOptions::KEYS,
        Method::ChurnTree | Method::DecisionTree | Method::RandomForest => &[],
    };
    let k_chosen = call == Call::Fit { k_given: false };
    let groups: &[&'static str] = match method {
        Method::MinibatchKmeans
        | Method::ChurnTree
        | Method::DecisionTree
        | Method::RandomForest => &[],
        _ => &GROUP_KEYS,
    };
    // DBSCAN's noise rows are its anomalies, and a streaming fit stores no anomaly threshold.
    let scored = !matches!(method, Method::Dbscan | Method::MinibatchKmeans);
    own.iter()
        .filter(|key| k_chosen || !KMeansOptions::CHOOSE_K_KEYS.contains(key))
        .chain(
            COMMON_KEYS
                .iter()
                .filter(|&&key| scored || key != "contamination"),
        )
        .chain(groups)
        .copied()
        .collect()
}

/// Refuses a given key that does not apply to `method` in `call`, naming the key and the method.
pub fn check_applicable(given: &Given, method: Method, call: Call) -> CoreResult<()> {
    let keys = applicable_keys(method, call);
    let Some(key) = given
        .keys()
        .find(|key| *key != "method" && !keys.contains(key))
    else {
        return Ok(());
    };
    let name = method.name();
    let chooses_k = applicable_keys(method, Call::Fit { k_given: false }).contains(&key);
    Err(match call {
        Call::Fit { .. } if chooses_k => CoreError::invalid_parameter(format!(
            "option \"{key}\" does not apply to method {name} with k given"
        ))
        .with_hint("k_min and k_max bound the k that segment_fit chooses when k is NULL: pass k NULL, or leave them out."),
        Call::ChooseK if chooses_k => CoreError::invalid_parameter(format!(
            "option \"{key}\" does not apply to segment_choose_k"
        ))
        .with_hint("Pass the range as its k_min and k_max arguments."),
        _ if GROUP_KEYS.contains(&key) => {
            let e = does_not_apply(key, &format!("method {name}"), &keys);
            let hint = e.hint.clone().unwrap_or_default();
            e.with_hint(format!(
                "{hint} A per-group fit holds each group in memory: fit a view per group with {name}, or leave group_by out."
            ))
        }
        _ => does_not_apply(key, &format!("method {name}"), &keys),
    })
}

/// Each method's checked parameters, k inside: what `segment_fit` fits with, tagged by the
/// method's name in the stored options. A value comes only from a method's `check` (linfa's
/// `ParamGuard`): the shell and a Rust user get one through [`FitOptions`]' readers.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodParams {
    Kmeans(KMeansMethod),
    Gmm(GmmMethod),
    Hierarchical(WardMethod),
    Dbscan(DbscanMethod),
    MinibatchKmeans(MiniBatchMethod),
    Kprototypes(KPrototypesMethod),
}

impl MethodParams {
    /// Reads `method`'s options from `given` with the call's k, and checks them (the method's
    /// `ParamGuard`): the options first, then the k rule of the method.
    fn read(method: Method, given: &Given, k: Option<i64>) -> CoreResult<MethodParams> {
        Ok(match method {
            Method::Kmeans => MethodParams::Kmeans(KMeansOptions::read(given, k).check()?),
            Method::Gmm => MethodParams::Gmm(GmmOptions::read(given, k).check()?),
            Method::Hierarchical => {
                MethodParams::Hierarchical(WardOptions::read(given, k).check()?)
            }
            Method::Dbscan => MethodParams::Dbscan(DbscanOptions::read(given, k).check()?),
            Method::MinibatchKmeans => {
                MethodParams::MinibatchKmeans(MiniBatchOptions::read(given, k).check()?)
            }
            Method::Kprototypes => {
                MethodParams::Kprototypes(KPrototypesOptions::read(given, k).check()?)
            }
            Method::ChurnTree | Method::DecisionTree | Method::RandomForest => {
                return Err(fitted_elsewhere(method))
            }
        })
    }

    pub fn method(&self) -> Method {
        match self {
            MethodParams::Kmeans(_) => Method::Kmeans,
            MethodParams::Gmm(_) => Method::Gmm,
            MethodParams::Hierarchical(_) => Method::Hierarchical,
            MethodParams::Dbscan(_) => Method::Dbscan,
            MethodParams::MinibatchKmeans(_) => Method::MinibatchKmeans,
            MethodParams::Kprototypes(_) => Method::Kprototypes,
        }
    }

    /// The method's own answers (k, sample, stored form): one arm per method here, none
    /// where they are used.
    fn as_method(&self) -> &dyn MethodParameters {
        match self {
            MethodParams::Kmeans(p) => p,
            MethodParams::Gmm(p) => p,
            MethodParams::Hierarchical(p) => p,
            MethodParams::Dbscan(p) => p,
            MethodParams::MinibatchKmeans(p) => p,
            MethodParams::Kprototypes(p) => p,
        }
    }

    /// The k the method was asked for: None for dbscan, which finds its own, and for k-means
    /// scanning a range.
    pub fn k(&self) -> Option<usize> {
        self.as_method().k()
    }

    /// The sample size of this fit (None: every row). Hierarchical and dbscan sample by default
    /// (quadratic, or core-point bound).
    pub fn sample_limit(&self) -> Option<u64> {
        self.as_method().sample_limit()
    }

    /// Whether the fit starts from the current version (the `warm_start` option).
    pub fn warm_start(&self) -> bool {
        self.as_method().warm_start()
    }

    /// k-means' engine (every other method fits in memory).
    pub fn engine(&self) -> Engine {
        match self {
            MethodParams::Kmeans(p) => p.engine(),
            _ => Engine::Memory,
        }
    }

    fn document(&self) -> serde_json::Value {
        let mut own = self.as_method().document();
        if let Some(map) = own.as_object_mut() {
            map.insert("method".into(), serde_json::json!(self.method().name()));
        }
        own
    }
}

/// warm_start fits the current version's k from its centres: a k range to scan does not apply.
fn check_warm_start(given: &Given) -> CoreResult<()> {
    if given.boolean("warm_start") != Some(true) {
        return Ok(());
    }
    if let Some(key) = ["k_min", "k_max"].into_iter().find(|k| given.has(k)) {
        return Err(CoreError::invalid_parameter(format!(
            "option \"{key}\" does not apply with warm_start: the refit keeps the current version's k"
        ))
        .with_hint("Leave k_min and k_max out (k NULL means the current k), or leave warm_start out to choose k again."));
    }
    Ok(())
}

/// The error of a supervised method named in `segment_fit`'s options: its own function fits it.
fn fitted_elsewhere(method: Method) -> CoreError {
    let hint = match method {
        Method::ChurnTree => "A churn tree is fitted by segment_churn_fit(source, features, label).",
        _ => "A classifier into known segments is fitted by segment_classify_fit(source, features, label).",
    };
    wrong_kind("method", &METHOD, &serde_json::json!(method.name())).with_hint(hint)
}

/// The options every method takes. Defaults follow scikit-learn where it has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Common {
    scale: ScaleMethod,
    impute: ImputeMethod,
    /// Seed of every random choice (k-means++ starts, samples, silhouette sample).
    seed: u64,
    /// Feature columns replaced by log(1 + x) before imputation and scaling (skewed spend);
    /// a negative value in one of them is an error.
    log: Vec<String>,
    /// Most distinct values a text or boolean feature may have (one matrix column each).
    max_categories: u32,
    /// Text features whose values read as numbers, one-hot encoded on purpose (otherwise such a
    /// column is refused: it is probably a number stored as text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    categorical: Vec<String>,
    /// Fit one model per value of this column (see `groups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<String>,
    /// With group_by: groups with fewer usable rows are not fitted (their rows get no segment).
    #[serde(skip_serializing_if = "Option::is_none")]
    min_group_rows: Option<u32>,
    /// The share of training rows above the stored anomaly threshold (`model::anomaly`; None:
    /// the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    contamination: Option<f64>,
    /// The fit may change what an existing model name means (its features or method): a call
    /// option, not stored (`catalog::check_meaning` in the shell).
    #[serde(skip_serializing)]
    replace: bool,
}

impl Common {
    fn read(given: &Given) -> CoreResult<Common> {
        let max_categories = given
            .integer("max_categories")
            .unwrap_or(DEFAULT_MAX_CATEGORIES.into());
        check_range("max_categories", max_categories, 1, MAX_CATEGORIES.into())?;
        let group_by = given.text("group_by").map(str::to_string);
        let min_group_rows = given.integer("min_group_rows");
        match (&group_by, min_group_rows) {
            (Some(g), _) if g.is_empty() => {
                return Err(CoreError::invalid_parameter(
                    "option group_by must name a column",
                ))
            }
            (Some(_), Some(m)) => check_range("min_group_rows", m, 1, 1_000_000_000)?,
            (None, Some(_)) => {
                return Err(CoreError::invalid_parameter(
                    "option min_group_rows applies with group_by only",
                ))
            }
            _ => {}
        }
        Ok(Common {
            scale: given.choice("scale").unwrap_or_default(),
            impute: given.choice("impute").unwrap_or_default(),
            seed: given.integer("seed").unwrap_or(0),
            log: given
                .strings("log")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            max_categories: max_categories as u32,
            categorical: given
                .strings("categorical")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            group_by,
            min_group_rows: min_group_rows.map(|m| m as u32),
            contamination: given
                .number("contamination")
                .map(check_contamination)
                .transpose()?,
            replace: given.boolean("replace").unwrap_or(false),
        })
    }
}

/// The options of a fit, checked: the method's parameters (k inside) and the options every
/// method takes. Made only by the readers below, each through the method's `ParamGuard::check`;
/// serialized (`Serialize`, `document`), it is the options document a model version stores.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    method: MethodParams,
    common: Common,
}

impl Serialize for FitOptions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document().serialize(serializer)
    }
}

impl FitOptions {
    /// `segment_fit`'s options (the `options jsonb` argument as text) and its k argument: every
    /// value checked, a key that does not apply to the method (or to the call: k_min and k_max
    /// with k given) refused, and the method's rule for k (kmeans chooses it when NULL, dbscan
    /// finds it, the others need it).
    pub fn for_fit(text: &str, k: Option<i64>) -> CoreResult<FitOptions> {
        let object = options_object(text, Some(OPTIONS_HINT))?;
        FitOptions::read(
            &object,
            Call::Fit {
                k_given: k.is_some(),
            },
            k,
        )
    }

    /// `segment_choose_k`'s options, scanning k_min..k_max (its arguments): checked as
    /// `for_fit`'s, for k-means over all the rows.
    pub fn for_choose_k(text: &str, k_min: i64, k_max: i64) -> CoreResult<FitOptions> {
        check_k_scan(k_min, k_max)?;
        let mut object = options_object(text, Some(OPTIONS_HINT))?;
        let given = Given::read(&object, &keys())?;
        let method: Method = given.choice("method").unwrap_or_default();
        check_applicable(&given, method, Call::ChooseK)?;
        if given.has("group_by") {
            return Err(CoreError::new(
                ErrorKind::NotSupported,
                "segment_choose_k scans one set of rows: option group_by applies to segment_fit",
            )
            .with_hint("Scan a view of one group, or fit per group with k NULL: each group then chooses its own k."));
        }
        if let Some(key) = ["warm_start", "contamination"]
            .into_iter()
            .find(|k| given.has(k))
        {
            return Err(CoreError::invalid_parameter(format!(
                "option \"{key}\" does not apply to segment_choose_k: it stores no model"
            ))
            .with_hint("Pass it to segment_fit once k is chosen."));
        }
        if method != Method::Kmeans {
            return Err(CoreError::new(
                ErrorKind::NotSupported,
                format!("segment_choose_k scans k-means fits, not method {}", method.name()),
            )
            .with_hint("Leave method out of the options; compare gmm fits by their bic in segment_models.metrics."));
        }
        if let Some(map) = object.as_object_mut() {
            map.insert("k_min".into(), k_min.into());
            map.insert("k_max".into(), k_max.into());
        }
        FitOptions::read(&object, Call::Stored, None)
    }

    /// The options stored with a model version (or carried by an exported document), with the
    /// k the model was fitted with (None for dbscan, and for a per-group model whose groups
    /// chose theirs): a refit fits that k again. Keys of other methods are read but not refused
    /// (documents written before 0.3 carry every method's keys), and a stored `k` is the
    /// model's own.
    pub fn stored(text: &str, k: Option<usize>) -> CoreResult<FitOptions> {
        let mut object = options_object(text, None)?;
        if let Some(map) = object.as_object_mut() {
            map.remove("k");
        }
        FitOptions::read(&object, Call::Stored, k.map(|k| k as i64))
    }

    fn read(object: &serde_json::Value, call: Call, k: Option<i64>) -> CoreResult<FitOptions> {
        let named = object.get("method").and_then(|m| m.as_str());
        if let Some(m) = SUPERVISED.into_iter().find(|m| Some(m.name()) == named) {
            return Err(fitted_elsewhere(m));
        }
        let given = Given::read(object, &keys())?;
        let method = given.choice("method").unwrap_or_default();
        if call != Call::Stored {
            check_applicable(&given, method, call)?;
            check_warm_start(&given)?;
        }
        let method = MethodParams::read(method, &given, k)?;
        let common = Common::read(&given)?;
        let options = FitOptions { method, common };
        options.check_combination()?;
        Ok(options)
    }

    /// The rules between a method's parameters and the common options.
    fn check_combination(&self) -> CoreResult<()> {
        let c = &self.common;
        if c.contamination.is_some() && self.streams() {
            return Err(CoreError::new(
                ErrorKind::NotSupported,
                "option contamination needs a fit in memory: engine aggregate stores no anomaly threshold",
            )
            .with_hint("Leave engine out to fit in memory, or leave contamination out."));
        }
        if self.method.engine() == Engine::Aggregate
            && (c.scale == ScaleMethod::Robust || c.impute == ImputeMethod::Median)
        {
            return Err(CoreError::invalid_parameter(
                "option engine aggregate streams the rows: it cannot take medians (scale robust, impute median)",
            )
            .with_hint("Use scale zscore, minmax or none and impute skip, mean or error."));
        }
        if c.group_by.is_some() && self.warm_start() {
            return Err(CoreError::new(
                ErrorKind::NotSupported,
                "option warm_start does not combine with group_by yet: each group would start from its own group model",
            )
            .with_hint("Refit the per-group model without warm_start, or fit a view of one group with warm_start."));
        }
        if c.group_by.is_some() {
            let streams = match self.method {
                MethodParams::MinibatchKmeans(_) => Some("method minibatch_kmeans"),
                _ if !self.method.engine().is_memory() => Some("engine aggregate"),
                _ => None,
            };
            if let Some(what) = streams {
                return Err(CoreError::invalid_parameter(format!(
                    "option group_by fits each group in memory: it does not combine with {what}"
                ))
                .with_hint("Fit a view per group with minibatch_kmeans, or leave group_by out."));
            }
        }
        Ok(())
    }

    /// The options of one group of a per-group fit: the same, without the grouping.
    pub fn for_group(&self) -> FitOptions {
        let mut member = self.clone();
        member.common.group_by = None;
        member.common.min_group_rows = None;
        member
    }

    /// The same options with k given (a k-means scan's pick): k is checked again. Other
    /// methods keep their own k.
    pub fn with_k(&self, k: usize) -> CoreResult<FitOptions> {
        let mut chosen = self.clone();
        if let MethodParams::Kmeans(p) = &self.method {
            chosen.method = MethodParams::Kmeans(p.with_k(k)?);
        }
        Ok(chosen)
    }

    /// The same options with another seed (each bootstrap refit of `model::stability`).
    pub fn with_seed(&self, seed: u64) -> FitOptions {
        let mut seeded = self.clone();
        seeded.common.seed = seed;
        seeded
    }

    /// The same options starting from fresh seeds (no `warm_start`): a bootstrap refit's
    /// (`model::stability`), which has no current version to start from.
    pub fn cold(&self) -> FitOptions {
        let mut cold = self.clone();
        match &mut cold.method {
            MethodParams::Kmeans(p) => p.warm_start = false,
            MethodParams::Gmm(p) => p.warm_start = false,
            MethodParams::Kprototypes(p) => p.warm_start = false,
            _ => {}
        }
        cold
    }

    /// The method's parameters (k inside).
    pub fn params(&self) -> &MethodParams {
        &self.method
    }

    pub fn method(&self) -> Method {
        self.method.method()
    }

    /// The k of the call (see `MethodParams::k`).
    pub fn k(&self) -> Option<usize> {
        self.method.k()
    }

    pub fn engine(&self) -> Engine {
        self.method.engine()
    }

    /// Whether the fit starts from the current version's centres (`model::warm_start`).
    pub fn warm_start(&self) -> bool {
        self.method.warm_start()
    }

    /// Whether the fit streams the source (`model::streaming`: minibatch_kmeans, and k-means
    /// with engine aggregate) instead of holding it as a matrix (`model::fit::fit_model`).
    pub fn streams(&self) -> bool {
        matches!(self.method, MethodParams::MinibatchKmeans(_)) || !self.engine().is_memory()
    }

    pub fn sample_limit(&self) -> Option<u64> {
        self.method.sample_limit()
    }

    pub fn scale(&self) -> ScaleMethod {
        self.common.scale
    }

    pub fn impute(&self) -> ImputeMethod {
        self.common.impute
    }

    pub fn seed(&self) -> u64 {
        self.common.seed
    }

    pub fn log(&self) -> &[String] {
        &self.common.log
    }

    pub fn max_categories(&self) -> u32 {
        self.common.max_categories
    }

    pub fn categorical(&self) -> &[String] {
        &self.common.categorical
    }

    pub fn group_by(&self) -> Option<&str> {
        self.common.group_by.as_deref()
    }

    pub fn min_group_rows(&self) -> Option<u32> {
        self.common.min_group_rows
    }

    pub fn replace(&self) -> bool {
        self.common.replace
    }

    /// The share of training rows the stored anomaly threshold flags.
    pub fn contamination(&self) -> f64 {
        self.common
            .contamination
            .unwrap_or(anomaly::DEFAULT_CONTAMINATION)
    }

    /// The stored options document: the method and its parameters, then the common options.
    pub fn document(&self) -> serde_json::Value {
        let mut doc = self.method.document();
        if let (Some(map), Ok(serde_json::Value::Object(common))) =
            (doc.as_object_mut(), serde_json::to_value(&self.common))
        {
            map.extend(common);
        }
        doc
    }

    /// Per feature, whether the `log` option names it; every name must be a feature.
    pub fn log_mask(&self, features: &[String]) -> CoreResult<Vec<bool>> {
        let log = &self.common.log;
        if let Some(bad) = log.iter().find(|l| !features.contains(l)) {
            return Err(CoreError::invalid_parameter(format!(
                "option log names \"{bad}\", which is not one of the features"
            ))
            .with_hint("List feature columns only, e.g. {\"log\": [\"monetary\"]}."));
        }
        Ok(features.iter().map(|f| log.contains(f)).collect())
    }
}

const OPTIONS_HINT: &str = r#"Pass options like '{"seed": 7, "scale": "minmax"}'."#;

const SUPERVISED: [Method; 3] = [
    Method::ChurnTree,
    Method::DecisionTree,
    Method::RandomForest,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kmeans::KChoice;
    use crate::error::ErrorKind;

    /// Stored options of a model fitted with k = 3.
    fn stored(text: &str) -> CoreResult<FitOptions> {
        FitOptions::stored(text, Some(3))
    }

    fn starts(o: &FitOptions) -> (u32, u32, f64) {
        let s = match o.params() {
            MethodParams::Kmeans(p) => p.starts(),
            MethodParams::MinibatchKmeans(p) => p.starts(),
            _ => panic!("no starts"),
        };
        (s.n_init(), s.max_iter(), s.tol())
    }

    #[test]
    fn empty_object_gives_defaults() {
        let o = stored("{}").unwrap();
        assert_eq!(
            (o.method(), o.k(), o.engine()),
            (Method::Kmeans, Some(3), Engine::Memory)
        );
        assert_eq!(starts(&o), (10, 300, 1e-4));
        assert_eq!(
            (o.scale(), o.impute()),
            (ScaleMethod::Zscore, ImputeMethod::Skip)
        );
        assert_eq!(
            (o.seed(), o.max_categories(), o.sample_limit()),
            (0, 50, None)
        );
        assert_eq!(o, FitOptions::for_fit("{}", Some(3)).unwrap());
    }

    #[test]
    fn values_are_read() {
        let text = r#"{"scale":"minmax","impute":"mean","seed":7,"n_init":3,"max_iter":50,"tol":0,"k_min":3,"k_max":7}"#;
        let o = FitOptions::stored(text, None).unwrap();
        assert_eq!(o.scale(), ScaleMethod::Minmax);
        assert_eq!(o.impute(), ImputeMethod::Mean);
        assert_eq!(o.seed(), 7);
        assert_eq!(starts(&o), (3, 50, 0.0));
        let MethodParams::Kmeans(p) = o.params() else {
            panic!()
        };
        let KChoice::Scan(range) = p.k() else {
            panic!()
        };
        assert_eq!((range.k_min(), range.k_max()), (3, 7));
        // With the model's k, the range is not kept.
        assert_eq!(stored(text).unwrap().k(), Some(3));
        let o = stored(r#"{"log": ["b"]}"#).unwrap();
        let features = vec!["a".to_string(), "b".to_string()];
        assert_eq!(o.log_mask(&features).unwrap(), vec![false, true]);
        let o = stored(r#"{"log": ["c"]}"#).unwrap();
        assert!(o.log_mask(&features).unwrap_err().message.contains("\"c\""));
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let e = stored(r#"{"sede": 1}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert!(e.message.contains("sede"), "{}", e.message);
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            r#"{"scale":"log"}"#,
            r#"{"n_init":0}"#,
            r#"{"max_iter":-1}"#,
            r#"{"tol":-1}"#,
            r#"{"seed":"x"}"#,
            r#"{"group_by":""}"#,
            r#"{"min_group_rows":5}"#,
            r#"{"group_by":"region","min_group_rows":0}"#,
            r#"{"group_by":"region","method":"minibatch_kmeans"}"#,
            r#"{"group_by":"region","engine":"aggregate"}"#,
            r#"[1,2]"#,
            r#"not json"#,
        ] {
            let e = stored(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter, "{bad}");
        }
    }
}

#[cfg(test)]
mod applicability_tests {
    use super::*;
    use crate::cluster::kmeans::KChoice;
    use crate::error::ErrorKind;
    use serde_json::{json, Value};

    const METHODS: [Method; 6] = CLUSTERING_METHODS;
    const FIT: Call = Call::Fit { k_given: true };
    const FIT_K_NULL: Call = Call::Fit { k_given: false };

    /// A value each key accepts.
    fn valid(key: &str) -> Value {
        match key {
            "method" => json!("kmeans"),
            "scale" => json!("minmax"),
            "impute" => json!("mean"),
            "log" | "categorical" => json!(["amount"]),
            "group_by" => json!("region"),
            "engine" => json!("memory"),
            "tol" => json!(0.001),
            "eps" => json!(0.5),
            "k_min" => json!(3),
            "min_share" => json!(0.1),
            "max_share" => json!(0.5),
            "sample_rows" | "min_group_rows" => json!(100),
            "replace" => json!(true),
            // true would not combine with group_by, which the tests give with every key.
            "warm_start" => json!(false),
            "contamination" => json!(0.05),
            _ => json!(7),
        }
    }

    fn call(method: Method, options: Value, call: Call) -> CoreResult<FitOptions> {
        let mut options = options;
        options["method"] = json!(method.name());
        if method == Method::Dbscan && options.get("eps").is_none() {
            options["eps"] = json!(0.5);
        }
        for_call(&options.to_string(), call)
    }

    /// The options of a call: k = 3 given, k NULL, or segment_choose_k's default range.
    fn for_call(text: &str, call: Call) -> CoreResult<FitOptions> {
        match call {
            Call::Fit { k_given: true } => FitOptions::for_fit(text, Some(3)),
            Call::Fit { k_given: false } => FitOptions::for_fit(text, None),
            Call::ChooseK => FitOptions::for_choose_k(text, 2, 10),
            Call::Stored => FitOptions::stored(text, Some(3)),
        }
    }

    #[test]
    fn the_table_of_which_key_applies_to_which_method() {
        let own = |m| {
            applicable_keys(m, FIT_K_NULL)
                .into_iter()
                .filter(|k| !COMMON_KEYS.contains(k) && !GROUP_KEYS.contains(k))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            own(Method::Kmeans),
            [
                "n_init",
                "max_iter",
                "tol",
                "sample_rows",
                "engine",
                "k_min",
                "k_max",
                "warm_start",
                "min_share",
                "max_share"
            ]
        );
        assert_eq!(
            own(Method::Gmm),
            ["n_init", "max_iter", "tol", "sample_rows", "warm_start"]
        );
        assert_eq!(own(Method::Hierarchical), ["sample_rows"]);
        assert_eq!(own(Method::Dbscan), ["eps", "min_points", "sample_rows"]);
        assert_eq!(
            own(Method::Kprototypes),
            ["n_init", "max_iter", "gamma", "warm_start"]
        );
        // minibatch_kmeans takes no group keys.
        assert_eq!(
            applicable_keys(Method::MinibatchKmeans, FIT),
            [
                "n_init",
                "max_iter",
                "tol",
                "batch_size",
                "epochs",
                "sample_rows",
                "scale",
                "impute",
                "seed",
                "log",
                "max_categories",
                "categorical",
                "replace"
            ]
        );
        // No anomaly threshold where DBSCAN's noise is its anomalies.
        assert!(!applicable_keys(Method::Dbscan, FIT).contains(&"contamination"));
        // k_min and k_max only when k is chosen.
        assert!(!applicable_keys(Method::Kmeans, FIT).contains(&"k_min"));
        assert!(!applicable_keys(Method::Kmeans, Call::ChooseK).contains(&"k_max"));
        // Every known key applies to some method.
        for key in keys() {
            assert!(
                key.name == "method"
                    || METHODS
                        .iter()
                        .any(|&m| applicable_keys(m, FIT_K_NULL).contains(&key.name)),
                "{}",
                key.name
            );
        }
    }

    #[test]
    fn every_applicable_key_is_taken() {
        for method in METHODS {
            let k_given = method != Method::Dbscan;
            let mut options = json!({});
            for key in applicable_keys(method, Call::Fit { k_given }) {
                options[key] = valid(key);
            }
            if method == Method::MinibatchKmeans {
                options["impute"] = json!("skip");
            }
            if method == Method::Kmeans {
                // The size bounds hold on every training row: they refuse a sample.
                options.as_object_mut().unwrap().remove("sample_rows");
            }
            let o = call(method, options, Call::Fit { k_given })
                .unwrap_or_else(|e| panic!("{}: {}", method.name(), e.message));
            assert_eq!(o.method(), method);
        }
        let o = call(Method::Kmeans, json!({"k_min": 3, "k_max": 5}), FIT_K_NULL).unwrap();
        let MethodParams::Kmeans(p) = o.params() else {
            panic!()
        };
        let KChoice::Scan(range) = p.k() else {
            panic!()
        };
        assert_eq!((range.k_min(), range.k_max()), (3, 5));
    }

    #[test]
    fn a_key_that_does_not_apply_is_refused_naming_key_and_method() {
        let mut refused = 0;
        for method in METHODS {
            let k_given = method != Method::Dbscan;
            let applies = applicable_keys(method, FIT_K_NULL);
            for key in keys().iter().map(|k| k.name) {
                if key == "method" || applies.contains(&key) {
                    continue;
                }
                let mut options = json!({});
                options[key] = valid(key);
                if key == "min_group_rows" {
                    options["group_by"] = json!("region");
                }
                let e = call(method, options, Call::Fit { k_given }).unwrap_err();
                assert_eq!(e.kind, ErrorKind::InvalidParameter);
                let name = method.name();
                assert!(
                    e.message.starts_with(&format!(
                        "option \"{}\" does not apply to method {name}",
                        if key == "min_group_rows" {
                            "group_by"
                        } else {
                            key
                        }
                    )),
                    "{key}: {}",
                    e.message
                );
                let hint = e.hint.unwrap();
                assert!(
                    hint.starts_with(&format!("Options of method {name}: ")),
                    "{hint}"
                );
                refused += 1;
            }
        }
        // Of the 23 keys beside method: kmeans takes 18, gmm 13, hierarchical 9, dbscan 10,
        // minibatch_kmeans 11, kprototypes 12.
        assert_eq!(refused, 5 + 10 + 14 + 13 + 12 + 11);
    }

    #[test]
    fn the_brief_cases_read_as_they_should() {
        for (method, options, message) in [
            (
                Method::Kmeans,
                json!({"batch_size": 64}),
                r#"option "batch_size" does not apply to method kmeans"#,
            ),
            (
                Method::Kmeans,
                json!({"epochs": 3}),
                r#"option "epochs" does not apply to method kmeans"#,
            ),
            (
                Method::Kmeans,
                json!({"min_points": 3}),
                r#"option "min_points" does not apply to method kmeans"#,
            ),
            (
                Method::Kmeans,
                json!({"eps": 0.5}),
                r#"option "eps" does not apply to method kmeans"#,
            ),
            (
                Method::Hierarchical,
                json!({"n_init": 20}),
                r#"option "n_init" does not apply to method hierarchical"#,
            ),
            (
                Method::Hierarchical,
                json!({"max_iter": 20}),
                r#"option "max_iter" does not apply to method hierarchical"#,
            ),
            (
                Method::Hierarchical,
                json!({"tol": 0.1}),
                r#"option "tol" does not apply to method hierarchical"#,
            ),
            (
                Method::Dbscan,
                json!({"n_init": 20}),
                r#"option "n_init" does not apply to method dbscan"#,
            ),
            (
                Method::Gmm,
                json!({"engine": "aggregate"}),
                r#"option "engine" does not apply to method gmm"#,
            ),
            (
                Method::Gmm,
                json!({"k_min": 3}),
                r#"option "k_min" does not apply to method gmm"#,
            ),
            (
                Method::Gmm,
                json!({"min_share": 0.1}),
                r#"option "min_share" does not apply to method gmm"#,
            ),
            (
                Method::MinibatchKmeans,
                json!({"max_share": 0.5}),
                r#"option "max_share" does not apply to method minibatch_kmeans"#,
            ),
            (
                Method::MinibatchKmeans,
                json!({"group_by": "region"}),
                r#"option "group_by" does not apply to method minibatch_kmeans"#,
            ),
            (
                Method::Kmeans,
                json!({"k_min": 3}),
                r#"option "k_min" does not apply to method kmeans with k given"#,
            ),
            (
                Method::Kmeans,
                json!({"k_max": 3}),
                r#"option "k_max" does not apply to method kmeans with k given"#,
            ),
        ] {
            let e = call(method, options, FIT).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(e.message, message);
        }
        let e = call(Method::Kmeans, json!({"batch_size": 64}), FIT).unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("Options of method kmeans: n_init, max_iter, tol, sample_rows, engine, warm_start, min_share, max_share, scale, impute, seed, log, max_categories, categorical, replace, contamination, group_by, min_group_rows.")
        );
        for key in ["warm_start", "contamination"] {
            let e = call(Method::Kmeans, json!({key: valid(key)}), Call::ChooseK).unwrap_err();
            assert!(e.message.contains("segment_choose_k"), "{}", e.message);
        }
        let e = call(Method::Kmeans, json!({"k_min": 3}), Call::ChooseK).unwrap_err();
        assert_eq!(
            e.message,
            r#"option "k_min" does not apply to segment_choose_k"#
        );
        assert!(e.hint.unwrap().contains("arguments"));
        let e = call(Method::MinibatchKmeans, json!({"group_by": "r"}), FIT).unwrap_err();
        assert!(e
            .hint
            .unwrap()
            .ends_with("fit a view per group with minibatch_kmeans, or leave group_by out."));
    }

    #[test]
    fn each_method_checks_its_own_values() {
        for (method, options, message) in [
            (Method::Kmeans, json!({"n_init": 0}), "option n_init must be between 1 and 1000, not 0"),
            (Method::Gmm, json!({"max_iter": 0}), "option max_iter must be between 1 and 100000, not 0"),
            (Method::MinibatchKmeans, json!({"tol": -1}), "option tol must be a finite number >= 0, not -1"),
            (Method::MinibatchKmeans, json!({"batch_size": 0}), "option batch_size must be between 1 and 1000000, not 0"),
            (Method::MinibatchKmeans, json!({"epochs": 1001}), "option epochs must be between 1 and 1000, not 1001"),
            (Method::Dbscan, json!({"min_points": 0}), "option min_points must be between 1 and 10000, not 0"),
            (Method::Dbscan, json!({"eps": -1}), "option eps must be a finite number > 0, not -1"),
            (Method::Dbscan, json!({"sample_rows": 60000}), "option sample_rows must be between 2 and 50000 for method dbscan, not 60000"),
            (Method::Hierarchical, json!({"sample_rows": 1000000}), "option sample_rows must be between 2 and 50000 for method hierarchical, not 1000000"),
            (Method::Gmm, json!({"max_categories": 0}), "option max_categories must be between 1 and 1000, not 0"),
        ] {
            let e = call(method, options, FIT).unwrap_err();
            assert_eq!(e.message, message, "{}", method.name());
        }
        let e = for_call(r#"{"method": "dbscan"}"#, FIT).unwrap_err();
        assert_eq!(e.message, "method dbscan needs the eps option");
    }

    #[test]
    fn wrong_kinds_name_the_key_in_plain_words() {
        for (text, message) in [
            (
                r#"{"n_init": "20"}"#,
                r#"n_init must be a positive integer, got the string "20""#,
            ),
            (
                r#"{"seed": "seven"}"#,
                r#"seed must be an integer >= 0, got the string "seven""#,
            ),
            (
                r#"{"seed": -1}"#,
                "seed must be an integer >= 0, got the number -1",
            ),
            (
                r#"{"tol": "0.1"}"#,
                r#"tol must be a number, got the string "0.1""#,
            ),
            (
                r#"{"log": "amount"}"#,
                r#"log must be an array of strings, got the string "amount""#,
            ),
            (
                r#"{"group_by": 3}"#,
                "group_by must be a string, got the number 3",
            ),
            (
                r#"{"scale": "logarithmic"}"#,
                r#"scale must be "zscore", "minmax", "robust" or "none", got the string "logarithmic""#,
            ),
            (
                r#"{"method": "minibatch_kmeans", "batch_size": 64.5}"#,
                "batch_size must be a positive integer, got the number 64.5",
            ),
            (
                r#"{"method": "dbscan", "eps": "0.5"}"#,
                r#"eps must be a number, got the string "0.5""#,
            ),
        ] {
            for e in [for_call(text, FIT), FitOptions::stored(text, Some(3))] {
                let e = e.unwrap_err();
                assert_eq!(e.kind, ErrorKind::InvalidParameter);
                assert_eq!(e.message, message);
            }
        }
    }

    #[test]
    fn an_unknown_key_suggests_the_nearest() {
        let e = for_call(r#"{"n_inti": 3}"#, FIT).unwrap_err();
        assert_eq!(e.message, r#"unknown option "n_inti""#);
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "n_init"?"#));
        let e = for_call(r#"{"method": "dbscan", "min_point": 3}"#, FIT).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "min_points"?"#));
        let e = for_call(r#"{"colour": 3}"#, FIT).unwrap_err();
        assert!(e
            .hint
            .unwrap()
            .starts_with("Known options: method, scale, impute, seed, log,"));
        let e = for_call(r#"{"method": "kmean"}"#, FIT).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "kmeans"?"#));
    }

    #[test]
    fn churn_tree_is_not_a_method_of_segment_fit() {
        for e in [
            for_call(r#"{"method": "churn_tree"}"#, FIT),
            FitOptions::stored(r#"{"method": "churn_tree"}"#, Some(3)),
        ] {
            let e = e.unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(
                e.message,
                r#"method must be "kmeans", "gmm", "hierarchical", "dbscan", "minibatch_kmeans" or "kprototypes", got the string "churn_tree""#
            );
            assert!(e.hint.unwrap().contains("segment_churn_fit"));
        }
        // The list of methods in errors is the public one.
        let e = for_call(r#"{"method": "spectral"}"#, FIT).unwrap_err();
        assert!(!e.message.contains("churn_tree"), "{}", e.message);
        assert!(e.message.contains("minibatch_kmeans"));
        // No checked parameters exist for a supervised method.
        let given = Given::default();
        assert!(MethodParams::read(Method::ChurnTree, &given, None).is_err());
    }

    #[test]
    fn stored_options_read_back_whatever_the_method() {
        // The stored document reads back as it was, with the model's k.
        for method in METHODS {
            let k_given = method != Method::Dbscan;
            let mut given = json!({"seed": 3});
            if method != Method::Kprototypes && method != Method::Dbscan {
                given["sample_rows"] = json!(400);
            }
            let o = call(method, given, Call::Fit { k_given }).unwrap();
            let stored = serde_json::to_string(&o).unwrap();
            let k = k_given.then_some(3);
            assert_eq!(FitOptions::stored(&stored, k).unwrap(), o, "{stored}");
            let doc = o.document();
            assert_eq!(doc["method"], json!(method.name()));
            // Only the method's own keys and the common ones are stored, k among them.
            let applies = applicable_keys(method, Call::Fit { k_given: false });
            for key in doc.as_object().unwrap().keys() {
                assert!(
                    key == "method" || key == "k" || applies.contains(&key.as_str()),
                    "{}: {key}",
                    method.name()
                );
            }
            assert_eq!(
                doc.get("k"),
                k_given.then_some(&json!(3)),
                "{}",
                method.name()
            );
        }
        let grouped = call(
            Method::Gmm,
            json!({"group_by": "region", "min_group_rows": 9}),
            FIT,
        )
        .unwrap();
        let stored = serde_json::to_string(&grouped).unwrap();
        assert_eq!(FitOptions::stored(&stored, Some(3)).unwrap(), grouped);
        assert_eq!(grouped.for_group().group_by(), None);
        let aggregate = call(Method::Kmeans, json!({"engine": "aggregate"}), FIT).unwrap();
        let stored = serde_json::to_string(&aggregate).unwrap();
        assert!(stored.contains("aggregate"));
        assert_eq!(FitOptions::stored(&stored, Some(3)).unwrap(), aggregate);
        // A k-means scan stores its range and a null k.
        let scan = call(Method::Kmeans, json!({"k_max": 6}), FIT_K_NULL).unwrap();
        let doc = scan.document();
        assert_eq!(
            (&doc["k"], &doc["k_min"], &doc["k_max"]),
            (&json!(null), &json!(2), &json!(6))
        );
        assert_eq!(FitOptions::stored(&doc.to_string(), None).unwrap(), scan);
        // A document written before 0.3 carries every method's keys: they are read, not refused.
        let old = r#"{"method": "gmm", "scale": "zscore", "impute": "skip", "seed": 0, "n_init": 10, "max_iter": 300, "tol": 0.0001, "log": [], "k_min": 2, "k_max": 10, "eps": null, "min_points": 5, "sample_rows": null, "max_categories": 50, "batch_size": 1024, "epochs": 5}"#;
        let o = FitOptions::stored(old, Some(4)).unwrap();
        assert_eq!((o.method(), o.k()), (Method::Gmm, Some(4)));
        assert!(for_call(old, FIT).is_err());
        // Reading stored options still checks every value, and the model's k.
        assert!(FitOptions::stored(r#"{"method": "gmm", "n_init": 0}"#, Some(4)).is_err());
        assert!(FitOptions::stored(r#"{"method": "gmm"}"#, None).is_err());
        assert!(FitOptions::stored(r#"{"method": "dbscan", "eps": 1}"#, Some(4)).is_err());
    }

    #[test]
    fn every_listed_value_is_one_of_the_enum() {
        // `Given::choice` deserializes a listed value into its enum: every list must match.
        for key in keys() {
            if let Kind::OneOf(values) = key.kind {
                for value in values {
                    let mut text = json!({ key.name: value });
                    if *value == "dbscan" {
                        text["eps"] = json!(0.5);
                    }
                    let k = (*value != "dbscan").then_some(3);
                    let o = FitOptions::stored(&text.to_string(), k).unwrap();
                    let back = serde_json::to_value(&o).unwrap();
                    if key.name != "engine" || *value != "memory" {
                        assert_eq!(back[key.name], json!(value), "{}", key.name);
                    }
                }
            }
        }
    }

    /// min_share and max_share: read and checked with k and the other options, stored only when
    /// given, read back as they were.
    #[test]
    fn size_bounds_are_checked_and_stored_when_given() {
        let o = call(
            Method::Kmeans,
            json!({"min_share": 0.1, "max_share": 0.5}),
            FIT,
        )
        .unwrap();
        let MethodParams::Kmeans(p) = o.params() else {
            panic!()
        };
        assert_eq!(
            (p.shares().min_share(), p.shares().max_share()),
            (Some(0.1), Some(0.5))
        );
        let doc = o.document();
        assert_eq!(
            (&doc["min_share"], &doc["max_share"]),
            (&json!(0.1), &json!(0.5))
        );
        assert_eq!(FitOptions::stored(&doc.to_string(), Some(3)).unwrap(), o);
        let one = call(Method::Kmeans, json!({"max_share": 0.4}), FIT).unwrap();
        let doc = one.document();
        assert!(doc.get("min_share").is_none() && doc["max_share"] == json!(0.4));
        assert_eq!(FitOptions::stored(&doc.to_string(), Some(3)).unwrap(), one);
        let plain = call(Method::Kmeans, json!({}), FIT).unwrap().document();
        assert!(plain.get("min_share").is_none() && plain.get("max_share").is_none());
        // A stored null is the bound left out.
        let null = FitOptions::stored(r#"{"min_share": null}"#, Some(3)).unwrap();
        assert_eq!(null, FitOptions::stored("{}", Some(3)).unwrap());
        for (options, call_kind, message) in [
            (json!({"min_share": 0.4}), FIT, "option min_share 0.4 asks for 3 segments of at least 40% of the rows each: min_share × k must be at most 1"),
            (json!({"max_share": 0.3}), FIT, "option max_share 0.3 leaves 3 segments of at most 30% of the rows each, too few for every row: max_share × k must be at least 1"),
            (json!({"min_share": -0.1}), FIT, "option min_share must be a number above 0 and at most 1, not -0.1"),
            (json!({"min_share": 0.1}), FIT_K_NULL, "option min_share needs k"),
            (json!({"max_share": 0.5, "engine": "aggregate"}), FIT, "option max_share needs engine memory: the constrained assignment weighs every row against the others"),
            (json!({"min_share": 0.1, "sample_rows": 500}), FIT, "option min_share bounds the segments of every training row: it does not combine with sample_rows"),
        ] {
            let e = call(Method::Kmeans, options, call_kind).unwrap_err();
            assert_eq!((e.kind, e.message.as_str()), (ErrorKind::InvalidParameter, message));
            assert!(e.hint.is_some());
        }
        let e = call(Method::Kmeans, json!({"min_share": "10%"}), FIT).unwrap_err();
        assert_eq!(
            e.message,
            r#"min_share must be a number, got the string "10%""#
        );
        // segment_choose_k scans k: the bounds need k given.
        let e = FitOptions::for_choose_k(r#"{"min_share": 0.1}"#, 2, 5).unwrap_err();
        assert_eq!(e.message, "option min_share needs k");
    }

    #[test]
    fn defaults_are_the_parameter_structs() {
        let d = FitOptions::for_fit("{}", Some(3)).unwrap();
        let MethodParams::Kmeans(p) = d.params() else {
            panic!()
        };
        let s = p.starts();
        assert_eq!((s.n_init(), s.max_iter(), s.tol()), (10, 300, 1e-4));
        assert_eq!(
            (d.max_categories(), d.sample_limit(), d.seed()),
            (50, None, 0)
        );
        assert_eq!((d.method(), d.engine()), (Method::Kmeans, Engine::Memory));
        assert_eq!(
            (d.scale(), d.impute()),
            (ScaleMethod::Zscore, ImputeMethod::Skip)
        );
        let d = FitOptions::for_fit("{}", None).unwrap();
        let MethodParams::Kmeans(p) = d.params() else {
            panic!()
        };
        let KChoice::Scan(range) = p.k() else {
            panic!()
        };
        assert_eq!((range.k_min(), range.k_max()), (2, 10));
        let d = FitOptions::for_fit(r#"{"method": "dbscan", "eps": 1}"#, None).unwrap();
        let MethodParams::Dbscan(p) = d.params() else {
            panic!()
        };
        assert_eq!(
            (p.min_points(), d.sample_limit()),
            (5, Some(DEFAULT_SAMPLE_ROWS))
        );
        let d = FitOptions::for_fit(r#"{"method": "minibatch_kmeans"}"#, Some(3)).unwrap();
        let MethodParams::MinibatchKmeans(p) = d.params() else {
            panic!()
        };
        assert_eq!((p.batch_size(), p.epochs()), (1024, 5));
    }

    #[test]
    fn k_follows_each_method_rule() {
        for (text, k, message) in [
            (r#"{"method": "gmm"}"#, None, "method gmm needs k"),
            (
                r#"{"method": "hierarchical"}"#,
                None,
                "method hierarchical needs k",
            ),
            (
                r#"{"method": "minibatch_kmeans"}"#,
                None,
                "method minibatch_kmeans needs k",
            ),
            (
                r#"{"method": "kprototypes"}"#,
                None,
                "method kprototypes needs k",
            ),
            (
                r#"{"method": "dbscan", "eps": 0.5}"#,
                Some(3),
                "method dbscan finds the number of segments itself: k must be NULL",
            ),
            (
                r#"{"method": "gmm"}"#,
                Some(0),
                "k must be between 1 and 1000, not 0",
            ),
            (
                r#"{"method": "dbscan", "eps": 0.5}"#,
                Some(-1),
                "k must be between 1 and 1000, not -1",
            ),
            ("{}", Some(1001), "k must be between 1 and 1000, not 1001"),
            (
                r#"{"engine": "aggregate"}"#,
                None,
                "option engine aggregate needs k",
            ),
            (
                r#"{"k_min": 1}"#,
                None,
                "k_min and k_max must satisfy 2 <= k_min <= k_max < k_min + 50, not 1 and 10",
            ),
            // The options are checked before k.
            (
                r#"{"method": "gmm", "n_init": 0}"#,
                None,
                "option n_init must be between 1 and 1000, not 0",
            ),
            (
                r#"{"method": "dbscan"}"#,
                Some(3),
                "method dbscan needs the eps option",
            ),
        ] {
            let e = FitOptions::for_fit(text, k).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(e.message, message, "{text} {k:?}");
        }
        assert_eq!(
            FitOptions::for_fit(r#"{"method": "gmm"}"#, Some(4))
                .unwrap()
                .k(),
            Some(4)
        );
        assert_eq!(
            FitOptions::for_fit(r#"{"method": "dbscan", "eps": 1}"#, None)
                .unwrap()
                .k(),
            None
        );
        assert_eq!(FitOptions::for_fit("{}", None).unwrap().k(), None);
        assert_eq!(
            FitOptions::for_fit("{}", None)
                .unwrap()
                .with_k(5)
                .unwrap()
                .k(),
            Some(5)
        );
    }

    #[test]
    fn choose_k_scans_kmeans_over_its_arguments() {
        let o = FitOptions::for_choose_k(r#"{"seed": 4}"#, 3, 6).unwrap();
        let MethodParams::Kmeans(p) = o.params() else {
            panic!()
        };
        let KChoice::Scan(range) = p.k() else {
            panic!()
        };
        assert_eq!((range.k_min(), range.k_max(), o.seed()), (3, 6, 4));
        for (text, k_min, k_max, kind, message) in [
            (
                "{}",
                1,
                5,
                ErrorKind::InvalidParameter,
                "k_min and k_max must satisfy 2 <= k_min <= k_max < k_min + 50, not 1 and 5",
            ),
            (
                r#"{"group_by": "r"}"#,
                2,
                5,
                ErrorKind::NotSupported,
                "segment_choose_k scans one set of rows: option group_by applies to segment_fit",
            ),
            (
                r#"{"method": "gmm"}"#,
                2,
                5,
                ErrorKind::NotSupported,
                "segment_choose_k scans k-means fits, not method gmm",
            ),
            (
                r#"{"k_max": 4}"#,
                2,
                5,
                ErrorKind::InvalidParameter,
                r#"option "k_max" does not apply to segment_choose_k"#,
            ),
        ] {
            let e = FitOptions::for_choose_k(text, k_min, k_max).unwrap_err();
            assert_eq!((e.kind, e.message.as_str()), (kind, message), "{text}");
        }
    }
}
