//! What drove a change (`segment_drivers`): the slices of the rows — combinations of dimension
//! values, `job=admin.` or `job=admin.` and `contact=cellular` — whose metric moved between a
//! control set of rows (before) and a test set (after), as BigQuery's contribution analysis,
//! Databricks' `ai_top_drivers` or Snowflake's `TOP_INSIGHTS` find them.
//!
//! The shell runs one grouping query over the source (`sql::drivers::query`: `GROUP BY` the test
//! flag and `GROUPING SETS` of every combination of up to `max_depth` dimensions) and hands its
//! rows here as [`Cell`]s: per slice and flag the rows, and the sums the metric's statistics need.
//! Everything else — each slice's metric in test and control, its difference, share of the change,
//! unexpected difference, significance, the pruning and the order — is computed here from those
//! sums (docs/reference.md, "segment_drivers", defines each column).

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{check_range, Given, Key, Kind};
use std::collections::HashMap;

/// Most dimensions in one call: PostgreSQL's `GROUPING()` takes at most 31 arguments.
pub const MAX_DIMENSIONS: usize = 31;
/// Most grouping sets in one query (PostgreSQL's own limit).
pub const MAX_GROUPING_SETS: usize = 4096;
/// Most slices one call reads (each a row per flag of the grouping query): beyond that the answer
/// is not read by anyone, and the rows would be held in memory.
pub const MAX_SLICES: usize = 50_000;
/// The deepest slices: four dimension values at once.
pub const MAX_DEPTH: u64 = 4;

/// What the metric is per slice and group.
#[derive(Debug, Clone, PartialEq)]
pub enum Per {
    /// The sum of the metric over the rows (revenue, orders; a 0/1 flag counts).
    Sum,
    /// The mean per row: sum(metric) / rows with a value (a rate, for a 0/1 flag).
    Row,
    /// A ratio of sums: sum(metric) / sum(denominator column), over the rows with both.
    Column(String),
}

/// How the slices are ordered after the population's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    UnexpectedDifference,
    Contribution,
}

/// `segment_drivers`'s options, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DriversOptions {
    pub per: Per,
    pub max_depth: usize,
    pub min_support: f64,
    pub prune: bool,
    pub top: Option<usize>,
    pub order_by: OrderBy,
}

impl Default for DriversOptions {
    fn default() -> Self {
        DriversOptions {
            per: Per::Sum,
            max_depth: 3,
            min_support: 0.05,
            prune: true,
            top: None,
            order_by: OrderBy::UnexpectedDifference,
        }
    }
}

impl DriversOptions {
    pub const KEYS: [Key; 6] = [
        Key::new("per", Kind::Text),
        Key::new("max_depth", Kind::PositiveInteger),
        Key::new("min_support", Kind::Number),
        Key::new("prune", Kind::Boolean),
        Key::nullable("top", Kind::PositiveInteger),
        Key::new(
            "order_by",
            Kind::OneOf(&["unexpected_difference", "contribution"]),
        ),
    ];

    /// Reads the `options jsonb` text: unknown keys (with the nearest known one), values of the
    /// wrong kind and values out of range are errors naming the option.
    pub fn from_json(text: &str) -> CoreResult<DriversOptions> {
        let given = Given::from_json(text, None, &Self::KEYS)?;
        let mut o = DriversOptions::default();
        if let Some(per) = given.text("per") {
            o.per =
                match per {
                    "" => return Err(CoreError::invalid_parameter(
                        "option per must be \"row\" or a column of the source, not an empty string",
                    )),
                    "row" => Per::Row,
                    column => Per::Column(column.to_string()),
                };
        }
        if let Some(depth) = given.integer("max_depth") {
            check_range("max_depth", depth, 1, MAX_DEPTH)?;
            o.max_depth = depth as usize;
        }
        if let Some(support) = given.number("min_support") {
            if !(0.0..=1.0).contains(&support) {
                return Err(CoreError::invalid_parameter(format!(
                    "option min_support must be between 0 and 1, not {support}"
                ))
                .with_hint("min_support is the least share of the rows (test and control together) a slice holds, e.g. 0.05."));
            }
            o.min_support = support;
        }
        if let Some(prune) = given.boolean("prune") {
            o.prune = prune;
        }
        if let Some(top) = given.integer("top") {
            check_range("top", top, 1, MAX_SLICES as u64)?;
            o.top = Some(top as usize);
        }
        if let Some(order) = given.choice("order_by") {
            o.order_by = order;
        }
        Ok(o)
    }
}

/// The depth of the deepest slices (`max_depth`, at most the number of dimensions), after
/// checking what one query can group by: at most `MAX_DIMENSIONS` dimensions and
/// `MAX_GROUPING_SETS` combinations of that many of them.
fn depth_of(dimensions: usize, max_depth: usize) -> CoreResult<usize> {
    if dimensions == 0 {
        return Err(
            CoreError::invalid_parameter("dimensions must name at least one column")
                .with_hint("Pass the columns to slice by as ARRAY['region', 'plan']."),
        );
    }
    if dimensions > MAX_DIMENSIONS {
        return Err(CoreError::new(
            ErrorKind::ResourceLimit,
            format!("segment_drivers takes at most {MAX_DIMENSIONS} dimensions, not {dimensions}"),
        )
        .with_hint("Pick the dimensions most likely to explain the change."));
    }
    let depth = max_depth.min(dimensions);
    let count = binomial(dimensions, depth);
    if count > MAX_GROUPING_SETS {
        return Err(CoreError::new(
            ErrorKind::ResourceLimit,
            format!(
                "{dimensions} dimensions to depth {depth} are {count} combinations of {depth}, more than the {MAX_GROUPING_SETS} grouping sets one query takes"
            ),
        )
        .with_hint("Lower the option max_depth or pass fewer dimensions."));
    }
    Ok(depth)
}

/// The dimension combinations the grouping query asks for: every set of exactly `max_depth` of
/// `dimensions` dimensions (all of them when there are fewer), each in the dimensions' order. The
/// shallower slices are sums of these cells ([`grouping_sets`], added up here): a query with
/// every set up to `max_depth` hashes each row once per set, 26 times for five dimensions to
/// depth 3 against 10 (benches/drivers.py).
pub fn queried_sets(dimensions: usize, max_depth: usize) -> CoreResult<Vec<Vec<usize>>> {
    let depth = depth_of(dimensions, max_depth)?;
    Ok(combinations(dimensions, depth)
        .into_iter()
        .filter(|s| s.len() == depth)
        .collect())
}

