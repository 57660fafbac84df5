//! `segment_fit` options, read key by key from the caller's JSON (`params`: a wrong kind named in
//! plain words, an unknown key with the nearest known one), each method's own options checked by
//! its parameter struct in `cluster` (`KMeansOptions`, `GmmOptions`, `WardOptions`,
//! `DbscanOptions`, `MiniBatchOptions`), and for a call only the keys that apply to its method
//! ([`applicable_keys`]). The result is one flat `FitOptions`, which the fits read and the
//! catalog stores.

use crate::cluster::dbscan::DbscanOptions;
use crate::cluster::gmm::GmmOptions;
use crate::cluster::kmeans::KMeansOptions;
use crate::cluster::kprototypes::KPrototypesOptions;
use crate::cluster::minibatch::MiniBatchOptions;
use crate::cluster::ward::WardOptions;
use crate::cluster::OPTION_KEYS;
use crate::error::{CoreError, CoreResult};
use crate::model::document::Method;
use crate::params::{
    check_range, does_not_apply, options_object, wrong_kind, Given, Key, Kind, ParamGuard,
};
use crate::prep::encoding::{DEFAULT_MAX_CATEGORIES, MAX_CATEGORIES};
use crate::prep::scaling::{ImputeMethod, ScaleMethod};
use serde::Serialize;

pub use crate::cluster::kmeans::Engine;
pub use crate::cluster::{DEFAULT_SAMPLE_ROWS, MAX_ITER, MAX_N_INIT, MAX_SAMPLE_ROWS};

/// The methods a caller may name. `churn_tree` models are made by `segment_churn_fit` only.
pub const PUBLIC_METHODS: [&str; 6] = [
    "kmeans",
    "gmm",
    "hierarchical",
    "dbscan",
    "minibatch_kmeans",
    "kprototypes",
];

/// Keys that apply to every method (`method` itself aside).
pub const COMMON_KEYS: [&str; 7] = [
    "scale",
    "impute",
    "seed",
    "log",
    "max_categories",
    "categorical",
    "replace",
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
    own.iter()
        .filter(|key| k_chosen || !KMeansOptions::CHOOSE_K_KEYS.contains(key))
        .chain(&COMMON_KEYS)
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

/// Checks the options of the chosen method with its parameter struct.
fn check_method(method: Method, given: &Given) -> CoreResult<()> {
    match method {
        Method::Kmeans => KMeansOptions::read(given).check_ref().map(drop),
        Method::Gmm => GmmOptions::read(given).check_ref().map(drop),
        Method::Hierarchical => WardOptions::read(given).check_ref().map(drop),
        Method::Dbscan => DbscanOptions::read(given).check_ref().map(drop),
        Method::MinibatchKmeans => MiniBatchOptions::read(given).check_ref().map(drop),
        Method::Kprototypes => KPrototypesOptions::read(given).check_ref().map(drop),
        Method::ChurnTree | Method::DecisionTree | Method::RandomForest => {
            Err(fitted_elsewhere(method))
        }
    }
}

/// The error of a supervised method named in `segment_fit`'s options: its own function fits it.
fn fitted_elsewhere(method: Method) -> CoreError {
    let hint = match method {
        Method::ChurnTree => "A churn tree is fitted by segment_churn_fit(source, features, label).",
        _ => "A classifier into known segments is fitted by segment_classify_fit(source, features, label).",
    };
    wrong_kind("method", &METHOD, &serde_json::json!(method.name())).with_hint(hint)
}

/// A value checked to be in range (or one the method does not use) in a u32 field.
fn small(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Options of a fit. Defaults follow scikit-learn where it has one; they are the parameter
/// structs' (`FitOptions::default()` is the options `{}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitOptions {
    pub method: Method,
    pub scale: ScaleMethod,
    pub impute: ImputeMethod,
    /// Seed of every random choice (k-means++ starts, samples, silhouette sample).
    pub seed: u64,
    /// Number of k-means++ (or EM) starts; the run with the lowest inertia wins.
    pub n_init: u32,
    /// Maximum Lloyd (or EM) iterations per start.
    pub max_iter: u32,
    /// Convergence tolerance, scikit-learn's meaning: stop when the summed squared centre shift is
    /// at most `tol` times the mean feature variance (of the scaled matrix).
    pub tol: f64,
    /// Feature columns replaced by log(1 + x) before imputation and scaling (skewed spend);
    /// a negative value in one of them is an error.
    pub log: Vec<String>,
    /// The k range `segment_fit` scans when it is called with k NULL (see `choose_k`).
    pub k_min: u32,
    pub k_max: u32,
    /// DBSCAN: neighbourhood radius in scaled units (required for method dbscan).
    pub eps: Option<f64>,
    /// DBSCAN: rows (itself included) within eps that make a row a core point.
    pub min_points: u32,
    /// k-prototypes: the weight of one mismatched category against squared scaled numbers
    /// (None: half the mean standard deviation of the scaled numeric features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Fit on a seeded uniform sample of at most this many rows, then assign every row (the
    /// profile covers all rows). Default: every row for kmeans and gmm, `DEFAULT_SAMPLE_ROWS`
    /// for hierarchical and dbscan (quadratic or core-point bound).
    pub sample_rows: Option<u64>,
    /// Most distinct values a text or boolean feature may have (one matrix column each).
    pub max_categories: u32,
    /// minibatch_kmeans: rows per update, and passes over the source.
    pub batch_size: u32,
    pub epochs: u32,
    /// k-means only: where the Lloyd steps run (absent from stored options when `memory`).
    #[serde(skip_serializing_if = "Engine::is_memory")]
    pub engine: Engine,
    /// Fit one model per value of this column (see `groups`); absent from stored options when
    /// not set, like the next one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// With group_by: groups with fewer usable rows are not fitted (their rows get no segment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_group_rows: Option<u32>,
    /// Text features whose values read as numbers, one-hot encoded on purpose (otherwise such a
    /// column is refused: it is probably a number stored as text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
    /// The fit may change what an existing model name means (its features or method): a call
    /// option, not stored (`catalog::check_meaning` in the shell).
    #[serde(skip_serializing)]
    pub replace: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions::assemble(&Given::default())
    }
}

