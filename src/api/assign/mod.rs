//! The row functions (`segment_assign`, `segment_explain`, `segment_classify`, ...): the answer
//! for one row, cheap enough for every row of a large table.
//!
//! Each call site takes its model once per statement and keeps it in the function's `fn_extra`
//! (`call_site`): from the session's model cache when the catalog row is the one the kept model
//! was parsed from, else read and parsed (`catalog::model_cache`; docs/how-it-works.md, "Assign"). The row's layout (which attribute holds which feature) is resolved
//! once per row type (`record`) or, for the forms the planner writes, once per call site
//! (`columns`); `fill` reads each row into the model with it. Per row: one attribute fetch per
//! feature (`features`), the group's model for a per-group model (`per_group`), scaling, k
//! distances, and the function's answer (`answers`); what allocates per row is in
//! docs/how-it-works.md. `forms` declares each function's SQL call forms; `array` the feature-array
//! form of `segment_assign`.

mod answers;
mod array;
mod call_site;
mod columns;
mod features;
mod fill;
mod forms;
mod per_group;
mod record;