/// Every slice's dimension combination: the sets of up to `max_depth` of `dimensions` dimensions
/// (the empty set first: the population), each in the dimensions' order, shallower sets first.
pub fn grouping_sets(dimensions: usize, max_depth: usize) -> CoreResult<Vec<Vec<usize>>> {
    Ok(combinations(dimensions, depth_of(dimensions, max_depth)?))
}

fn combinations(dimensions: usize, depth: usize) -> Vec<Vec<usize>> {
    let mut sets = vec![Vec::new()];
    let mut layer: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for set in &layer {
            let from = set.last().map_or(0, |&l| l + 1);
            for d in from..dimensions {
                let mut s = set.clone();
                s.push(d);
                next.push(s);
            }
        }
        sets.extend(next.iter().cloned());
        layer = next;
    }
    sets
}

/// The queried set a shallower set is summed from: the set with the first dimensions it lacks.
fn superset(set: &[usize], depth: usize) -> Vec<usize> {
    let mut out = set.to_vec();
    let mut d = 0;
    while out.len() < depth {
        if !out.contains(&d) {
            out.push(d);
        }
        d += 1;
    }
    out.sort_unstable();
    out
}

fn binomial(n: usize, k: usize) -> usize {
    (0..k).fold(1, |acc, i| acc * (n - i) / (i + 1))
}

/// One row of the grouping query: a slice (the dimensions of its grouping set, with their
/// values) and one value of the test flag, with the sums over its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// `GROUPING(d1, …, dk)` of the row: bit `k - 1 - j` set when dimension j is not in the
    /// row's grouping set (PostgreSQL's order: the last argument is the lowest bit).
    pub grouping: u32,
    /// Per dimension its value as text (NULL: the value is NULL, or the dimension is not grouped).
    pub values: Vec<Option<String>>,
    /// The test flag: true test, false control, None the rows whose flag is NULL.
    pub test: Option<bool>,
    pub sums: Sums,
}

/// The sums over a cell's rows. `rows` counts every row; the rest are over the rows used (a
/// metric value, and a denominator value for a ratio).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub rows: u64,
    pub used: u64,
    /// Sum of the metric.
    pub metric: f64,
    /// Sum of the squared deviations of the metric from its mean.
    pub metric_ss: f64,
    /// Ratio metrics: sum of the denominator, its squared deviations, and the cross products of
    /// the deviations of metric and denominator. Otherwise 0.
    pub denominator: f64,
    pub denominator_ss: f64,
    pub cross: f64,
}

impl Sums {
    /// A cell's sums from the grouping query's columns (`sql::drivers::query`): the rows, the
    /// rows used, then the metric's sum and squared deviations, and for a ratio the denominator's
    /// and the cross products.
    pub fn from_columns(rows: u64, used: u64, sums: &[f64]) -> Sums {
        let at = |i: usize| sums.get(i).copied().unwrap_or(0.0);
        Sums {
            rows,
            used,
            metric: at(0),
            metric_ss: at(1),
            denominator: at(2),
            denominator_ss: at(3),
            cross: at(4),
        }
    }

    /// Adds another cell's rows (Chan's update of the squared deviations). A slice has one cell
    /// per flag unless two values of a dimension have the same text.
    fn add(&mut self, o: &Sums) {
        let (na, nb) = (self.used as f64, o.used as f64);
        if nb > 0.0 && na > 0.0 {
            let n = na + nb;
            let dm = o.metric / nb - self.metric / na;
            let dd = o.denominator / nb - self.denominator / na;
            self.metric_ss += o.metric_ss + dm * dm * na * nb / n;
            self.denominator_ss += o.denominator_ss + dd * dd * na * nb / n;
            self.cross += o.cross + dm * dd * na * nb / n;
        } else if nb > 0.0 {
            self.metric_ss = o.metric_ss;
            self.denominator_ss = o.denominator_ss;
            self.cross = o.cross;
        }
        self.rows += o.rows;
        self.used += o.used;
        self.metric += o.metric;
        self.denominator += o.denominator;
    }
}

/// One row of `segment_drivers`' result.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverRow {
    /// `column=value` (`column IS NULL`) items, in the dimensions' order; empty for the population.
    pub drivers: Vec<String>,
    pub metric_test: Option<f64>,
    pub metric_control: Option<f64>,
    pub difference: Option<f64>,
    pub relative_difference: Option<f64>,
    pub contribution: Option<f64>,
    pub unexpected_difference: Option<f64>,
    pub support: f64,
    pub rows_test: u64,
    pub rows_control: u64,
    pub p_value: Option<f64>,
}

/// The result, and what was left out for the NOTICE.
#[derive(Debug, Clone, PartialEq)]
pub struct Drivers {
    pub rows: Vec<DriverRow>,
    /// Rows whose test flag is NULL.
    pub flag_null: u64,
    /// Rows with a flag but no metric (or, for a ratio, no denominator) value.
    pub value_null: u64,
    /// Slices found before min_support, pruning and top (the population aside).
    pub slices: usize,
}

impl Drivers {
    /// The NOTICE of the rows left out, if any: `left out 3 rows whose "is_after" is NULL and 2
    /// whose "revenue" is NULL`.
    pub fn left_out_notice(&self, test_column: &str, metric: &str, per: &Per) -> Option<String> {
        let mut parts = Vec::new();
        if self.flag_null > 0 {
            parts.push(format!(
                "{} {} whose test_column \"{test_column}\" is NULL",
                self.flag_null,
                rows_word(self.flag_null)
            ));
        }
        if self.value_null > 0 {
            let what = match per {
                Per::Column(d) => format!("metric \"{metric}\" or per column \"{d}\" is NULL"),
                _ => format!("metric \"{metric}\" is NULL"),
            };
            parts.push(format!(
                "{} {} whose {what}",
                self.value_null,
                rows_word(self.value_null)
            ));
        }
        (!parts.is_empty()).then(|| format!("segment_drivers left out {}", parts.join(" and ")))
    }
}

fn rows_word(n: u64) -> &'static str {
    if n == 1 {
        "row"
    } else {
        "rows"
    }
}

/// A slice: (dimension, value) items in the dimensions' order.
type SliceKey = Vec<(usize, Option<String>)>;

#[derive(Debug, Clone, Copy, Default)]
struct Pair {
    test: Sums,
    control: Sums,
}

