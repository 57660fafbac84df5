//! What a call site keeps for the statement in its `fn_extra`: the models it has read (by name
//! through the backend's model cache, or shipped in the query) with their per-row buffers and
//! the resolved layout of the rows they are given.

use super::columns::ColumnArguments;
use super::per_group::Routing;
use super::record::RowLayout;
use crate::catalog::{self, RowsModel};
use crate::errors::{raise, raise_core, require};
use crate::source::text_bytes;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::error::{CoreError, ErrorKind};
use segment_core::model::assigner::Assigner;
use std::rc::Rc;

/// One model at a call site, with what its rows need: the buffers of the row being scored and
/// where each form finds the features.
pub(super) struct CachedModel {
    pub(super) name: String,
    /// The model; for a per-group model, its first group's (the layout every group shares).
    /// Shared with the backend's model cache (catalog::rows_model).
    pub(super) assigner: Rc<Assigner>,
    pub(super) routing: Option<Box<Routing>>,
    pub(super) values: Vec<f64>,
    pub(super) scratch: Vec<f64>,
    /// For the row form: where each feature sits in the row type last seen.
    pub(super) layout: Option<RowLayout>,
    /// For the columns and shipped forms: which argument holds each feature (and the grouping
    /// column).
    pub(super) columns: Option<ColumnArguments>,
    /// For `segment_explain`: its result type's descriptor, a copy in the call site's memory
    /// context (`answers::explanation`).
    pub(super) explanation_desc: Option<pg_sys::TupleDesc>,
    /// The current row's first NaN or infinite feature (feature, value): such a row cannot be
    /// scored (`answers::unscorable`). Set while the row is read, taken when it is scored.
    pub(super) bad: Option<(usize, f64)>,
}

impl CachedModel {
    fn new(name: String, assigner: Rc<Assigner>, routing: Option<Box<Routing>>) -> CachedModel {
        CachedModel {
            name,
            values: vec![0.0; assigner.n_columns()],
            scratch: vec![0.0; assigner.k()],
            assigner,
            routing,
            layout: None,
            columns: None,
            explanation_desc: None,
            bad: None,
        }
    }
}

/// What one call site keeps for the statement: usually a single model.
#[derive(Default)]
pub(super) struct CallSite {
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
    pub(super) unsafe fn of<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CallSite {
        let extra = (*(*fcinfo).flinfo).fn_extra;
        if extra.is_null() {
            &mut *pgrx::fcinfo::pg_func_extra(fcinfo, CallSite::default).as_ptr()
        } else {
            &mut *extra.cast::<CallSite>()
        }
    }

    /// The cached model whose name is `name` (UTF-8 bytes), loading it on first use.
    pub(super) fn model(&mut self, name: &[u8]) -> &mut CachedModel {
        let at = self.position(name);
        &mut self.models[at]
    }

    fn position(&mut self, name: &[u8]) -> usize {
        let at = match self.models.iter().position(|m| m.name.as_bytes() == name) {
            Some(at) => at,
            None => {
                let name = String::from_utf8_lossy(name).into_owned();
                // Once per call site and statement: the backend's cache answers when the
                // statement sees the row the kept model was parsed from and the caller's right
                // to read it is known (catalog/model_cache.rs); else the catalog, as before.
                let (assigner, routing) = match catalog::rows_model(&name) {
                    RowsModel::Grouped(index) => {
                        let (assigner, routing) = Routing::load(&name, index);
                        (assigner, Some(Box::new(routing)))
                    }
                    RowsModel::One(assigner) => (assigner, None),
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
///
/// # Safety
/// `fcinfo` is the current call, whose argument 0 is text.
pub(super) unsafe fn cached_by_raw_name<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> &'a mut CachedModel {
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
///
/// # Safety
/// `fcinfo` is the current call, whose argument 0 is text.
pub(super) unsafe fn cached_shipped<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a mut CachedModel {
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
        Rc::new(shipped.model.assigner()),
        None,
    ));
    site.constant = Some(site.models.len() - 1);
    site.models.last_mut().expect("pushed above")
}
