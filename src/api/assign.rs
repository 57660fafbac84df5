//! `segment_assign`: the segment of one row, cheap enough for every row of a large table.
//!
//! The model is read from the catalog once per call site and statement, and kept in the
//! function's `fn_extra` (memory of the statement's expression, so a refit is seen by the next
//! statement). The row's layout (which attribute holds which feature) is resolved once per row
//! type. Per row: one attribute fetch per feature, scaling, k distances, no allocation.

use crate::catalog::{self, Current};
use crate::errors::{raise, raise_core, require};
use crate::gucs;
use crate::source::{
    category_bytes, numeric_f64, text_bytes, type_name, CATEGORICAL_TYPES, NUMERIC_TYPES,
};
use pgrx::prelude::*;
use pgrx::{PgMemoryContexts, PgSqlErrorCode};
use segment_core::cluster::dbscan::NOISE;
use segment_core::error::{pg_float_text, CoreError, ErrorKind};
use segment_core::model::assigner::Assigner;
use segment_core::model::groups::{decimal_text, GroupIndex};
use segment_core::prep::encoding::one_hot;

/// Where each feature sits in a row type.
struct RowLayout {
    typid: pg_sys::Oid,
    typmod: i32,
    /// A copy owned by the call site's memory context (`fn_mcxt`).
    tupdesc: pg_sys::TupleDesc,
    /// Per feature: attribute number and type.
    columns: Vec<(i32, pg_sys::Oid)>,
    /// A per-group model's grouping column (attribute number).
    group: Option<GroupColumn>,
}

/// Where a per-group model's grouping column is (attribute number in a row, or argument index of
/// `segment_assign_columns`), its type, and that type's output function.
#[derive(Clone, Copy)]
struct GroupColumn {
    at: usize,
    typ: pg_sys::Oid,
    output: pg_sys::Oid,
}

impl GroupColumn {
    fn new(at: usize, typ: pg_sys::Oid) -> GroupColumn {
        let mut output = pg_sys::Oid::INVALID;
        let mut varlena = false;
        // SAFETY: a type of a column of the row; the lookup raises for an unknown type.
        unsafe { pg_sys::getTypeOutputInfo(typ, &mut output, &mut varlena) };
        GroupColumn { at, typ, output }
    }

    /// The value as the fit saw it (`::text`): text as is, booleans as true / false, integers
    /// written into `digits` (measured: the output function's call and allocation were a third
    /// of a per-group assign over 1M rows), any other type through its output function
    /// (allocated in the row's memory context).
    ///
    /// # Safety
    /// `datum` is a non-NULL value of type `typ`.
    unsafe fn text<'a>(&self, datum: pg_sys::Datum, digits: &'a mut [u8; 20]) -> &'a [u8] {
        match self.typ {
            pg_sys::INT2OID => decimal_text(datum.value() as i16 as i64, digits),
            pg_sys::INT4OID => decimal_text(datum.value() as i32 as i64, digits),
            pg_sys::INT8OID => decimal_text(datum.value() as i64, digits),
            t if CATEGORICAL_TYPES.contains(&t) => category_bytes(datum, t),
            _ => std::ffi::CStr::from_ptr(pg_sys::OidOutputFunctionCall(self.output, datum))
                .to_bytes(),
        }
    }
}

/// A per-group model at one call site: the grouping column's value picks the group's model,
/// loaded on the first row of its group.
struct Routing {
    index: GroupIndex,
    /// Parallel to `index.groups`.
    assigners: Vec<Option<Assigner>>,
    /// The group of the row being assigned.
    current: usize,
}

impl Routing {
    /// The per-group model `name`: its routing, and its first group's model, whose features and
    /// matrix columns every group shares (they were fitted together on the same columns).
    fn load(name: &str, index: GroupIndex) -> (Assigner, Routing) {
        let mut routing = Routing {
            assigners: vec![None; index.groups.len()],
            index,
            current: 0,
        };
        let first = routing
            .index
            .groups
            .iter()
            .position(|g| g.model.is_some())
            .expect("a validated index has a fitted group");
        let template = routing.member(name, first, None).clone();
        (template, routing)
    }

