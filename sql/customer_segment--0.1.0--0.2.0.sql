\echo Use "ALTER EXTENSION customer_segment UPDATE TO '0.2.0'" to load this file. \quit

-- customer_segment 0.1.0 -> 0.2.0 (ALTER EXTENSION customer_segment UPDATE).
--
-- Every change to the extension's SQL from 0.1.0 on adds its statements here (ALTER TABLE on the
-- catalog, CREATE OR REPLACE FUNCTION, ALTER FUNCTION, COMMENT ON, new objects), so that a
-- database created at 0.1.0 ends up with what CREATE EXTENSION gives at 0.2.0; the upgrade tier
-- (tests/upgrade/run.sh) replays the path from sql/released/ and diffs a pg_dump --schema-only of
-- the updated database against a fresh install's (signatures, volatility, comments, policies,
-- grants, views: any difference fails).
--
-- The catalog tables are unchanged: per-group models are stored as ordinary rows (an index
-- document plus one model per group).

-- Per-group models (segment_fit's group_by option): list a per-group model's groups.
CREATE FUNCTION "segment_groups"(
	"model" TEXT
) RETURNS TABLE (
	"group_value" TEXT,
	"rows_used" bigint,
	"model" TEXT,
	"version" INT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_groups_wrapper';

-- ... and the labels of its segments per group (segment_create_view joins them).
CREATE FUNCTION "segment_group_labels"(
	"model" TEXT
) RETURNS TABLE (
	"group_value" TEXT,
	"segment" INT,
	"label" TEXT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_group_labels_wrapper';

-- Pictures (added after 0.1.0 was cut; found missing by the upgrade test's comparison).
CREATE FUNCTION "segment_plot"(
	"model" TEXT,
	"kind" TEXT DEFAULT 'scatter',
	"source" regclass DEFAULT NULL
) RETURNS TEXT
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_plot_wrapper';
