// The row functions, each declared once: `name(model text, "row" record)` with the planner
// support function, the answer for one row from the model's assigner. From this table build.rs
// writes their SQL call forms (the Rust wrappers and the CREATE FUNCTION and COMMENT text,
// included by src/api/assign/forms.rs), and the planner (src/planner.rs) finds the forms a call
// is rewritten into with `find`.
//
// This file is also compiled into build.rs (`include!`): plain Rust, no `use`, no pgrx, no inner
// attributes.

/// What a row function answers: its SQL result type and the Rust type its answer gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A segment (integer).
    Segment,
    /// One number, e.g. a probability (double precision).
    Number,
    /// A number per segment or class, e.g. their probabilities (double precision[]).
    Numbers,
    /// A class, its label value (text).
    Class,
    /// A segment_explanation row (the type is created in src/api/assign/answers.rs).
    Explanation,
    /// Yes or no (boolean).
    Flag,
}

impl Answer {
    pub const fn sql_type(self) -> &'static str {
        match self {
            Answer::Segment => "integer",
            Answer::Number => "double precision",
            Answer::Numbers => "double precision[]",
            Answer::Class => "text",
            Answer::Explanation => "segment_explanation",
            Answer::Flag => "boolean",
        }
    }

    pub const fn rust_type(self) -> &'static str {
        match self {
            Answer::Segment => "i32",
            Answer::Number => "f64",
            Answer::Numbers => "Vec<f64>",
            Answer::Class => "String",
            // The row value formed by the answer (answers::explanation), passed as is.
            Answer::Explanation => "pgrx::AnyElement",
            Answer::Flag => "bool",
        }
    }
}

/// One row function. Every form is STABLE PARALLEL SAFE (it reads the catalog, at most once per
/// call site and statement) and not STRICT (a NULL model name is refused, a NULL row gives NULL).
pub struct RowFunction {
    /// The SQL name of the row form, `name(model text, "row" record)`.
    pub name: &'static str,
    pub answer: Answer,
    /// The function of src/api/assign/answers.rs that computes the answer from the row read into
    /// the call site's model: `fn(&mut CachedModel, FunctionCallInfo) -> Option<T>`, T the
    /// answer's Rust type.
    pub computed_by: &'static str,
    /// The Rust function of the row form, whose C symbol is `<row_fn>_wrapper`: the name, unless
    /// another Rust function has it (segment_assign's is its array form).
    pub row_fn: &'static str,
    /// The planner rewrites a call on a table's row into `<name>_columns(model, names,
    /// VARIADIC columns)`, which reads no row value: for the functions whose speed over whole
    /// tables matters most.
    pub columns: bool,
    /// The planner may ship the model in the query (`customer_segment.ship_models`, Citus) as
    /// `<name>_shipped(document, names, VARIADIC columns)`.
    pub shipped: bool,
    /// COMMENT of the row form (plain text: build.rs doubles the quotes).
    pub comment: &'static str,
    /// COMMENT of the shipped form, when not the usual one (`shipped_comment`).
    pub shipped_comment: Option<&'static str>,
}

/// Another name of a row function: the same C function, and the same planned forms.
pub struct Alias {
    pub name: &'static str,
    pub same_as: &'static str,
    /// COMMENT of the alias's row form.
    pub comment: &'static str,
}

pub const ROW_FUNCTIONS: &[RowFunction] = &[
    RowFunction {
        name: "segment_assign",
        answer: Answer::Segment,
        computed_by: "assign_values",
        row_fn: "segment_assign_row",
        columns: true,
        shipped: true,
        comment: "segment of a row under the current version of a model; features are picked by column name",
        shipped_comment: Some("Internal: segment_assign(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): segment_assign_columns with the model's document in place of its name; not for direct use"),
    },
    RowFunction {
        name: "segment_explain",
        answer: Answer::Explanation,
        computed_by: "explanation",
        row_fn: "segment_explain",
        columns: true,
        shipped: true,
        comment: "segment of a row with its distance, the runner-up segment and the margin between them",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_assign_proba",
        answer: Answer::Numbers,
        computed_by: "memberships",
        row_fn: "segment_assign_proba",
        columns: false,
        shipped: true,
        comment: "Gaussian mixture models: membership probability of each segment (element s + 1 is segment s)",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_churn_predict",
        answer: Answer::Number,
        computed_by: "churn_probability",
        row_fn: "segment_churn_predict",
        columns: false,
        shipped: true,
        comment: "churn models: the row's churn probability (its leaf's training churn rate)",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_classify",
        answer: Answer::Class,
        computed_by: "class_of",
        row_fn: "segment_classify",
        columns: true,
        shipped: true,
        comment: "classifiers: the row's class, the label value of its most probable class",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_classify_proba",
        answer: Answer::Numbers,
        computed_by: "class_proba",
        row_fn: "segment_classify_proba",
        columns: true,
        shipped: true,
        comment: "classifiers: the probability of each class, in the order of segment_classify_classes(model)",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_anomaly_score",
        answer: Answer::Number,
        computed_by: "anomaly_score",
        row_fn: "segment_anomaly_score",
        columns: true,
        shipped: true,
        comment: "how far a row lies from its segment: distance to its centre in scaled units (k-prototypes: root of its dissimilarity; gmm: negative log-likelihood); compare with the model's anomaly threshold",
        shipped_comment: None,
    },
    RowFunction {
        name: "segment_is_anomaly",
        answer: Answer::Flag,
        computed_by: "is_anomaly",
        row_fn: "segment_is_anomaly",
        columns: true,
        shipped: true,
        comment: "whether a row fits no segment: its anomaly score is above the threshold the fit stored (the 1 - contamination quantile of the training rows' scores)",
        shipped_comment: None,
    },
];

pub const ALIASES: &[Alias] = &[Alias {
    name: "segment_churn_assign",
    same_as: "segment_assign",
    comment: "churn models: the row's leaf, its churn-risk segment (the same as segment_assign)",
}];

/// The row function a call of `name` is planned as (for an alias, the function it names), or
/// None when `name` is not a row function.
pub fn find(name: &str) -> Option<&'static RowFunction> {
    let name = ALIASES
        .iter()
        .find(|a| a.name == name)
        .map_or(name, |a| a.same_as);
    ROW_FUNCTIONS.iter().find(|f| f.name == name)
}

impl RowFunction {
    /// The columns form's name, when it has one.
    pub fn columns_form(&self) -> Option<String> {
        self.columns.then(|| format!("{}_columns", self.name))
    }

    /// The shipped form's name, when it has one.
    pub fn shipped_form(&self) -> Option<String> {
        self.shipped.then(|| format!("{}_shipped", self.name))
    }

    /// COMMENT of the columns form.
    pub fn columns_comment(&self) -> String {
        format!(
            "Internal: called by {}(model, row) once the planner support function has rewritten it to pass the row's columns after their names; not for direct use",
            self.name
        )
    }

    /// COMMENT of the shipped form.
    pub fn shipped_comment(&self) -> String {
        match self.shipped_comment {
            Some(comment) => comment.to_string(),
            None => format!(
                "Internal: {}(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model's document in place of its name, then the row's column names and columns; not for direct use",
                self.name
            ),
        }
    }
}