    /// The model of group `g` (fitted), loaded once; checked against the template's columns.
    fn member(&mut self, name: &str, g: usize, template: Option<&Assigner>) -> &Assigner {
        if self.assigners[g].is_none() {
            let group = &self.index.groups[g];
            let member = group.model.as_deref().expect("called for fitted groups");
            let assigner = catalog::load(member, group.version).model.assigner();
            if let Some(t) = template {
                if assigner.features() != t.features() || assigner.columns() != t.columns() {
                    raise(
                        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!("model \"{name}\": group model \"{member}\" has other features than its other groups"),
                        Some(&format!("Refit it: SELECT * FROM segment_refit({});", segment_core::sql::quote_literal(name))),
                    );
                }
            }
            self.assigners[g] = Some(assigner);
        }
        self.assigners[g].as_ref().expect("loaded above")
    }

    /// Picks the row's group by its value of the grouping column (NULL: None). False when the
    /// row gets no segment: a NULL, a value not seen at fit time, or a group with too few rows.
    fn select(&mut self, name: &str, value: Option<&[u8]>, template: &Assigner) -> bool {
        let Some(g) = value.and_then(|v| self.index.find(v)) else {
            return false;
        };
        if self.index.groups[g].model.is_none() {
            return false;
        }
        self.member(name, g, Some(template));
        self.current = g;
        true
    }
}

/// Makes the group of a row's grouping-column value (NULL: None) the active model of a per-group
/// model; false when the row gets no segment.
///
/// # Safety
/// `datum` is a value of `group.typ`.
unsafe fn select_group(
    m: &mut CachedModel,
    group: GroupColumn,
    datum: Option<pg_sys::Datum>,
) -> bool {
    let Some(routing) = m.routing.as_mut() else {
        return true;
    };
    let mut digits = [0u8; 20];
    let value = datum.map(|d| group.text(d, &mut digits));
    if !routing.select(&m.name, value, &m.assigner) {
        return false;
    }
    // Groups may differ in k.
    m.scratch.resize(active(&m.assigner, &m.routing).k(), 0.0);
    true
}

/// The model that assigns the current row: the group's for a per-group model.
#[inline]
fn active<'a>(assigner: &'a Assigner, routing: &'a Option<Box<Routing>>) -> &'a Assigner {
    match routing {
        None => assigner,
        Some(r) => r.assigners[r.current]
            .as_ref()
            .expect("selected groups are loaded"),
    }
}

struct CachedModel {
    name: String,
    /// The model; for a per-group model, its first group's (the layout every group shares).
    assigner: Assigner,
    routing: Option<Box<Routing>>,
    /// For `segment_assign_columns` with a per-group model: the grouping column's argument.
    group_argument: Option<GroupColumn>,
    values: Vec<f64>,
    scratch: Vec<f64>,
    layout: Option<RowLayout>,
    /// For `segment_assign_columns`: per feature, its argument index and type.
    columns: Option<Vec<(usize, pg_sys::Oid)>>,
    /// Every feature of `columns` is a float8 and none is one-hot encoded.
    all_float8: bool,
    /// The current row's first NaN or infinite feature (feature, value): such a row cannot be
    /// scored (`unscorable`). Set while the row is read, taken when it is scored.
    bad: Option<(usize, f64)>,
}

impl CachedModel {
    fn new(name: String, assigner: Assigner, routing: Option<Box<Routing>>) -> CachedModel {
        CachedModel {
            name,
            values: vec![0.0; assigner.n_columns()],
            scratch: vec![0.0; assigner.k()],
            assigner,
            routing,
            group_argument: None,
            layout: None,
            columns: None,
            all_float8: false,
            bad: None,
        }
    }
}

/// What one call site keeps for the statement: usually a single model.
#[derive(Default)]
struct CallSite {
    models: Vec<CachedModel>,
    /// When the model name is a constant (or a parameter) of the statement, its model: every
    /// row then skips reading and comparing the name.
    constant: Option<usize>,
}

impl CallSite {
    /// This call site's cache, created in `fn_mcxt` on first use (the statement's lifetime).
    ///
    /// # Safety
    /// `fcinfo` is the current call; fn_extra is only used by this module's functions.
    unsafe fn of<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CallSite {
        let extra = (*(*fcinfo).flinfo).fn_extra;
        if extra.is_null() {
            &mut *pgrx::fcinfo::pg_func_extra(fcinfo, CallSite::default).as_ptr()
        } else {
            &mut *extra.cast::<CallSite>()
        }
    }

    /// The cached model whose name is `name` (UTF-8 bytes), loading it on first use.
    fn model(&mut self, name: &[u8]) -> &mut CachedModel {
        let at = self.position(name);
        &mut self.models[at]
    }