impl FitOptions {
    /// The options of a `segment_fit` or `segment_choose_k` call: as `from_json`, and a key that
    /// does not apply to the method (or to the call: k_min and k_max with k given) is refused.
    pub fn for_call(text: &str, call: Call) -> CoreResult<FitOptions> {
        FitOptions::read(text, Some(call))
    }

    /// Parses a JSON object (the `options jsonb` argument as text, or stored options) and checks
    /// every value the method uses. Keys of other methods are read but not refused: stored
    /// options carry every key.
    pub fn from_json(text: &str) -> CoreResult<FitOptions> {
        FitOptions::read(text, None)
    }

    fn read(text: &str, call: Option<Call>) -> CoreResult<FitOptions> {
        let object = options_object(
            text,
            Some(r#"Pass options like '{"seed": 7, "scale": "minmax"}'."#),
        )?;
        let supervised = [
            Method::ChurnTree,
            Method::DecisionTree,
            Method::RandomForest,
        ];
        let named = object.get("method").and_then(|m| m.as_str());
        if let Some(m) = supervised.into_iter().find(|m| Some(m.name()) == named) {
            return Err(fitted_elsewhere(m));
        }
        let given = Given::read(&object, &keys())?;
        let method = given.choice("method").unwrap_or_default();
        if let Some(call) = call {
            check_applicable(&given, method, call)?;
        }
        check_method(method, &given)?;
        check_range(
            "max_categories",
            given
                .integer("max_categories")
                .unwrap_or(DEFAULT_MAX_CATEGORIES.into()),
            1,
            MAX_CATEGORIES.into(),
        )?;
        if let Some(m) = given.integer("min_group_rows") {
            if given.has("group_by") {
                check_range("min_group_rows", m, 1, 1_000_000_000)?;
            }
        }
        let options = FitOptions::assemble(&given);
        options.validate()?;
        Ok(options)
    }

    /// The options from what was given, defaults for the rest (integers a method does not use
    /// may be cut to u32).
    fn assemble(given: &Given) -> FitOptions {
        let kmeans = KMeansOptions::read(given);
        let dbscan = DbscanOptions::read(given);
        let minibatch = MiniBatchOptions::read(given);
        FitOptions {
            method: given.choice("method").unwrap_or_default(),
            scale: given.choice("scale").unwrap_or_default(),
            impute: given.choice("impute").unwrap_or_default(),
            seed: given.integer("seed").unwrap_or(0),
            n_init: small(kmeans.starts.n_init),
            max_iter: small(kmeans.starts.max_iter),
            tol: kmeans.starts.tol,
            log: given
                .strings("log")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            k_min: small(kmeans.k_min),
            k_max: small(kmeans.k_max),
            eps: dbscan.eps,
            min_points: small(dbscan.min_points),
            gamma: given.number("gamma"),
            sample_rows: given.integer("sample_rows"),
            max_categories: small(
                given
                    .integer("max_categories")
                    .unwrap_or(DEFAULT_MAX_CATEGORIES.into()),
            ),
            batch_size: small(minibatch.batch_size),
            epochs: small(minibatch.epochs),
            engine: kmeans.engine,
            group_by: given.text("group_by").map(str::to_string),
            min_group_rows: given.integer("min_group_rows").map(small),
            categorical: given
                .strings("categorical")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            replace: given.boolean("replace").unwrap_or(false),
        }
    }

    /// The sample size of this fit (None: every row).
    pub fn sample_limit(&self) -> Option<u64> {
        self.sample_rows.or(match self.method {
            Method::Hierarchical | Method::Dbscan => Some(DEFAULT_SAMPLE_ROWS),
            Method::Kmeans
            | Method::Gmm
            | Method::MinibatchKmeans
            | Method::Kprototypes
            | Method::ChurnTree
            | Method::DecisionTree
            | Method::RandomForest => None,
        })
    }

    /// Per feature, whether the `log` option names it; every name must be a feature.
    pub fn log_mask(&self, features: &[String]) -> CoreResult<Vec<bool>> {
        if let Some(bad) = self.log.iter().find(|l| !features.contains(l)) {
            return Err(CoreError::invalid_parameter(format!(
                "option log names \"{bad}\", which is not one of the features"
            ))
            .with_hint("List feature columns only, e.g. {\"log\": [\"monetary\"]}."));
        }
        Ok(features.iter().map(|f| self.log.contains(f)).collect())
    }

    /// The rules between options: engine aggregate and group_by combine only with what they
    /// can do, min_group_rows needs group_by.
    pub fn validate(&self) -> CoreResult<()> {
        if self.method.is_supervised() {
            return Err(fitted_elsewhere(self.method));
        }
        if self.engine == Engine::Aggregate {
            if self.method != Method::Kmeans {
                return Err(CoreError::invalid_parameter(format!(
                    "option engine aggregate runs k-means only, not method {}",
                    self.method.name()
                )));
            }
            if self.scale == ScaleMethod::Robust || self.impute == ImputeMethod::Median {
                return Err(CoreError::invalid_parameter(
                    "option engine aggregate streams the rows: it cannot take medians (scale robust, impute median)",
                )
                .with_hint("Use scale zscore, minmax or none and impute skip, mean or error."));
            }
        }
        match (&self.group_by, self.min_group_rows) {
            (Some(g), _) if g.is_empty() => {
                return Err(CoreError::invalid_parameter(
                    "option group_by must name a column",
                ))
            }
            (Some(_), _) if self.method == Method::MinibatchKmeans || !self.engine.is_memory() => {
                return Err(CoreError::invalid_parameter(format!(
                    "option group_by fits each group in memory: it does not combine with {}",
                    if self.engine.is_memory() {
                        "method minibatch_kmeans"
                    } else {
                        "engine aggregate"
                    }
                ))
                .with_hint("Fit a view per group with minibatch_kmeans, or leave group_by out."))
            }
            (None, Some(_)) => {
                return Err(CoreError::invalid_parameter(
                    "option min_group_rows applies with group_by only",
                ))
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn empty_object_gives_defaults() {
        assert_eq!(FitOptions::from_json("{}").unwrap(), FitOptions::default());
    }

    #[test]
    fn values_are_read() {
        let o = FitOptions::from_json(
            r#"{"scale":"minmax","impute":"mean","seed":7,"n_init":3,"max_iter":50,"tol":0,"k_min":3,"k_max":7}"#,
        )
        .unwrap();
        assert_eq!(o.scale, ScaleMethod::Minmax);
        assert_eq!(o.impute, ImputeMethod::Mean);
        assert_eq!((o.seed, o.n_init, o.max_iter, o.tol), (7, 3, 50, 0.0));
        assert_eq!((o.k_min, o.k_max), (3, 7));
        let o = FitOptions::from_json(r#"{"log": ["b"]}"#).unwrap();
        let features = vec!["a".to_string(), "b".to_string()];
        assert_eq!(o.log_mask(&features).unwrap(), vec![false, true]);
        let o = FitOptions::from_json(r#"{"log": ["c"]}"#).unwrap();
        assert!(o.log_mask(&features).unwrap_err().message.contains("\"c\""));
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let e = FitOptions::from_json(r#"{"sede": 1}"#).unwrap_err();
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
            let e = FitOptions::from_json(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter, "{bad}");
        }
    }
}

#[cfg(test)]
mod applicability_tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::{json, Value};

    const METHODS: [Method; 6] = [
        Method::Kmeans,
        Method::Gmm,
        Method::Hierarchical,
        Method::Dbscan,
        Method::MinibatchKmeans,
        Method::Kprototypes,
    ];
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
            "sample_rows" | "min_group_rows" => json!(100),
            "replace" => json!(true),
            _ => json!(7),
        }
    }

    fn call(method: Method, options: Value, call: Call) -> CoreResult<FitOptions> {
        let mut options = options;
        options["method"] = json!(method.name());
        if method == Method::Dbscan && options.get("eps").is_none() {
            options["eps"] = json!(0.5);
        }
        FitOptions::for_call(&options.to_string(), call)
    }

    #[test]
    fn the_table_of_which_key_applies_to_which_method() {
        let own = |m| {
            let keys = applicable_keys(m, FIT_K_NULL);
            keys[..keys.len() - COMMON_KEYS.len() - GROUP_KEYS.len()].to_vec()
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
                "k_max"
            ]
        );
        assert_eq!(
            own(Method::Gmm),
            ["n_init", "max_iter", "tol", "sample_rows"]
        );
        assert_eq!(own(Method::Hierarchical), ["sample_rows"]);
        assert_eq!(own(Method::Dbscan), ["eps", "min_points", "sample_rows"]);
        assert_eq!(own(Method::Kprototypes), ["n_init", "max_iter", "gamma"]);
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
            let o = call(method, options, Call::Fit { k_given })
                .unwrap_or_else(|e| panic!("{}: {}", method.name(), e.message));
            assert_eq!(o.method, method);
        }
        let o = call(Method::Kmeans, json!({"k_min": 3, "k_max": 5}), FIT_K_NULL).unwrap();
        assert_eq!((o.k_min, o.k_max), (3, 5));
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
        // Of the 19 keys beside method: kmeans takes 14, gmm 11, hierarchical 8, dbscan 10,
        // minibatch_kmeans 11, kprototypes 10.
        assert_eq!(refused, 5 + 8 + 11 + 9 + 8 + 9);
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
            Some("Options of method kmeans: n_init, max_iter, tol, sample_rows, engine, scale, impute, seed, log, max_categories, categorical, replace, group_by, min_group_rows.")
        );
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
        let e = FitOptions::for_call(r#"{"method": "dbscan"}"#, FIT).unwrap_err();
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
            for e in [FitOptions::for_call(text, FIT), FitOptions::from_json(text)] {
                let e = e.unwrap_err();
                assert_eq!(e.kind, ErrorKind::InvalidParameter);
                assert_eq!(e.message, message);
            }
        }
    }

