//! The row functions (`segment_assign`, `segment_explain`, `segment_classify`, ...): the answer
//! for one row, cheap enough for every row of a large table.
//!
//! The model is read from the catalog once per call site and statement, and kept in the
//! function's `fn_extra` (memory of the statement's expression, so a refit is seen by the next
//! statement): `call_site`. The row's layout (which attribute holds which feature) is resolved
//! once per row type (`record`) or, for the forms the planner writes, once per call site
//! (`columns`). Per row: one attribute fetch per feature (`features`), the group's model for a
//! per-group model (`per_group`), scaling, k distances, no allocation, and the function's answer
//! (`answers`). `forms` declares each function's SQL call forms; `array` the feature-array form of
//! `segment_assign`.

mod answers;
mod array;
mod call_site;
mod columns;
mod features;
mod forms;
mod per_group;
mod record;