    fn position(&mut self, name: &[u8]) -> usize {
        let at = match self.models.iter().position(|m| m.name.as_bytes() == name) {
            Some(at) => at,
            None => {
                let name = String::from_utf8_lossy(name).into_owned();
                let (assigner, routing) = match catalog::load_current(&name) {
                    Current::Grouped(stored) => {
                        let (assigner, routing) = Routing::load(&name, stored.index);
                        (assigner, Some(Box::new(routing)))
                    }
                    Current::One(stored) => (stored.model.assigner(), None),
                };
                self.models.push(CachedModel::new(name, assigner, routing));
                self.models.len() - 1
            }
        };
        at
    }
}

/// The call site's model named by text argument 0, compared as raw bytes: the per-row path
/// converts no text (measured: the &str conversion and lookup were ~4% of an assign over 1M rows).
unsafe fn cached_by_raw_name<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CachedModel {
    let site = CallSite::of(fcinfo);
    if let Some(at) = site.constant {
        return &mut site.models[at];
    }
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
        require::<()>(None, "model");
    }
    let bytes = text_bytes(
        pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0),
        pg_sys::TEXTOID,
    );
    let at = site.position(bytes);
    // A Const or Param argument is the same on every row of the statement (PostgreSQL's own
    // test); a name computed per row is read every time.
    if pg_sys::get_fn_expr_arg_stable((*fcinfo).flinfo, 0) {
        site.constant = Some(at);
    }
    &mut site.models[at]
}

/// The call site's model shipped in text argument 0 (`segment_core::model::shipped`, written by
/// the planner: see planner.rs), read once per call site. No catalog read: this runs on nodes
/// whose catalog does not have the model (Citus workers).
unsafe fn cached_shipped<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CachedModel {
    let site = CallSite::of(fcinfo);
    if let Some(at) = site.constant {
        return &mut site.models[at];
    }
    if !pg_sys::get_fn_expr_arg_stable((*fcinfo).flinfo, 0) {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "segment_assign_shipped takes its model from the planner, as a constant",
            Some("Call segment_assign(model, row); the planner writes this call."),
        );
    }
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
        require::<()>(None, "model");
    }
    let text = text_bytes(
        pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0),
        pg_sys::TEXTOID,
    );
    let shipped = std::str::from_utf8(text)
        .map_err(|e| {
            CoreError::new(
                ErrorKind::BadModel,
                format!("a shipped model is not text: {e}"),
            )
        })
        .and_then(segment_core::model::shipped::unship)
        .unwrap_or_else(|e| raise_core(e));
    catalog::check_shipped_role(&shipped.name, &shipped.role);
    site.models.push(CachedModel::new(
        shipped.name,
        shipped.model.assigner(),
        None,
    ));
    site.constant = Some(site.models.len() - 1);
    site.models.last_mut().expect("pushed above")
}

fn assign_values(m: &mut CachedModel) -> Option<i32> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).assign(&mut m.values, &mut m.scratch) {
        Ok(segment) => segment.map(|s| if s == NOISE { -1 } else { s as i32 }),
        Err(e) => unscorable(m, e),
    }
}

/// `Some` when the row just read can be scored; for a row with a NaN or infinite feature,
/// `unscorable`'s answer.
fn scorable(m: &mut CachedModel) -> Option<()> {
    match m.bad.take() {
        None => Some(()),
        Some((j, v)) => unscorable(m, not_finite(&m.assigner, j, v)),
    }
}

/// A row that cannot be scored: its data (a NaN or infinite feature, a negative value under the
/// log option) gives NULL, or an ERROR with customer_segment.invalid_rows = error; any other
/// error (a NULL under impute error, a wrong call) is raised.
fn unscorable<T>(m: &CachedModel, e: CoreError) -> Option<T> {
    if e.kind == ErrorKind::InvalidData && gucs::invalid_rows_give_null() {
        return None;
    }
    raise_core(CoreError {
        message: format!("model \"{}\": {}", m.name, e.message),
        ..e
    })
}