    #[test]
    fn an_unknown_key_suggests_the_nearest() {
        let e = FitOptions::for_call(r#"{"n_inti": 3}"#, FIT).unwrap_err();
        assert_eq!(e.message, r#"unknown option "n_inti""#);
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "n_init"?"#));
        let e = FitOptions::for_call(r#"{"method": "dbscan", "min_point": 3}"#, FIT).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "min_points"?"#));
        let e = FitOptions::for_call(r#"{"colour": 3}"#, FIT).unwrap_err();
        assert!(e
            .hint
            .unwrap()
            .starts_with("Known options: method, scale, impute, seed, log,"));
        let e = FitOptions::for_call(r#"{"method": "kmean"}"#, FIT).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "kmeans"?"#));
    }

    #[test]
    fn churn_tree_is_not_a_method_of_segment_fit() {
        for e in [
            FitOptions::for_call(r#"{"method": "churn_tree"}"#, FIT),
            FitOptions::from_json(r#"{"method": "churn_tree"}"#),
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
        let e = FitOptions::for_call(r#"{"method": "spectral"}"#, FIT).unwrap_err();
        assert!(!e.message.contains("churn_tree"), "{}", e.message);
        assert!(e.message.contains("minibatch_kmeans"));
        let churn = FitOptions {
            method: Method::ChurnTree,
            ..FitOptions::default()
        };
        assert!(churn.validate().is_err());
    }

    #[test]
    fn stored_options_read_back_whatever_the_method() {
        // Stored options carry every key: from_json reads them back as they were.
        for method in METHODS {
            let mut o = call(
                method,
                json!({"seed": 3}),
                Call::Fit {
                    k_given: method != Method::Dbscan,
                },
            )
            .unwrap();
            o.sample_rows = Some(400);
            let stored = serde_json::to_string(&o).unwrap();
            assert_eq!(FitOptions::from_json(&stored).unwrap(), o, "{stored}");
        }
        let grouped = call(
            Method::Gmm,
            json!({"group_by": "region", "min_group_rows": 9}),
            FIT,
        )
        .unwrap();
        let stored = serde_json::to_string(&grouped).unwrap();
        assert_eq!(FitOptions::from_json(&stored).unwrap(), grouped);
        let aggregate = call(Method::Kmeans, json!({"engine": "aggregate"}), FIT).unwrap();
        let stored = serde_json::to_string(&aggregate).unwrap();
        assert!(stored.contains("aggregate"));
        assert_eq!(FitOptions::from_json(&stored).unwrap(), aggregate);
        // The stored form of the defaults has null eps and sample_rows.
        let stored = serde_json::to_string(&FitOptions::default()).unwrap();
        assert!(stored.contains(r#""eps":null"#) && stored.contains(r#""sample_rows":null"#));
        assert!(FitOptions::for_call(&stored, FIT).is_err());
    }

    #[test]
    fn every_listed_value_is_one_of_the_enum() {
        // `Given::choice` deserializes a listed value into its enum: every list must match.
        for key in keys() {
            if let Kind::OneOf(values) = key.kind {
                for value in values {
                    let given = Given::read(&json!({ key.name: value }), &keys()).unwrap();
                    let o = FitOptions::assemble(&given);
                    let back = serde_json::to_value(&o).unwrap();
                    if key.name != "engine" || *value != "memory" {
                        assert_eq!(back[key.name], json!(value), "{}", key.name);
                    }
                }
            }
        }
    }

    #[test]
    fn defaults_are_the_parameter_structs() {
        let d = FitOptions::default();
        assert_eq!((d.n_init, d.max_iter, d.tol), (10, 300, 1e-4));
        assert_eq!((d.k_min, d.k_max, d.min_points), (2, 10, 5));
        assert_eq!((d.batch_size, d.epochs, d.max_categories), (1024, 5, 50));
        assert_eq!((d.eps, d.sample_rows, d.seed), (None, None, 0));
        assert_eq!((d.method, d.engine), (Method::Kmeans, Engine::Memory));
        assert_eq!(
            (d.scale, d.impute),
            (ScaleMethod::Zscore, ImputeMethod::Skip)
        );
    }
}
