//! Running a SELECT the extension built, each row handed to Rust as the executor produces it.
//!
//! A fit reads every row of its source. An SPI cursor copies each row into a new heap tuple
//! (`spi_printtup`) that the caller then takes apart again. A `DestReceiver` given to
//! `SPI_execute_plan_extended` sees the executor's own slot: nothing is copied. Parallel plans
//! are allowed only where the query's ORDER BY fixes the order of its rows (`Plan::Parallel`):
//! a parallel scan hands rows over in an order that changes from run to run, and a seeded fit
//! must see its rows in the same order every time. For the same reason every read runs with
//! `synchronize_seqscans` off (see `for_each`). Everything else is SPI's:
//! the caller's privileges and row-level security, views, partitioned and foreign tables, Citus,
//! and the executor's interrupt checks (cancel, `statement_timeout`) on every row.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_int, c_void, CString};

/// One row of the result, its columns already deformed.
pub struct Row {
    slot: *mut pg_sys::TupleTableSlot,
}

impl Row {
    /// Column `i` (from 0), None for NULL. The datum lives as long as the row.
    #[inline]
    pub fn datum(&self, i: usize) -> Option<pg_sys::Datum> {
        // SAFETY: `receive` deformed every attribute of this slot before handing it out, and
        // callers ask only for columns of their own SELECT list.
        unsafe {
            let slot = &*self.slot;
            assert!(i < (*slot.tts_tupleDescriptor).natts as usize);
            (!*slot.tts_isnull.add(i)).then(|| *slot.tts_values.add(i))
        }
    }