/// Segment of `features` (in the model's feature order; NULL elements follow the model's impute
/// rule). NULL when the array is NULL or a NULL feature is skipped.
#[pg_extern(stable, parallel_safe, name = "segment_assign")]
fn segment_assign_array(
    model: Option<&str>,
    features: Option<Array<f64>>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<i32> {
    let name = require(model, "model");
    let features = features?;
    // SAFETY: fcinfo is this call's.
    let m = unsafe { CallSite::of(fcinfo) }.model(name.as_bytes());
    if let Some(r) = &m.routing {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "model \"{name}\" is fitted per group of \"{}\", which an array of features does not carry",
                r.index.group_by
            ),
            Some("Pass the row, segment_assign('model', t) for a table t, or use one group's model (see segment_groups)."),
        );
    }
    if m.assigner.has_categories() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" has text or boolean features, which an array of numbers cannot carry"),
            Some("Pass the row instead: segment_assign('model', t) for a table t."),
        );
    }
    if features.len() != m.values.len() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "model \"{name}\" has {} features, the array has {}",
                m.values.len(),
                features.len()
            ),
            Some("Pass the features in the order listed by SELECT features FROM segment_models."),
        );
    }
    for (j, (slot, v)) in m.values.iter_mut().zip(features.iter()).enumerate() {
        *slot = match v {
            None => f64::NAN,
            Some(x) if x.is_finite() => x,
            Some(x) => {
                m.bad.get_or_insert((j, x));
                f64::NAN
            }
        };
    }
    assign_values(m)
}

/// Segment of a table row or record: the model's features are picked from it by column name.
///
/// The SQL declaration (below) is `segment_assign(model text, "row" record)`. The row is read
/// raw from `fcinfo` rather than as a pgrx `AnyElement`, which would look up the argument's type
/// on every call; the row header carries its type anyway.
#[pg_extern(stable, parallel_safe, name = "segment_assign", sql = false)]
fn segment_assign_row(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature has two arguments, (text, record).
    let m = unsafe { row_argument(fcinfo)? };
    assign_values(m)
}

/// The call site's model (argument 0) with `values` filled from the record in argument 1;
/// None when the record is NULL.
///
/// # Safety
/// The function's SQL signature must be (text, record).
unsafe fn row_argument<'a>(fcinfo: pg_sys::FunctionCallInfo) -> Option<&'a mut CachedModel> {
    let m = cached_by_raw_name(fcinfo);
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
        return None;
    }
    let row = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1);
    // A composite datum (the SQL signature only admits records); detoasting is a no-op for the
    // usual in-memory row.
    let header = pg_sys::pg_detoast_datum(row.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
    let typid = pgrx::heap_tuple_header_get_type_id(header);
    let typmod = pgrx::heap_tuple_header_get_typmod(header);
    let fresh = m
        .layout
        .as_ref()
        .is_some_and(|l| l.typid == typid && l.typmod == typmod);
    if !fresh {
        let group_by = m.routing.as_ref().map(|r| r.index.group_by.as_str());
        m.layout = Some(resolve_layout(
            fcinfo,
            &m.name,
            &m.assigner,
            group_by,
            typid,
            typmod,
        ));
    }
    let layout = m.layout.as_ref().expect("resolved above");
    let mut tuple = pg_sys::HeapTupleData {
        t_len: pgrx::heap_tuple_header_get_datum_length(header) as u32,
        t_data: header,
        ..Default::default()
    };
    if let Some(group) = layout.group {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(&mut tuple, group.at as i32, layout.tupdesc, &mut is_null);
        if !select_group(m, group, (!is_null).then_some(datum)) {
            return None;
        }
    }
    let layout = m.layout.as_ref().expect("resolved above");
    for (j, &(attnum, typ)) in layout.columns.iter().enumerate() {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(&mut tuple, attnum, layout.tupdesc, &mut is_null);
        if let Err(v) = fill_feature(
            &m.assigner,
            &mut m.values,
            j,
            (!is_null).then_some(datum),
            typ,
        ) {
            m.bad.get_or_insert((j, v));
        }
    }
    Some(m)
}

/// How sure a row's segment is: its segment, the distance to that segment's centre, the
/// runner-up segment and its distance, and the margin between the two (distances in the model's
/// scaled units; a small margin means a row near a border). NULL when `segment_assign` would give
/// NULL. Second segment, distance and margin are NULL for a one-segment model.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_explain(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<pgrx::composite_type!('static, "segment_explanation")> {
    // SAFETY: the SQL signature is (text, record) returning segment_explanation.
    let m = unsafe { row_argument(fcinfo)? };
    explanation(m, fcinfo)
}