/// The slices of `cells` (the grouping query's rows) with every column, pruned, filtered by
/// support, ordered and cut at `top`. `dimensions` names the dimensions (for the items),
/// `test_column` and `metric` are for errors. `check` is called between blocks of work.
pub fn drivers(
    cells: &[Cell],
    dimensions: &[String],
    test_column: &str,
    metric: &str,
    options: &DriversOptions,
    check: &mut dyn FnMut(),
) -> CoreResult<Drivers> {
    // The query stops after 3 x MAX_SLICES + 1 rows: more rows than a slice has flags (true,
    // false, NULL) times MAX_SLICES are more slices.
    if cells.len() > 3 * MAX_SLICES {
        return Err(too_many_slices());
    }
    let k = dimensions.len();
    let (slices, flag_null) = roll_up(cells, k, options.max_depth, check)?;
    if slices.len() > MAX_SLICES + 1 {
        return Err(too_many_slices());
    }
    let pop = slices.get(&Vec::new()).copied().unwrap_or_default();
    let value_null = (pop.test.rows - pop.test.used.min(pop.test.rows))
        + (pop.control.rows - pop.control.used.min(pop.control.rows));
    let what = match &options.per {
        Per::Column(d) => format!("values of metric \"{metric}\" and per column \"{d}\""),
        _ => format!("a value of metric \"{metric}\""),
    };
    for (flag, sums, group) in [(true, &pop.test, "test"), (false, &pop.control, "control")] {
        if sums.used == 0 {
            return Err(CoreError::new(
                ErrorKind::InsufficientData,
                format!(
                    "segment_drivers found no {group} rows: no row has test_column \"{test_column}\" {flag} and {what}"
                ),
            )
            .with_hint(
                "test_column is true on the test rows (after) and false on the control rows (before); both are needed.",
            ));
        }
    }
    for (sums, group) in [(&pop.test, "test"), (&pop.control, "control")] {
        let values = [
            sums.metric,
            sums.metric_ss,
            sums.denominator,
            sums.denominator_ss,
            sums.cross,
        ];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::new(
                ErrorKind::InvalidData,
                format!("the {group} rows' {what} include NaN or infinite values, or sum beyond the range of double precision"),
            )
            .with_hint("Leave those rows out in a view (WHERE metric <> 'NaN' AND metric < 'Infinity' AND metric > '-Infinity')."));
        }
    }

    let all_used = (pop.test.used + pop.control.used) as f64;
    let measure = Measure::new(&options.per, &pop);
    let mut rows = Vec::new();
    let mut found = 0usize;
    for (i, (key, pair)) in slices.entries.iter().enumerate() {
        if i % 4096 == 0 {
            check();
        }
        if key.is_empty() {
            continue;
        }
        found += 1;
        let support = (pair.test.used + pair.control.used) as f64 / all_used;
        if support < options.min_support {
            continue;
        }
        if options.prune && redundant(key, pair, &slices) {
            continue;
        }
        rows.push(measure.row(items(key, dimensions), pair, support));
    }
    sort(&mut rows, options.order_by);
    if let Some(top) = options.top {
        rows.truncate(top);
    }
    let mut out = Vec::with_capacity(rows.len() + 1);
    let mut first = measure.row(Vec::new(), &pop, 1.0);
    // By definition: the population is its own expectation and the whole of the change.
    first.unexpected_difference = first.unexpected_difference.map(|_| 0.0);
    first.contribution = first.contribution.map(|_| 1.0);
    out.push(first);
    out.extend(rows);
    Ok(Drivers {
        rows: out,
        flag_null,
        value_null,
        slices: found,
    })
}

fn too_many_slices() -> CoreError {
    CoreError::new(
        ErrorKind::ResourceLimit,
        format!("segment_drivers found more than {MAX_SLICES} slices"),
    )
    .with_hint(
        "Lower the option max_depth, pass fewer dimensions, or dimensions with fewer values (bucket a number in a view).",
    )
}

/// Every slice's test and control sums, in the order the query's cells first name them (so that
/// the sums are added in the same order on every call), and a key's place.
#[derive(Default)]
struct Slices {
    entries: Vec<(SliceKey, Pair)>,
    index: HashMap<SliceKey, usize>,
}