    /// Column `i` as its type's text output (to name a row in an error), or None for NULL.
    pub fn text(&self, i: usize) -> Option<String> {
        let datum = self.datum(i)?;
        // SAFETY: the type comes from the slot's own descriptor (SPI_gettypeid: the descriptor's
        // layout differs between PostgreSQL versions); the output function returns a palloc'd C
        // string.
        unsafe {
            let typ = pg_sys::SPI_gettypeid((*self.slot).tts_tupleDescriptor, i as c_int + 1);
            let (mut output, mut varlena) = (pg_sys::Oid::INVALID, false);
            pg_sys::getTypeOutputInfo(typ, &mut output, &mut varlena);
            let text = pg_sys::OidOutputFunctionCall(output, datum);
            Some(
                std::ffi::CStr::from_ptr(text)
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }
}

/// Our receiver: PostgreSQL's struct first, so a pointer to it is a pointer to ours.
#[repr(C)]
struct Receiver {
    base: pg_sys::DestReceiver,
    /// Points at the caller's `&mut dyn FnMut(&Row) -> bool`, alive for the whole query.
    on_row: *mut c_void,
}

type OnRow<'a> = &'a mut dyn FnMut(&Row) -> bool;

#[pg_guard]
unsafe extern "C-unwind" fn receive(
    slot: *mut pg_sys::TupleTableSlot,
    this: *mut pg_sys::DestReceiver,
) -> bool {
    let on_row = &mut *((*(this as *mut Receiver)).on_row as *mut OnRow);
    pg_sys::slot_getallattrs(slot);
    on_row(&Row { slot })
}

// Nothing to set up or tear down: the receiver lives on the caller's stack. (Plain functions:
// they cannot fail, so need no guard.)
unsafe extern "C-unwind" fn startup(
    _this: *mut pg_sys::DestReceiver,
    _operation: c_int,
    _typeinfo: pg_sys::TupleDesc,
) {
}

unsafe extern "C-unwind" fn shutdown(_this: *mut pg_sys::DestReceiver) {}

/// Which plans the planner may choose.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// No parallel workers: rows arrive in the order of a serial plan (a table's stored order).
    Serial,
    /// Parallel workers allowed: for a query whose ORDER BY fixes the order of the rows.
    Parallel,
}

/// Runs `query` (a SELECT, with parameters `$1`, `$2`, ...) and calls `on_row` with every row
/// until it returns false. Needs an SPI connection (inside `Spi::connect`). An error of the
/// query (a missing privilege, a failed cast) is raised as usual.
pub fn for_each(
    query: &str,
    params: &[DatumWithOid],
    plan: Plan,
    mut on_row: impl FnMut(&Row) -> bool,
) {
    let query = CString::new(query).expect("the extension's queries contain no NUL");
    let mut on_row: OnRow = &mut on_row;
    let mut receiver = Receiver {
        base: pg_sys::DestReceiver {
            receiveSlot: Some(receive),
            rStartup: Some(startup),
            rShutdown: Some(shutdown),
            rDestroy: Some(shutdown),
            mydest: pg_sys::CommandDest::DestNone,
        },
        on_row: &mut on_row as *mut OnRow as *mut c_void,
    };
    // SAFETY: the parameter list is sized for `params`; the receiver and the closure it points
    // at outlive the call; SPI is connected (documented requirement).
    unsafe {
        let list = if params.is_empty() {
            std::ptr::null_mut()
        } else {
            let list = pg_sys::makeParamList(params.len() as c_int);
            for (slot, param) in (*list)
                .params
                .as_mut_slice(params.len())
                .iter_mut()
                .zip(params)
            {
                let value = param.datum().map(|d| d.sans_lifetime());
                *slot = pg_sys::ParamExternData {
                    value: value.unwrap_or(pg_sys::Datum::from(0)),
                    isnull: value.is_none(),
                    pflags: pg_sys::PARAM_FLAG_CONST as u16,
                    ptype: param.oid(),
                };
            }
            list
        };
        let mut types: Vec<pg_sys::Oid> = params.iter().map(DatumWithOid::oid).collect();
        let cursor_options = match plan {
            Plan::Serial => 0,
            Plan::Parallel => pg_sys::CURSOR_OPT_PARALLEL_OK as c_int,
        };
        let prepared = pg_sys::SPI_prepare_cursor(
            query.as_ptr(),
            types.len() as c_int,
            types.as_mut_ptr(),
            cursor_options,
        );
        if prepared.is_null() {
            // Only for arguments SPI refuses; errors of the query itself are raised by SPI.
            crate::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "preparing the read of the source failed",
                None,
            );
        }
        // A seeded fit draws rows by their position (k-means++ seeds, samples), so the rows of
        // a serial plan must come in the table's stored order every time. A sequential scan of a
        // table larger than a quarter of shared_buffers starts where another running scan of it
        // is (`synchronize_seqscans`), mid-table: the same seed would give another model. The
        // setting is turned off for this query only, as a function's SET clause does: a new GUC
        // nest level, popped below or, on an error, by the (sub)transaction's abort. That costs
        // nothing, where an ORDER BY would sort every row (by ctid for a table without a key).
        // It also keeps a parallel scan (`Plan::Parallel`) from starting mid-table; which
        // worker gets which block still changes, hence parallel plans only under an ORDER BY.
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"synchronize_seqscans".as_ptr(),
            c"off".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        let options = pg_sys::SPIExecuteOptions {
            params: list,
            read_only: false,
            allow_nonatomic: false,
            must_return_tuples: false,
            tcount: 0,
            dest: &mut receiver.base,
            owner: std::ptr::null_mut(),
        };
        let rc = pg_sys::SPI_execute_plan_extended(prepared, &options);
        pg_sys::AtEOXact_GUC(true, level);
        pg_sys::SPI_freeplan(prepared);
        // A SELECT whose receiver is not SPI's own reports SPI_OK_UTILITY (nothing kept).
        if rc != pg_sys::SPI_OK_SELECT as c_int && rc != pg_sys::SPI_OK_UTILITY as c_int {
            crate::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("reading the source failed: SPI result {rc}"),
                None,
            );
        }
    }
}