/// `segment_explain` of the row just read into `m`, as the function's composite result.
fn explanation(
    m: &mut CachedModel,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<pgrx::composite_type!('static, "segment_explanation")> {
    scorable(m)?;
    let e = match active(&m.assigner, &m.routing).explain(&mut m.values, &mut m.scratch) {
        Ok(e) => e?,
        Err(e) => return unscorable(m, e),
    };
    // SAFETY: fcinfo is the current call, whose result type is segment_explanation.
    let rettype = unsafe { pg_sys::get_fn_expr_rettype((*fcinfo).flinfo) };
    let mut out = PgHeapTuple::new_composite_type_by_oid(rettype).expect("segment_explanation");
    let second = e.second;
    out.set_by_index(1.try_into().unwrap(), e.segment as i32)
        .expect("segment");
    out.set_by_index(2.try_into().unwrap(), e.distance)
        .expect("distance");
    out.set_by_index(3.try_into().unwrap(), second.map(|(c, _)| c as i32))
        .expect("second");
    out.set_by_index(4.try_into().unwrap(), second.map(|(_, d)| d))
        .expect("second_distance");
    out.set_by_index(5.try_into().unwrap(), second.map(|(_, d)| d - e.distance))
        .expect("margin");
    Some(out)
}

/// Gaussian mixture models: the probability that the row belongs to each segment (element
/// s + 1 is segment s; they sum to 1). NULL when `segment_assign` would give NULL.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_proba(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, record).
    let m = unsafe { row_argument(fcinfo)? };
    memberships(m)
}

/// `segment_assign_proba` of the row just read into `m`.
fn memberships(m: &mut CachedModel) -> Option<Vec<f64>> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).memberships(&mut m.values, &mut m.scratch) {
        Ok(Some(_)) => Some(m.scratch.clone()),
        Ok(None) => None,
        Err(e) => unscorable(m, e),
    }
}

/// Churn models: the row's churn probability, its leaf's training churn rate. NULL when
/// `segment_assign` would give NULL.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_churn_predict(fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    // SAFETY: the SQL signature is (text, record).
    let m = unsafe { row_argument(fcinfo)? };
    churn_probability(m)
}

/// `segment_churn_predict` of the row just read into `m`.
fn churn_probability(m: &mut CachedModel) -> Option<f64> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).churn_probability(&mut m.values) {
        Ok(p) => p,
        Err(e) => unscorable(m, e),
    }
}

/// Classifiers: the row's class (the label value of its most probable class). NULL when
/// `segment_assign` would give NULL.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, record).
    let m = unsafe { row_argument(fcinfo)? };
    class_of(m)
}

/// `segment_classify` of the row just read into `m`.
fn class_of(m: &mut CachedModel) -> Option<String> {
    scorable(m)?;
    let a = active(&m.assigner, &m.routing);
    if a.class_name(0).is_none() {
        not_a_classifier(&m.name, "segment_classify");
    }
    match a.label_raw(&mut m.values, &mut m.scratch) {
        Ok(c) => c.and_then(|c| a.class_name(c)).map(str::to_string),
        Err(e) => unscorable(m, e),
    }
}

/// Classifiers: the probability of each class, in the order of `segment_classify_classes`
/// (element i + 1 is its class i). NULL when `segment_assign` would give NULL.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, record).
    let m = unsafe { row_argument(fcinfo)? };
    class_proba(m)
}

/// `segment_classify_proba` of the row just read into `m`.
fn class_proba(m: &mut CachedModel) -> Option<Vec<f64>> {
    scorable(m)?;
    let a = active(&m.assigner, &m.routing);
    if a.class_name(0).is_none() {
        not_a_classifier(&m.name, "segment_classify_proba");
    }
    match a.class_proba(&mut m.values, &mut m.scratch) {
        Ok(true) => Some(m.scratch.clone()),
        Ok(false) => None,
        Err(e) => unscorable(m, e),
    }
}

fn not_a_classifier(model: &str, function: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
        format!("{function}: model \"{model}\" is not a classifier"),
        Some(
            "Fit one with segment_classify_fit; segment_assign gives a clustering model's segment.",
        ),
    )
}

/// Finds every model feature in the row type by name (once per row type and call site).
unsafe fn resolve_layout(
    fcinfo: pg_sys::FunctionCallInfo,
    model: &str,
    assigner: &Assigner,
    group_by: Option<&str>,
    typid: pg_sys::Oid,
    typmod: i32,
) -> RowLayout {
    let tupdesc = PgMemoryContexts::For((*(*fcinfo).flinfo).fn_mcxt)
        .switch_to(|_| pg_sys::lookup_rowtype_tupdesc_copy(typid, typmod));
    // Read through PgTupleDesc: PostgreSQL 18 moved the attributes behind `compact_attrs`, and
    // its accessor knows each version's layout. Borrowed (no release, no free): RowLayout keeps
    // the copy for heap_getattr. Once per row type and call site, never per row.
    let desc = pgrx::PgTupleDesc::from_pg_unchecked(tupdesc);
    let columns = assigner
        .features()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let Some(att) = desc.iter().find(|a| !a.attisdropped && a.name() == f) else {
                missing_column(model, f)
            };
            check_kind(model, assigner, j, att.atttypid);
            (att.attnum as i32, att.atttypid)
        })
        .collect();
    let group = group_by.map(|g| {
        let Some(att) = desc.iter().find(|a| !a.attisdropped && a.name() == g) else {
            missing_group_column(model, g)
        };
        GroupColumn::new(att.attnum as usize, att.atttypid)
    });
    RowLayout {
        typid,
        typmod,
        tupdesc,
        columns,
        group,
    }
}