impl Slices {
    fn entry(&mut self, key: SliceKey) -> &mut Pair {
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.entries.push((key.clone(), Pair::default()));
                self.index.insert(key, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    fn get(&self, key: &SliceKey) -> Option<&Pair> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A cell of a queried set: its dimensions' values, the flag, the sums.
type FineCell = (Vec<Option<String>>, Option<bool>, Sums);

/// The cells of the queried sets ([`queried_sets`]; cells of other sets are not read) summed into
/// every slice of up to `max_depth` items: a queried set's cells are its slices; a shallower
/// set's slices are the sums of its [`superset`]'s cells with the same values of its own
/// dimensions. Also the rows whose flag is NULL.
fn roll_up(
    cells: &[Cell],
    k: usize,
    max_depth: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<(Slices, u64)> {
    let queried = queried_sets(k, max_depth)?;
    let depth = max_depth.min(k);
    let mask = |set: &[usize]| -> u32 {
        (0..k)
            .filter(|j| !set.contains(j))
            .map(|j| 1u32 << (k - 1 - j))
            .sum()
    };
    let by_mask: HashMap<u32, usize> = queried
        .iter()
        .enumerate()
        .map(|(i, s)| (mask(s), i))
        .collect();
    // Per queried set, its cells in the query's order: the set's values, the flag, the sums.
    let mut fine: Vec<Vec<FineCell>> = vec![Vec::new(); queried.len()];
    for (i, cell) in cells.iter().enumerate() {
        if i % 4096 == 0 {
            check();
        }
        let Some(&q) = by_mask.get(&cell.grouping) else {
            continue;
        };
        let values = queried[q]
            .iter()
            .map(|&j| cell.values.get(j).cloned().flatten())
            .collect();
        fine[q].push((values, cell.test, cell.sums));
    }
    let mut slices = Slices::default();
    let mut flag_null = 0;
    for (n, set) in grouping_sets(k, depth)?.iter().enumerate() {
        if n % 64 == 0 {
            check();
        }
        let from = superset(set, depth);
        let q = queried
            .iter()
            .position(|s| *s == from)
            .expect("a queried set");
        let places: Vec<usize> = set
            .iter()
            .map(|j| from.iter().position(|f| f == j).expect("a subset"))
            .collect();
        for (values, test, sums) in &fine[q] {
            let Some(test) = test else {
                if set.is_empty() {
                    flag_null += sums.rows;
                }
                continue;
            };
            let key: SliceKey = set
                .iter()
                .zip(&places)
                .map(|(&j, &p)| (j, values[p].clone()))
                .collect();
            let pair = slices.entry(key);
            if *test {
                pair.test.add(sums);
            } else {
                pair.control.add(sums);
            }
        }
        if slices.len() > MAX_SLICES + 1 {
            return Err(too_many_slices());
        }
    }
    Ok((slices, flag_null))
}

/// Whether a slice says no more than one of its parents (the slice without one of its items):
/// the parent has as many rows used in test and in control, so the added item leaves out none of
/// the parent's rows (they are the same rows, and so the same figures).
fn redundant(key: &SliceKey, pair: &Pair, slices: &Slices) -> bool {
    (0..key.len()).any(|i| {
        let mut parent = key.clone();
        parent.remove(i);
        slices
            .get(&parent)
            .is_some_and(|p| p.test.used == pair.test.used && p.control.used == pair.control.used)
    })
}

fn items(key: &SliceKey, dimensions: &[String]) -> Vec<String> {
    key.iter()
        .map(|(j, v)| match v {
            Some(v) => format!("{}={v}", dimensions[*j]),
            None => format!("{} IS NULL", dimensions[*j]),
        })
        .collect()
}

/// Slices by |unexpected_difference| (or |contribution|) descending, NULLs last; ties by the
/// other one, then support descending, then fewer items, then the items' text.
fn sort(rows: &mut [DriverRow], order: OrderBy) {
    let magnitude = |v: Option<f64>| v.map_or(-1.0, f64::abs);
    rows.sort_by(|a, b| {
        let key = |r: &DriverRow| match order {
            OrderBy::UnexpectedDifference => (
                magnitude(r.unexpected_difference),
                magnitude(r.contribution),
            ),
            OrderBy::Contribution => (
                magnitude(r.contribution),
                magnitude(r.unexpected_difference),
            ),
        };
        let (a1, a2) = key(a);
        let (b1, b2) = key(b);
        b1.total_cmp(&a1)
            .then(b2.total_cmp(&a2))
            .then(b.support.total_cmp(&a.support))
            .then(a.drivers.len().cmp(&b.drivers.len()))
            .then_with(|| a.drivers.cmp(&b.drivers))
    });
}

/// The metric's definition and the population's figures, which every slice's row refers to.
struct Measure<'a> {
    per: &'a Per,
    /// The population's metric in test and control.
    test: Option<f64>,
    control: Option<f64>,
    /// The population's denominators (rows used, or the denominator column's sums) per group.
    denominator_test: f64,
    denominator_control: f64,
}

impl<'a> Measure<'a> {
    fn new(per: &'a Per, pop: &Pair) -> Measure<'a> {
        let mut m = Measure {
            per,
            test: None,
            control: None,
            denominator_test: 0.0,
            denominator_control: 0.0,
        };
        m.test = m.value(&pop.test);
        m.control = m.value(&pop.control);
        m.denominator_test = m.denominator(&pop.test);
        m.denominator_control = m.denominator(&pop.control);
        m
    }

    /// A group's denominator: rows used for a mean, the denominator column's sum for a ratio.
    fn denominator(&self, s: &Sums) -> f64 {
        match self.per {
            Per::Sum | Per::Row => s.used as f64,
            Per::Column(_) => s.denominator,
        }
    }

    /// The metric over a group's rows of a slice.
    fn value(&self, s: &Sums) -> Option<f64> {
        match self.per {
            Per::Sum => Some(s.metric),
            Per::Row | Per::Column(_) => {
                let d = self.denominator(s);
                (d != 0.0).then(|| s.metric / d)
            }
        }
    }

    fn row(&self, drivers: Vec<String>, pair: &Pair, support: f64) -> DriverRow {
        let test = self.value(&pair.test);
        let control = self.value(&pair.control);
        let difference = test.zip(control).map(|(t, c)| t - c);
        let relative_difference = difference
            .zip(control)
            .and_then(|(d, c)| (c != 0.0).then(|| d / c));
        // What the population's change predicts for the slice: its control value scaled by the
        // population's test / control.
        let unexpected_difference = match (test, control, self.test, self.control) {
            (Some(t), Some(c), Some(pt), Some(pc)) if pc != 0.0 => Some(t - c * (pt / pc)),
            _ => None,
        };
        DriverRow {
            drivers,
            metric_test: test,
            metric_control: control,
            difference,
            relative_difference,
            contribution: self.contribution(pair, difference),
            unexpected_difference,
            support,
            rows_test: pair.test.used,
            rows_control: pair.control.used,
            p_value: self.p_value(pair),
        }
    }

    /// The slice's share of the population's change. A sum: the slice's difference over the
    /// population's. A mean or ratio R = M / D: the population's change R_t - R_c is the sum over
    /// the slices of a partition of (M_st - R_c D_st) / D_t - (M_sc - R_c D_sc) / D_c (the slice's
    /// numerator beyond what the population's control ratio gives its denominator, as a share of
    /// the population's denominator, test minus control); that term over R_t - R_c.
    fn contribution(&self, pair: &Pair, difference: Option<f64>) -> Option<f64> {
        let (pt, pc) = (self.test?, self.control?);
        let change = pt - pc;
        if change == 0.0 {
            return None;
        }
        match self.per {
            Per::Sum => difference.map(|d| d / change),
            Per::Row | Per::Column(_) => {
                let (dt, dc) = (self.denominator_test, self.denominator_control);
                let part = |s: &Sums, d: f64| (s.metric - pc * self.denominator(s)) / d;
                Some((part(&pair.test, dt) - part(&pair.control, dc)) / change)
            }
        }
    }

    /// Two-sided p-value of "the slice's metric is the same in test and control" (see
    /// docs/reference.md): a sum by a normal test on the totals, a mean by Welch's t-test on the
    /// rows' values, a ratio by Welch's t-test on the delta method's linearised values.
    fn p_value(&self, pair: &Pair) -> Option<f64> {
        let (t, c) = (&pair.test, &pair.control);
        match self.per {
            Per::Sum => {
                // Each total's variance: the sum of its rows' squares (a compound Poisson total).
                let squares = |s: &Sums| {
                    if s.used == 0 {
                        0.0
                    } else {
                        s.metric_ss + s.metric * s.metric / s.used as f64
                    }
                };
                let variance = squares(t) + squares(c);
                let difference = t.metric - c.metric;
                if variance <= 0.0 {
                    return (difference != 0.0).then_some(0.0);
                }
                Some(normal_two_sided(difference / variance.sqrt()))
            }
            Per::Row => {
                let g = |s: &Sums| Group {
                    n: s.used,
                    mean: s.metric / s.used as f64,
                    variance: s.metric_ss / (s.used as f64 - 1.0),
                };
                if t.used < 2 || c.used < 2 {
                    return None;
                }
                welch(&g(t), &g(c))
            }
            Per::Column(_) => {
                let g = |s: &Sums| {
                    if s.used < 2 || s.denominator == 0.0 {
                        return None;
                    }
                    let n = s.used as f64;
                    let r = s.metric / s.denominator;
                    let mean_d = s.denominator / n;
                    let ss = (s.metric_ss - 2.0 * r * s.cross + r * r * s.denominator_ss).max(0.0);
                    Some(Group {
                        n: s.used,
                        mean: r,
                        variance: ss / (n - 1.0) / (mean_d * mean_d),
                    })
                };
                welch(&g(t)?, &g(c)?)
            }
        }
    }
}

/// A group's size, mean and sample variance.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

/// Welch's two-sided t-test of equal means (the Welch–Satterthwaite degrees of freedom). Both
/// groups need two values; with no variance in either, the means are equal (None) or not (0).
pub fn welch(a: &Group, b: &Group) -> Option<f64> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let va = a.variance.max(0.0) / a.n as f64;
    let vb = b.variance.max(0.0) / b.n as f64;
    let difference = a.mean - b.mean;
    if va + vb == 0.0 {
        return (difference != 0.0).then_some(0.0);
    }
    let t = difference / (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    Some(student_t_two_sided(t, df))
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom: I_{df / (df + t^2)}(df/2, 1/2).
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    regularized_beta(df / (df + t * t), df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// P(|Z| >= |z|) for a standard normal Z.
pub fn normal_two_sided(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The regularized incomplete beta function I_x(a, b), from its continued fraction (evaluated by
/// the modified Lentz method), on the side of x where the fraction converges fast
/// (I_x(a, b) = 1 - I_{1-x}(b, a)).
pub fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    // x^a (1-x)^b / (a B(a, b)), in logarithms.
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))) of I_x(a, b), with
/// d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and d_{2m} = m(b-m) x / ((a+2m-1)(a+2m)).
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    // f = 1 / (1 + d1 / (1 + ...)): Lentz on the fraction b0 + a1/(b1 + a2/(b2 + ...)) with
    // b0 = 0, a1 = 1, b_i = 1, a_{i+1} = d_i.
    let mut f = TINY;
    let mut c = f;
    let mut d = 0.0;
    for i in 1..=1000 {
        let numerator = if i == 1 {
            1.0
        } else {
            let j = i - 1; // d_j
            let m = (j / 2) as f64;
            if j % 2 == 1 {
                -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
            } else {
                m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
            }
        };
        d = 1.0 / guard(1.0 + numerator * d);
        c = guard(1.0 + numerator / c);
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of a source: dimension values, test flag, metric, denominator.
    type Row<'a> = (Vec<Option<&'a str>>, Option<bool>, Option<f64>, Option<f64>);

    /// A group of rows: its values, its flag and its rows.
    type Rows<'a> = (Vec<Option<String>>, Option<bool>, Vec<&'a Row<'a>>);

    /// The grouping query's cells, computed plainly from rows (two-pass squared deviations).
    fn cells(rows: &[Row], k: usize, depth: usize, ratio: bool) -> Vec<Cell> {
        let mut out = Vec::new();
        for set in grouping_sets(k, depth).unwrap() {
            let grouping: u32 = (0..k)
                .filter(|j| !set.contains(j))
                .map(|j| 1 << (k - 1 - j))
                .sum();
            let mut groups: Vec<Rows<'_>> = Vec::new();
            for r in rows {
                let values: Vec<Option<String>> = (0..k)
                    .map(|j| {
                        if set.contains(&j) {
                            r.0[j].map(str::to_string)
                        } else {
                            None
                        }
                    })
                    .collect();
                match groups.iter_mut().find(|g| g.0 == values && g.1 == r.1) {
                    Some(g) => g.2.push(r),
                    None => groups.push((values, r.1, vec![r])),
                }
            }
            for (values, test, members) in groups {
                let used: Vec<(f64, f64)> = members
                    .iter()
                    .filter_map(|r| match (r.2, r.3, ratio) {
                        (Some(m), Some(d), true) => Some((m, d)),
                        (Some(m), _, false) => Some((m, 0.0)),
                        _ => None,
                    })
                    .collect();
                let n = used.len() as f64;
                let (sm, sd) = used
                    .iter()
                    .fold((0.0, 0.0), |(a, b), (m, d)| (a + m, b + d));
                let (mm, md) = if n > 0.0 {
                    (sm / n, sd / n)
                } else {
                    (0.0, 0.0)
                };
                let ss = |f: &dyn Fn(&(f64, f64)) -> f64| used.iter().map(f).sum::<f64>();
                out.push(Cell {
                    grouping,
                    values,
                    test,
                    sums: Sums {
                        rows: members.len() as u64,
                        used: used.len() as u64,
                        metric: sm,
                        metric_ss: ss(&|(m, _)| (m - mm) * (m - mm)),
                        denominator: sd,
                        denominator_ss: ss(&|(_, d)| (d - md) * (d - md)),
                        cross: ss(&|(m, d)| (m - mm) * (d - md)),
                    },
                });
            }
        }
        out
    }

    fn row<'a>(dims: &[&'a str], test: bool, metric: f64) -> Row<'a> {
        (
            dims.iter().map(|d| Some(*d)).collect(),
            Some(test),
            Some(metric),
            None,
        )
    }

    /// Region N / S and plan a / b. Control: N,a 10 10; N,b 5; S,a 20; S,b 5 (50 in all).
    /// Test: N,a 10 10 10; N,b 5; S,a 20; S,b 5 5 (65 in all).
    fn shop() -> Vec<Row<'static>> {
        let mut rows = Vec::new();
        for (dims, test, values) in [
            (["N", "a"], false, &[10.0, 10.0][..]),
            (["N", "b"], false, &[5.0][..]),
            (["S", "a"], false, &[20.0][..]),
            (["S", "b"], false, &[5.0][..]),
            (["N", "a"], true, &[10.0, 10.0, 10.0][..]),
            (["N", "b"], true, &[5.0][..]),
            (["S", "a"], true, &[20.0][..]),
            (["S", "b"], true, &[5.0, 5.0][..]),
        ] {
            for &v in values {
                rows.push(row(&dims, test, v));
            }
        }
        rows
    }

