//! The stored model and everything that makes or reads one: the document (`document`) and its
//! assigner (`assigner`), its anomaly threshold (`anomaly`), the fit options (`options`) and the
//! server's limits (`limits`), the fits that build a document (`fit` in memory, `streaming` over
//! a re-read source, `churn_fit`, `classify_fit`), a refit's start from the current version
//! (`warm_start`), an incremental update by new rows (`update`), the k scan (`choose_k`) and the
//! memory estimates (`budget`), held-out scoring of the supervised fits (`holdout`) and what they
//! share (`supervised`), per-group indexes (`groups`) and per-group fits (`group_fit`), id
//! matching across refits (`matching`), evaluation on other rows (`evaluate`, over
//! `labelled_rows`), drift of the rows
//! now (`monitor`), each segment's stability under bootstrap refits (`stability`), every kind of
//! stored document read once (`stored`: segment model, per-group index, CLV model), the typed
//! metrics (`fit_metrics`), the export document that moves a model between databases
//! (`exchange`) and the form a model travels in inside a query (`shipped`).

pub mod anomaly;
pub mod assigner;
pub mod budget;
pub mod choose_k;
pub mod churn_fit;
pub mod classify_fit;
pub mod document;
pub mod evaluate;
pub mod exchange;
pub mod fit;
pub mod fit_metrics;
pub mod group_fit;
pub mod groups;
pub mod holdout;
pub mod labelled_rows;
pub mod limits;
pub mod matching;
pub mod monitor;
pub mod options;
pub mod shipped;
pub mod stability;
pub mod stored;
pub mod streaming;
pub mod supervised;
pub mod update;
pub mod warm_start;