fn missing_column(model: &str, feature: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
        format!("model \"{model}\" needs column \"{feature}\", which the row does not have"),
        Some("Pass a row that has every feature column of the model, e.g. segment_assign('model', t) for a table t."),
    )
}

fn missing_group_column(model: &str, group_by: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
        format!("model \"{model}\" is fitted per group of \"{group_by}\", which the row does not have"),
        Some("Pass a row that has the grouping column too, e.g. segment_assign('model', t) for a table t."),
    )
}

/// A column for feature `j` must be a number, or text/boolean where the model one-hot encodes.
fn check_kind(model: &str, assigner: &Assigner, j: usize, typ: pg_sys::Oid) {
    let feature = &assigner.features()[j];
    let (ok, needs) = if assigner.categories_of(j).is_some() {
        (CATEGORICAL_TYPES.contains(&typ), "text or a boolean")
    } else {
        (NUMERIC_TYPES.contains(&typ), "a number")
    };
    if !ok {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "column \"{feature}\" has type {}, model \"{model}\" needs {needs}",
                type_name(typ)
            ),
            None,
        );
    }
}

/// Writes feature `j` of a row into the model's raw row: a number in its column, or the one-hot
/// columns of a categorical value; NULL as NaN.
///
/// # Safety
/// `datum` is a value of type `typ`, checked by `check_kind`.
#[inline]
unsafe fn fill_feature(
    assigner: &Assigner,
    values: &mut [f64],
    j: usize,
    datum: Option<pg_sys::Datum>,
    typ: pg_sys::Oid,
) -> Result<(), f64> {
    let at = assigner.offset_of(j);
    match assigner.categories_of(j) {
        None => {
            values[at] = match datum {
                None => f64::NAN,
                Some(d) => {
                    let v = datum_to_f64(d, typ);
                    if !v.is_finite() {
                        // NaN in the row means NULL: the bad value is reported instead.
                        values[at] = f64::NAN;
                        return Err(v);
                    }
                    v
                }
            }
        }
        Some(known) => one_hot(
            known,
            datum.map(|d| category_bytes(d, typ)),
            &mut values[at..at + known.len()],
        ),
    }
    Ok(())
}

/// `segment_assign(model, row)` after the planner rewrite (see `planner.rs`): the row's columns
/// arrive as separate arguments after their names, so no row value is built per row and no
/// attribute is looked up; the features are matched to arguments once per call site.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    unsafe { assign_columns(cached_by_raw_name(fcinfo), fcinfo) }
}

// The row functions after the planner rewrite with the model shipped in the query
// (`customer_segment.ship_models`, see planner.rs): each takes the model's document in place of
// its name, then the row's column names and columns, as `segment_assign_columns`.

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    unsafe { assign_columns(cached_shipped(fcinfo), fcinfo) }
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_churn_predict_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    churn_probability(unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? })
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_proba_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    memberships(unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? })
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_of(unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? })
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_proba(unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? })
}

/// `segment_classify(model, row)` after the planner rewrite: the row's columns as arguments.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_of(unsafe { column_arguments(cached_by_raw_name(fcinfo), fcinfo)? })
}

/// `segment_classify_proba(model, row)` after the planner rewrite: the row's columns as
/// arguments.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_proba(unsafe { column_arguments(cached_by_raw_name(fcinfo), fcinfo)? })
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_explain_shipped(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<pgrx::composite_type!('static, "segment_explanation")> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any") returning segment_explanation.
    let m = unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? };
    explanation(m, fcinfo)
}

/// The segment of the row whose columns are the arguments of this call.
///
/// # Safety
/// `fcinfo` is a call of a function with the SQL signature (text, text[], VARIADIC "any").
unsafe fn assign_columns(m: &mut CachedModel, fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    assign_values(column_arguments(m, fcinfo)?)
}