    fn dims(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn run(rows: &[Row], names: &[&str], options: &DriversOptions) -> Drivers {
        let ratio = matches!(options.per, Per::Column(_));
        let c = cells(rows, names.len(), options.max_depth, ratio);
        drivers(&c, &dims(names), "after", "revenue", options, &mut || {}).unwrap()
    }

    fn find<'a>(d: &'a Drivers, items: &[&str]) -> &'a DriverRow {
        d.rows
            .iter()
            .find(|r| r.drivers == items)
            .unwrap_or_else(|| panic!("no slice {items:?} in {:#?}", d.rows))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
    }

    #[test]
    fn a_sum_by_hand() {
        let d = run(&shop(), &["region", "plan"], &DriversOptions::default());
        assert_eq!(d.rows.len(), 9);
        let pop = &d.rows[0];
        assert!(pop.drivers.is_empty());
        assert_eq!(
            (pop.metric_test, pop.metric_control),
            (Some(65.0), Some(50.0))
        );
        assert_eq!(
            (pop.difference, pop.relative_difference),
            (Some(15.0), Some(0.3))
        );
        assert_eq!(
            (pop.contribution, pop.unexpected_difference),
            (Some(1.0), Some(0.0))
        );
        assert_eq!((pop.rows_test, pop.rows_control, pop.support), (7, 5, 1.0));
        let n = find(&d, &["region=N"]);
        assert_eq!(
            (n.metric_test, n.metric_control, n.difference),
            (Some(35.0), Some(25.0), Some(10.0))
        );
        assert!(close(n.relative_difference, 0.4));
        assert!(close(n.contribution, 10.0 / 15.0));
        // 35 - 25 x 65 / 50.
        assert!(close(n.unexpected_difference, 2.5));
        assert!(close(Some(n.support), 7.0 / 12.0));
        let sa = find(&d, &["region=S", "plan=a"]);
        assert_eq!(sa.difference, Some(0.0));
        assert_eq!(sa.relative_difference, Some(0.0));
        assert!(close(sa.unexpected_difference, -6.0));
        // By |unexpected_difference|: S,a 6; N,a 4; S,b 3.5; N and S 2.5 (N's contribution is
        // larger); plan a and b 2 (a's is larger); N,b 1.5.
        let order: Vec<String> = d.rows[1..].iter().map(|r| r.drivers.join(" & ")).collect();
        assert_eq!(
            order,
            [
                "region=S & plan=a",
                "region=N & plan=a",
                "region=S & plan=b",
                "region=N",
                "region=S",
                "plan=a",
                "plan=b",
                "region=N & plan=b"
            ]
        );
        // The contributions of the values of one dimension add up to the whole change.
        let sum: f64 = ["region=N", "region=S"]
            .iter()
            .map(|s| find(&d, &[s]).contribution.unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-12);
        // By contribution instead: N,a and N (and plan=a) change by 10 of the 15.
        let by = run(
            &shop(),
            &["region", "plan"],
            &DriversOptions {
                order_by: OrderBy::Contribution,
                top: Some(2),
                ..Default::default()
            },
        );
        let order: Vec<String> = by.rows.iter().map(|r| r.drivers.join(" & ")).collect();
        assert_eq!(order, ["", "region=N & plan=a", "region=N"]);
    }

    #[test]
    fn a_sum_is_tested_on_its_total() {
        let d = run(&shop(), &["region", "plan"], &DriversOptions::default());
        // N,a: 30 against 20, each total's variance the sum of its squares (300 and 200):
        // z = 10 / sqrt(500); scipy: 2 norm.sf(z).
        let na = find(&d, &["region=N", "plan=a"]);
        assert!(close(na.p_value, 0.6547208460185769));
        // S,a: one row of 20 each: no change.
        assert!(close(find(&d, &["region=S", "plan=a"]).p_value, 1.0));
    }

    #[test]
    fn a_mean_per_row_by_hand_and_welch_as_scipy() {
        let o = DriversOptions {
            per: Per::Row,
            ..Default::default()
        };
        let d = run(&shop(), &["region", "plan"], &o);
        let pop = &d.rows[0];
        // 65 / 7 against 50 / 5.
        assert!(close(pop.metric_test, 65.0 / 7.0));
        assert_eq!(pop.metric_control, Some(10.0));
        let n = find(&d, &["region=N"]);
        // Test 10 10 10 5, control 10 10 5: scipy.stats.ttest_ind(equal_var=False).
        assert!(close(n.metric_test, 8.75));
        assert!(close(n.metric_control, 25.0 / 3.0));
        assert!((n.p_value.unwrap() - 0.8511627527132345).abs() < 1e-12);
        // Expected: 25/3 x (65/7) / 10.
        assert!(close(
            n.unexpected_difference,
            8.75 - 25.0 / 3.0 * 65.0 / 70.0
        ));
        // Contributions of a partition add up to 1 for a mean too.
        let sum: f64 = ["region=N", "region=S"]
            .iter()
            .map(|s| find(&d, &[s]).contribution.unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-12, "{sum}");
        // N's share: (35 - 10 x 4) / 7 - (25 - 10 x 3) / 5 over 65/7 - 10.
        let share = ((35.0 - 40.0) / 7.0 - (25.0 - 30.0) / 5.0) / (65.0 / 7.0 - 10.0);
        assert!(close(n.contribution, share));
        // One row a side: no variance, no test.
        assert_eq!(find(&d, &["region=S", "plan=a"]).p_value, None);
    }

    #[test]
    fn a_ratio_of_sums_with_the_delta_method() {
        // Revenue per visit: (dimension, flag, revenue, visits).
        let data = [
            ("x", false, 10.0, 2.0),
            ("x", false, 12.0, 3.0),
            ("x", false, 7.0, 1.0),
            ("x", true, 20.0, 2.0),
            ("x", true, 18.0, 4.0),
            ("x", true, 25.0, 3.0),
            ("y", false, 4.0, 2.0),
            ("y", false, 6.0, 2.0),
            ("y", true, 5.0, 1.0),
            ("y", true, 3.0, 3.0),
            ("y", true, 9.0, 2.0),
        ];
        let rows: Vec<Row> = data
            .iter()
            .map(|&(g, t, m, v)| (vec![Some(g)], Some(t), Some(m), Some(v)))
            .collect();
        let o = DriversOptions {
            per: Per::Column("visits".into()),
            ..Default::default()
        };
        let d = run(&rows, &["g"], &o);
        let pop = &d.rows[0];
        assert!(close(pop.metric_control, 39.0 / 10.0));
        assert!(close(pop.metric_test, 80.0 / 15.0));
        let x = find(&d, &["g=x"]);
        assert!(close(x.metric_test, 63.0 / 9.0));
        assert!(close(x.metric_control, 29.0 / 6.0));
        // Delta method: per row (m - R d) / mean(d), Welch on those (scipy on the same values).
        assert!(
            (x.p_value.unwrap() - DELTA_X).abs() < 1e-10,
            "{:?}",
            x.p_value
        );
        let y = find(&d, &["g=y"]);
        let sum = x.contribution.unwrap() + y.contribution.unwrap();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    /// scipy.stats.ttest_ind(u_test, u_control, equal_var=False).pvalue with u = R + (m - R d) /
    /// mean(d) per row of a group (R that group's ratio: the values' mean is R, their variance the
    /// delta method's), for g = x of `a_ratio_of_sums_with_the_delta_method`.
    const DELTA_X: f64 = 0.3276942605207644;

    #[test]
    fn pruning_drops_a_slice_with_its_parents_rows() {
        // One country for every row: country=PT is the population, (PT, N) is region=N.
        let rows: Vec<Row> = shop()
            .into_iter()
            .map(|(mut d, t, m, x)| {
                d.push(Some("PT"));
                (d, t, m, x)
            })
            .collect();
        let pruned = run(
            &rows,
            &["region", "plan", "country"],
            &DriversOptions::default(),
        );
        assert_eq!(pruned.rows.len(), 9);
        assert!(pruned
            .rows
            .iter()
            .all(|r| !r.drivers.iter().any(|i| i == "country=PT")));
        let all = run(
            &rows,
            &["region", "plan", "country"],
            &DriversOptions {
                prune: false,
                ..Default::default()
            },
        );
        // 1 + (2 + 2 + 1) + (4 + 2 + 2) + 4 slices.
        assert_eq!(all.rows.len(), 1 + 5 + 8 + 4);
        assert_eq!(all.slices, 17);
        assert_eq!(
            find(&all, &["region=N", "country=PT"]).metric_test,
            find(&all, &["region=N"]).metric_test
        );
    }

    #[test]
    fn support_nulls_and_what_is_left_out() {
        let mut rows = shop();
        // A NULL region (a slice of its own), a NULL flag, two NULL metrics.
        rows.push((vec![None, Some("a")], Some(true), Some(1.0), None));
        rows.push((vec![Some("N"), Some("a")], None, Some(100.0), None));
        rows.push((vec![Some("N"), Some("a")], Some(true), None, None));
        rows.push((vec![Some("S"), Some("b")], Some(false), None, None));
        let d = run(&rows, &["region", "plan"], &DriversOptions::default());
        assert_eq!((d.flag_null, d.value_null), (1, 2));
        assert_eq!(
            d.left_out_notice("after", "revenue", &Per::Sum).unwrap(),
            "segment_drivers left out 1 row whose test_column \"after\" is NULL and 2 rows whose metric \"revenue\" is NULL"
        );
        assert_eq!(d.rows[0].metric_test, Some(66.0));
        assert_eq!((d.rows[0].rows_test, d.rows[0].rows_control), (8, 5));
        // 1 of 13 rows: above 0.05.
        let null = find(&d, &["region IS NULL"]);
        assert_eq!(
            (null.metric_test, null.metric_control),
            (Some(1.0), Some(0.0))
        );
        assert_eq!(null.relative_difference, None);
        // min_support 0.1 leaves it and the other one-row slices out.
        let d = run(
            &rows,
            &["region", "plan"],
            &DriversOptions {
                min_support: 0.1,
                ..Default::default()
            },
        );
        assert!(d.rows.iter().all(|r| r.drivers != ["region IS NULL"]));
        assert!(d.rows[1..].iter().all(|r| r.support >= 0.1));
        assert_eq!(
            run(&shop(), &["region"], &DriversOptions::default()).left_out_notice(
                "a",
                "m",
                &Per::Sum
            ),
            None
        );
    }

    #[test]
    fn no_test_or_control_rows_and_non_finite_sums_are_errors() {
        let rows: Vec<Row> = shop().into_iter().filter(|r| r.1 == Some(false)).collect();
        let c = cells(&rows, 1, 1, false);
        let e = drivers(
            &c,
            &dims(&["region"]),
            "after",
            "revenue",
            &DriversOptions::default(),
            &mut || {},
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
        assert_eq!(
            e.message,
            "segment_drivers found no test rows: no row has test_column \"after\" true and a value of metric \"revenue\""
        );
        let mut rows = shop();
        rows.push(row(&["N", "a"], true, f64::NAN));
        let c = cells(&rows, 2, 2, false);
        let e = drivers(
            &c,
            &dims(&["region", "plan"]),
            "after",
            "revenue",
            &DriversOptions::default(),
            &mut || {},
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidData);
    }

    #[test]
    fn options_are_read_and_checked() {
        let o = DriversOptions::from_json(
            r#"{"per": "visits", "max_depth": 2, "min_support": 0, "prune": false, "top": 10,
                "order_by": "contribution"}"#,
        )
        .unwrap();
        assert_eq!(o.per, Per::Column("visits".into()));
        assert_eq!(
            (o.max_depth, o.min_support, o.prune, o.top),
            (2, 0.0, false, Some(10))
        );
        assert_eq!(o.order_by, OrderBy::Contribution);
        assert_eq!(
            DriversOptions::from_json("{}").unwrap(),
            DriversOptions::default()
        );
        assert_eq!(
            DriversOptions::from_json(r#"{"per": "row"}"#).unwrap().per,
            Per::Row
        );
        for (text, message) in [
            (
                r#"{"max_depth": 5}"#,
                "option max_depth must be between 1 and 4, not 5",
            ),
            (
                r#"{"max_depth": 0}"#,
                "option max_depth must be between 1 and 4, not 0",
            ),
            (
                r#"{"min_support": 1.5}"#,
                "option min_support must be between 0 and 1, not 1.5",
            ),
            (
                r#"{"top": 0}"#,
                "option top must be between 1 and 50000, not 0",
            ),
            (
                r#"{"per": ""}"#,
                "option per must be \"row\" or a column of the source, not an empty string",
            ),
            (r#"{"maxdepth": 2}"#, "unknown option \"maxdepth\""),
        ] {
            let e = DriversOptions::from_json(text).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(e.message, message, "{text}");
        }
        let e = DriversOptions::from_json(r#"{"min_suport": 0.1}"#).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("Did you mean \"min_support\"?"));
    }

    #[test]
    fn too_many_slices_are_refused() {
        let cell = |i: usize, test| Cell {
            grouping: 0,
            values: vec![Some(i.to_string())],
            test: Some(test),
            sums: Sums::from_columns(1, 1, &[1.0, 0.0]),
        };
        let mut cells = vec![
            Cell {
                grouping: 1,
                values: vec![None],
                ..cell(0, true)
            },
            Cell {
                grouping: 1,
                values: vec![None],
                ..cell(0, false)
            },
        ];
        cells.extend((0..MAX_SLICES).map(|i| cell(i, i % 2 == 0)));
        let run = |cells: &[Cell]| {
            drivers(
                cells,
                &dims(&["id"]),
                "t",
                "m",
                &DriversOptions::default(),
                &mut || {},
            )
        };
        assert_eq!(run(&cells).unwrap().slices, MAX_SLICES);
        cells.push(cell(MAX_SLICES, true));
        let e = run(&cells).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
        assert_eq!(e.message, "segment_drivers found more than 50000 slices");
        cells.extend((0..2 * MAX_SLICES).map(|i| cell(i, true)));
        assert_eq!(run(&cells).unwrap_err().kind, ErrorKind::ResourceLimit);
    }

    #[test]
    fn grouping_sets_in_order_and_limits() {
        assert_eq!(
            grouping_sets(3, 2).unwrap(),
            vec![
                vec![],
                vec![0],
                vec![1],
                vec![2],
                vec![0, 1],
                vec![0, 2],
                vec![1, 2]
            ]
        );
        assert_eq!(grouping_sets(2, 4).unwrap().len(), 4);
        assert_eq!(
            grouping_sets(0, 2).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            grouping_sets(32, 1).unwrap_err().kind,
            ErrorKind::ResourceLimit
        );
        assert_eq!(grouping_sets(31, 1).unwrap().len(), 32);
        assert_eq!(grouping_sets(18, 4).unwrap().len(), 4048);
        // The query asks for the 3876 sets of four of 19 dimensions; 20 are 4845.
        assert_eq!(queried_sets(19, 4).unwrap().len(), 3876);
        assert_eq!(
            grouping_sets(20, 4).unwrap_err().kind,
            ErrorKind::ResourceLimit
        );
        assert_eq!(
            queried_sets(3, 2).unwrap(),
            vec![vec![0, 1], vec![0, 2], vec![1, 2]]
        );
        assert_eq!(queried_sets(2, 3).unwrap(), vec![vec![0, 1]]);
        assert_eq!(superset(&[], 2), [0, 1]);
        assert_eq!(superset(&[2], 2), [0, 2]);
        assert_eq!(superset(&[0, 2], 3), [0, 1, 2]);
    }

    /// Every slice's sums added up from the deepest cells equal the sums computed directly from
    /// the rows (the test helper's cells of every set), for a sum and a ratio.
    #[test]
    fn shallower_slices_are_the_sums_of_the_deepest() {
        // 200 rows over three dimensions (with NULLs), deterministic values.
        let regions = ["N", "S", "E"];
        let plans = ["a", "b"];
        let mut rows: Vec<Row> = Vec::new();
        for i in 0..200u32 {
            let x = (i * 7919 % 101) as f64 / 3.0;
            let v = 1.0 + (i * 31 % 7) as f64;
            rows.push((
                vec![
                    (i % 11 != 0).then(|| regions[(i % 3) as usize]),
                    Some(plans[(i / 3 % 2) as usize]),
                    Some(if i % 5 == 0 { "x" } else { "y" }),
                ],
                (i % 17 != 0).then_some(i % 2 == 0),
                (i % 23 != 0).then_some(x),
                Some(v),
            ));
        }
        for ratio in [false, true] {
            let all = cells(&rows, 3, 2, ratio);
            let (slices, flag_null) = roll_up(&all, 3, 2, &mut || {}).unwrap();
            assert_eq!(
                flag_null,
                rows.iter().filter(|r| r.1.is_none()).count() as u64
            );
            // The helper's own cells of each set, read directly.
            let mut direct = 0;
            for cell in all.iter().filter(|c| c.test.is_some()) {
                let key: SliceKey = (0..3)
                    .filter(|&j| cell.grouping & (1 << (2 - j)) == 0)
                    .map(|j| (j, cell.values[j].clone()))
                    .collect();
                let pair = slices.get(&key).expect("every slice");
                let ours = if cell.test == Some(true) {
                    pair.test
                } else {
                    pair.control
                };
                let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
                assert_eq!((ours.rows, ours.used), (cell.sums.rows, cell.sums.used));
                for (a, b) in [
                    (ours.metric, cell.sums.metric),
                    (ours.metric_ss, cell.sums.metric_ss),
                    (ours.denominator, cell.sums.denominator),
                    (ours.denominator_ss, cell.sums.denominator_ss),
                    (ours.cross, cell.sums.cross),
                ] {
                    assert!(near(a, b), "{key:?} {a} {b}");
                }
                direct += 1;
            }
            // 1 + 3 + 2 + 2 (+ NULL region) values, the pairs: every cell was compared.
            assert!(direct > 40, "{direct}");
        }
    }

    #[test]
    fn distributions_as_scipy() {
        for (t, df, p) in [
            (2.0, 10.0, 0.07338803477074037),
            (1.2, 3.5, 0.3050144853778645),
            (0.1, 1.0, 0.936548965138893),
            (5.0, 2.3, 0.02816035047618448),
            (3.0, 1000.0, 0.0027667090442381925),
            (40.0, 7.0, 1.5902179984850364e-09),
        ] {
            let ours = student_t_two_sided(t, df);
            assert!(
                (ours - p).abs() <= 1e-12 + 1e-9 * p,
                "t {t} df {df}: {ours} against {p}"
            );
            assert!((student_t_two_sided(-t, df) - ours).abs() < 1e-15);
        }
        for (x, a, b, i) in [
            (0.3, 2.5, 0.5, 0.018927124071945658),
            (0.9, 0.5, 7.0, 0.9999999780702157),
            (0.5, 30.0, 40.0, 0.8857998873233515),
        ] {
            assert!((regularized_beta(x, a, b) - i).abs() < 1e-12, "{x} {a} {b}");
        }
        assert!((normal_two_sided(10.0 / 500f64.sqrt()) - 0.6547208460185769).abs() < 1e-14);
        assert_eq!(student_t_two_sided(0.0, 5.0), 1.0);
        let g = |n, mean, variance| Group { n, mean, variance };
        assert_eq!(welch(&g(3, 1.0, 0.0), &g(3, 1.0, 0.0)), None);
        assert_eq!(welch(&g(3, 1.0, 0.0), &g(3, 2.0, 0.0)), Some(0.0));
        assert_eq!(welch(&g(1, 1.0, 0.0), &g(3, 2.0, 1.0)), None);
    }
}
