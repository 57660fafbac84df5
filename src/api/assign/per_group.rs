//! Per-group models at a call site: the grouping column's value picks the group's model, loaded
//! on the first row of its group.

use crate::catalog;
use crate::errors::raise;
use crate::source::{category_bytes, CATEGORICAL_TYPES};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::assigner::Assigner;
use segment_core::model::groups::{decimal_text, GroupIndex};
use std::rc::Rc;

/// Where a per-group model's grouping column is (attribute number in a row, or argument index of
/// `segment_assign_columns`), its type, and that type's output function.
#[derive(Clone, Copy)]
pub(super) struct GroupColumn {
    pub(super) at: usize,
    typ: pg_sys::Oid,
    output: pg_sys::Oid,
}

impl GroupColumn {
    pub(super) fn new(at: usize, typ: pg_sys::Oid) -> GroupColumn {
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
pub(super) struct Routing {
    /// Shared with the backend's model cache, as are the group models.
    pub(super) index: Rc<GroupIndex>,
    /// Parallel to `index.groups`: the groups this call site has met.
    assigners: Vec<Option<Rc<Assigner>>>,
    /// The group of the row being assigned.
    current: usize,
}

impl Routing {
    /// The per-group model `name`: its routing, and its first group's model, whose features and
    /// matrix columns every group shares (they were fitted together on the same columns).
    pub(super) fn load(name: &str, index: Rc<GroupIndex>) -> (Rc<Assigner>, Routing) {
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
    fn member(&mut self, name: &str, g: usize, template: Option<&Assigner>) -> &Rc<Assigner> {
        if self.assigners[g].is_none() {
            let group = &self.index.groups[g];
            let member = group.model.as_deref().expect("called for fitted groups");
            // Read (and its right to be read checked) as the per-group model was: once per call
            // site and statement, through the backend's cache.
            let assigner = catalog::rows_group_model(member, group.version);
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
/// model `name` (`template`: its first group's model); false when the row gets no segment.
///
/// # Safety
/// `datum` is a value of `group.typ`.
pub(super) unsafe fn select_group(
    routing: &mut Routing,
    name: &str,
    template: &Assigner,
    group: GroupColumn,
    datum: Option<pg_sys::Datum>,
) -> bool {
    let mut digits = [0u8; 20];
    let value = datum.map(|d| group.text(d, &mut digits));
    routing.select(name, value, template)
}

/// The model that assigns the current row: the group's for a per-group model.
#[inline]
pub(super) fn active<'a>(
    assigner: &'a Assigner,
    routing: &'a Option<Box<Routing>>,
) -> &'a Assigner {
    match routing {
        None => assigner,
        Some(r) => r.assigners[r.current]
            .as_ref()
            .expect("selected groups are loaded"),
    }
}