/// `m` with `values` filled from the row whose columns are the arguments of this call; None when
/// a per-group model has no group for the row.
///
/// # Safety
/// `fcinfo` is a call of a function with the SQL signature (text, text[], VARIADIC "any").
unsafe fn column_arguments(
    m: &mut CachedModel,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<&mut CachedModel> {
    {
        let nargs = (*fcinfo).nargs as usize;
        if m.columns.is_none() {
            let group_by = m.routing.as_ref().map(|r| r.index.group_by.as_str());
            let (columns, group) = resolve_columns(fcinfo, &m.name, &m.assigner, group_by, nargs);
            m.group_argument = group;
            m.all_float8 = !m.assigner.has_categories()
                && columns.iter().all(|&(_, typ)| typ == pg_sys::FLOAT8OID);
            m.columns = Some(columns);
        }
        let args = (*fcinfo).args.as_slice(nargs);
        if let Some(group) = m.group_argument {
            let arg = &args[group.at];
            if !select_group(m, group, (!arg.isnull).then_some(arg.value)) {
                return None;
            }
        }
        let columns = m.columns.as_ref().expect("resolved above");
        // The usual case, every feature a float8 column without one-hot encoding: one tight
        // loop (measured: fill_feature was 13% of an assign over 1M rows).
        if m.all_float8 {
            // Without one-hot columns, value j is feature j.
            for (j, (slot, &(at, _))) in m.values.iter_mut().zip(columns).enumerate() {
                let arg = &args[at];
                *slot = if arg.isnull {
                    f64::NAN
                } else {
                    let v = f64::from_bits(arg.value.value() as u64);
                    if !v.is_finite() {
                        m.bad.get_or_insert((j, v));
                    }
                    v
                };
            }
            return Some(m);
        }
        for (j, &(at, typ)) in columns.iter().enumerate() {
            let arg = &args[at];
            if let Err(v) = fill_feature(
                &m.assigner,
                &mut m.values,
                j,
                (!arg.isnull).then_some(arg.value),
                typ,
            ) {
                m.bad.get_or_insert((j, v));
            }
        }
    }
    Some(m)
}

/// Which argument holds each feature: the names come in argument 1 (a constant made by the
/// planner rewrite), the values from argument 2 on.
unsafe fn resolve_columns(
    fcinfo: pg_sys::FunctionCallInfo,
    model: &str,
    assigner: &Assigner,
    group_by: Option<&str>,
    nargs: usize,
) -> (Vec<(usize, pg_sys::Oid)>, Option<GroupColumn>) {
    let names: Vec<Option<String>> =
        pgrx::fcinfo::pg_getarg::<Vec<Option<String>>>(fcinfo, 1).unwrap_or_default();
    if names.len() + 2 != nargs {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "segment_assign_columns got {} names for {} values",
                names.len(),
                nargs.saturating_sub(2)
            ),
            Some("Call segment_assign(model, row); segment_assign_columns is its planned form."),
        );
    }
    let argument = |name: &str| -> Option<(usize, pg_sys::Oid)> {
        let pos = names.iter().position(|n| n.as_deref() == Some(name))?;
        Some((
            pos + 2,
            pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, (pos + 2) as i32),
        ))
    };
    let columns = assigner
        .features()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let Some((at, typ)) = argument(f) else {
                missing_column(model, f)
            };
            check_kind(model, assigner, j, typ);
            (at, typ)
        })
        .collect();
    let group = group_by.map(|g| {
        let Some((at, typ)) = argument(g) else {
            missing_group_column(model, g)
        };
        GroupColumn::new(at, typ)
    });
    (columns, group)
}

/// The error of a NaN or infinite feature value (the cold path of every reader).
#[cold]
fn not_finite(assigner: &Assigner, j: usize, v: f64) -> CoreError {
    CoreError::new(
        ErrorKind::InvalidData,
        format!(
            "column \"{}\" contains {}",
            assigner.features()[j],
            pg_float_text(v)
        ),
    )
    .with_hint(
        "Segments are defined for finite numbers; NULL follows the model's impute rule. \
         SET customer_segment.invalid_rows = 'null' to get NULL for such rows instead.",
    )
}

unsafe fn datum_to_f64(datum: pg_sys::Datum, typ: pg_sys::Oid) -> f64 {
    match typ {
        pg_sys::INT2OID => datum.value() as i16 as f64,
        pg_sys::INT4OID => datum.value() as i32 as f64,
        pg_sys::INT8OID => datum.value() as i64 as f64,
        pg_sys::FLOAT4OID => f32::from_bits(datum.value() as u32) as f64,
        pg_sys::FLOAT8OID => f64::from_bits(datum.value() as u64),
        // From its digits, not through text: source::numeric_f64 says why, with the figures.
        _ => numeric_f64(datum),
    }
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_assign_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS integer STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_columns_wrapper';
COMMENT ON FUNCTION segment_assign_columns(text, text[], "any") IS
    'Internal: called by segment_assign(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_assign_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS integer STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_shipped(text, text[], "any") IS
    'Internal: segment_assign(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): segment_assign_columns with the model''s document in place of its name; not for direct use';
CREATE FUNCTION segment_assign(model text, "row" record) RETURNS integer
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_row_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_assign(text, record) IS
    'segment of a row under the current version of a model; features are picked by column name';
"#,
    name = "segment_assign_row",
    requires = [
        segment_assign_row,
        segment_assign_columns,
        segment_assign_shipped,
        "segment_assign_planner"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE TYPE segment_explanation AS (
    segment         integer,
    distance        double precision,
    second_segment  integer,
    second_distance double precision,
    margin          double precision
);
CREATE FUNCTION segment_explain(model text, "row" record) RETURNS segment_explanation
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_explain(text, record) IS
    'segment of a row with its distance, the runner-up segment and the margin between them';
CREATE FUNCTION segment_explain_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS segment_explanation STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_shipped_wrapper';
COMMENT ON FUNCTION segment_explain_shipped(text, text[], "any") IS
    'Internal: segment_explain(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
"#,
    name = "segment_explain_sql",
    requires = [
        segment_explain,
        segment_explain_shipped,
        "segment_assign_planner"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_churn_predict(model text, "row" record) RETURNS double precision
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_churn_predict_wrapper'
    SUPPORT segment_assign_support;
CREATE FUNCTION segment_churn_predict_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_churn_predict_shipped_wrapper';
COMMENT ON FUNCTION segment_churn_predict_shipped(text, text[], "any") IS
    'Internal: segment_churn_predict(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
COMMENT ON FUNCTION segment_churn_predict(text, record) IS
    'churn models: the row''s churn probability (its leaf''s training churn rate)';
CREATE FUNCTION segment_churn_assign(model text, "row" record) RETURNS integer
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_row_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_churn_assign(text, record) IS
    'churn models: the row''s leaf, its churn-risk segment (the same as segment_assign)';
"#,
    name = "segment_churn_row_sql",
    requires = [
        segment_churn_predict,
        segment_churn_predict_shipped,
        "segment_assign_row"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_assign_proba(model text, "row" record) RETURNS double precision[]
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_proba_wrapper'
    SUPPORT segment_assign_support;
CREATE FUNCTION segment_assign_proba_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_proba_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_proba_shipped(text, text[], "any") IS
    'Internal: segment_assign_proba(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
COMMENT ON FUNCTION segment_assign_proba(text, record) IS
    'Gaussian mixture models: membership probability of each segment (element s + 1 is segment s)';
"#,
    name = "segment_assign_proba_sql",
    requires = [
        segment_assign_proba,
        segment_assign_proba_shipped,
        "segment_assign_planner"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_classify(model text, "row" record) RETURNS text
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_classify(text, record) IS
    'classifiers: the row''s class, the label value of its most probable class';
CREATE FUNCTION segment_classify_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS text STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_columns_wrapper';
COMMENT ON FUNCTION segment_classify_columns(text, text[], "any") IS
    'Internal: called by segment_classify(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_classify_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS text STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_shipped_wrapper';
COMMENT ON FUNCTION segment_classify_shipped(text, text[], "any") IS
    'Internal: segment_classify(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
CREATE FUNCTION segment_classify_proba(model text, "row" record) RETURNS double precision[]
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_classify_proba(text, record) IS
    'classifiers: the probability of each class, in the order of segment_classify_classes(model)';
CREATE FUNCTION segment_classify_proba_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_columns_wrapper';
COMMENT ON FUNCTION segment_classify_proba_columns(text, text[], "any") IS
    'Internal: called by segment_classify_proba(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_classify_proba_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_shipped_wrapper';
COMMENT ON FUNCTION segment_classify_proba_shipped(text, text[], "any") IS
    'Internal: segment_classify_proba(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
"#,
    name = "segment_classify_sql",
    requires = [
        segment_classify,
        segment_classify_columns,
        segment_classify_shipped,
        segment_classify_proba,
        segment_classify_proba_columns,
        segment_classify_proba_shipped,
        "segment_assign_planner"
    ]
);
