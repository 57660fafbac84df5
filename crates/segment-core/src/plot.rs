//! Pictures as SVG text: a scatter of rows on their first two principal components, an elbow
//! chart of a k scan, a profile heatmap (per segment, each feature's deviation from the overall
//! mean), and a tree (churn or classifier). Plain SVG 1.1 (no scripts, no external fonts or
//! files) so notebooks, browsers and BI tools show it and `rsvg-convert` renders it.
//!
//! Made to be read at a glance by someone who did not fit the model:
//! - every picture fits a slide: scatter and elbow are 960 x 540; profile and tree are at most
//!   1280 x 720 (a wider tree folds its deepest subtrees into one box each, a profile with more
//!   features or segments than fit shows those that differ most and the largest, and says so);
//! - names are not cut short where they would become alike: long ones wrap, or are shortened
//!   with the full name in an SVG `<title>` (a tooltip in browsers) on the element; one-hot
//!   columns read "contract: Month-to-month" ([`ColumnName`]);
//! - segments get 12 distinct colours (Tableau 10 without its grey, with Paul Tol's indigo and
//!   wine, and black), then a marker shape per round of 12 ([`style`]); noise is light grey;
//! - each root `<svg>` has a `<title>` and a `<desc>` saying what it shows (its text alternative).

use crate::model::document::{Method, MethodRule, SegmentModel};
use crate::tree::cart::{Node, Tree};
use std::fmt::Write;

/// Colours of segments 0, 1, ...: Tableau 10 (2016) without its grey, then Paul Tol's indigo and
/// wine, then black. Segment 12 and on repeat the colours with another marker shape.
pub const PALETTE: [&str; 12] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#332288", "#882255", "#000000",
];
/// Marker shapes, one per round of the palette.
pub const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
];
/// DBSCAN's noise (no segment).
pub const NOISE_COLOUR: &str = "#BBBBBB";
/// Scatter and elbow size (16:9).
const W: f64 = 960.0;
const H: f64 = 540.0;
/// The largest profile or tree picture: 16:9 at 1280 pixels.
pub const MAX_W: f64 = 1280.0;
pub const MAX_H: f64 = 720.0;
/// Plot area margins: left, top, right (legend), bottom.
const L: f64 = 80.0;
const T: f64 = 50.0;
const R: f64 = 270.0;
const B: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

/// The colour and marker shape of a segment (None: noise, grey circles).
pub fn style(segment: Option<u32>) -> (&'static str, Shape) {
    match segment {
        None => (NOISE_COLOUR, Shape::Circle),
        Some(s) => {
            let s = s as usize;
            (
                PALETTE[s % PALETTE.len()],
                SHAPES[(s / PALETTE.len()) % SHAPES.len()],
            )
        }
    }
}

fn colour(segment: Option<u32>) -> &'static str {
    style(segment).0
}

/// A marker of `shape` centred on (x, y), about 2r across.
fn marker(s: &mut String, shape: Shape, x: f64, y: f64, r: f64, fill: &str, extra: &str) {
    let _ = match shape {
        Shape::Circle => write!(
            s,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{fill}"{extra}/>"#
        ),
        Shape::Square => write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"{extra}/>"#,
            x - r * 0.9,
            y - r * 0.9,
            r * 1.8,
            r * 1.8
        ),
        Shape::Triangle => write!(
            s,
            r#"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{fill}"{extra}/>"#,
            x,
            y - r * 1.15,
            x + r * 1.1,
            y + r * 0.8,
            x - r * 1.1,
            y + r * 0.8
        ),
        Shape::Diamond => write!(
            s,
            r#"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{fill}"{extra}/>"#,
            x,
            y - r * 1.2,
            x + r * 1.2,
            y,
            x,
            y + r * 1.2,
            x - r * 1.2,
            y
        ),
    };
}

/// Text safe inside SVG (XML) character data and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The name of a matrix column as a reader says it: a numeric feature by its name, a one-hot
/// column (stored as "feature=value", `prep::encoding::Columns`) as "feature: value".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnName {
    Number(String),
    Category { feature: String, value: String },
}

impl ColumnName {
    pub fn readable(&self) -> String {
        match self {
            ColumnName::Number(n) => n.clone(),
            ColumnName::Category { feature, value } => format!("{feature}: {value}"),
        }
    }

    /// The condition a tree's child of a split on this column at `threshold` stands for:
    /// `le` for the left child (value <= threshold). A one-hot column (0 or 1) reads "contract is
    /// Month-to-month" / "contract is not Month-to-month".
    pub fn condition(&self, le: bool, threshold: f64) -> String {
        match self {
            ColumnName::Category { feature, value } if threshold > 0.0 && threshold < 1.0 => {
                if le {
                    format!("{feature} is not {value}")
                } else {
                    format!("{feature} is {value}")
                }
            }
            other => format!(
                "{} {} {}",
                other.readable(),
                if le { "≤" } else { ">" },
                number(threshold)
            ),
        }
    }
}

/// The matrix columns of `features` (one-hot ones from `categories`, as `Columns::of` lays them
/// out) by name.
pub fn column_names(features: &[String], categories: &[Option<Vec<String>>]) -> Vec<ColumnName> {
    let mut out = Vec::new();
    for (j, f) in features.iter().enumerate() {
        match categories.get(j).and_then(|c| c.as_ref()) {
            Some(values) => out.extend(values.iter().map(|v| ColumnName::Category {
                feature: f.clone(),
                value: v.clone(),
            })),
            None => out.push(ColumnName::Number(f.clone())),
        }
    }
    out
}

/// The start of a picture: its size, its text alternative (`<title>` and `<desc>`, first
/// children of the root as SVG 1.1 wants, named by aria-labelledby for screen readers), a white
/// background and the heading.
fn open(title: &str, desc: &str, width: f64, height: f64) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="plot-title plot-desc" font-family="DejaVu Sans, Arial, sans-serif" font-size="12"><title id="plot-title">{}</title><desc id="plot-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    );
    let _ = write!(
        s,
        r#"<rect width="{width}" height="{height}" fill="white"/><text x="{}" y="26" font-size="16" font-weight="bold" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    s
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max.max(2) - 1).collect::<String>() + "…"
    }
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be (a longer
/// word is cut), at most `max_lines` of them (the last one shortened with an ellipsis when
/// more was left). The bool says whether anything was left out.
pub fn wrap(text: &str, width: usize, max_lines: usize) -> (Vec<String>, bool) {
    let width = width.max(4);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let need = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if need <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    let cut = lines.len() > max_lines.max(1);
    if cut {
        lines.truncate(max_lines.max(1));
        let last = lines.last_mut().expect("at least one line");
        *last = shorten(&format!("{last} …"), width).replace(" …", "…");
        if !last.ends_with('…') {
            last.push('…');
        }
    }
    (lines, cut)
}

/// A `<title>` child (a tooltip) with `full` when what is shown is not all of it.
fn tooltip(full: &str, cut: bool) -> String {
    if cut {
        format!("<title>{}</title>", escape(full))
    } else {
        String::new()
    }
}

/// A count with thousands separators: 12,345.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage: one decimal under 10%, none above.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 9.95 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// A number as a reader writes it: whole numbers without decimals, others with up to three
/// significant decimals, very large or small ones in scientific notation.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == v.round() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = if a >= 100.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Tick values for an axis over [lo, hi]: 4 to 7 at a round step (1, 2 or 5 times a power of
/// ten), whole numbers only when `integer` (every whole number when there are at most 12).
pub fn ticks(lo: f64, hi: f64, integer: bool) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let raw = (hi - lo) / 6.0;
    let power = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    if integer {
        step = if hi - lo <= 12.0 {
            1.0
        } else {
            step.round().max(1.0)
        };
    }
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut i = 0.0;
    while first + i * step <= hi + step * 1e-9 && out.len() < 50 {
        let v = first + i * step;
        // No "-0" and no 0.30000000000000004.
        out.push(if v.abs() < step * 1e-9 {
            0.0
        } else {
            (v / step).round() * step
        });
        i += 1.0;
    }
    out
}

/// A linear map from data [lo, hi] to pixels [a, b], with a margin so points do not sit on the
/// frame.
fn scale(lo: f64, hi: f64, a: f64, b: f64) -> impl Fn(f64) -> f64 {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    move |v| a + (v - lo) / (hi - lo) * (b - a)
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The plot frame, ticks (`x_integer`: whole-number ticks on x) and axis titles.
fn axes(
    s: &mut String,
    x: (f64, f64),
    y: (f64, f64),
    x_integer: bool,
    x_title: &str,
    y_title: &str,
) {
    let (x0, x1, y0, y1) = (L, W - R, H - B, T);
    let _ = write!(
        s,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        x1 - x0,
        y0 - y1
    );
    let sx = scale(x.0, x.1, x0, x1);
    let sy = scale(y.0, y.1, y0, y1);
    for vx in ticks(x.0, x.1, x_integer) {
        let _ = write!(
            s,
            r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{}" stroke="#444"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + 5.0,
            y0 + 18.0,
            number(vx),
            px = sx(vx)
        );
    }
    for vy in ticks(y.0, y.1, false) {
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{py:.1}" x2="{x0}" y2="{py:.1}" stroke="#444"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 5.0,
            x0 - 8.0,
            sy(vy) + 4.0,
            number(vy),
            py = sy(vy)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
        (x0 + x1) / 2.0,
        H - 18.0,
        escape(x_title),
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        escape(y_title)
    );
}

/// A legend entry: its marker (a colour and shape; None for a line or a key without a marker
/// shape) and its full text.
struct Entry {
    colour: String,
    shape: Option<Shape>,
    text: String,
}

/// Characters of legend text on one line (11 px type in the 270 px right margin).
const LEGEND_CHARS: usize = 34;

/// Legend entries from (x, y) down, under an optional bold heading. Each entry's text wraps to
/// up to `max_lines` lines (the full text in a `<title>` when cut). Returns the y below it.
fn legend(s: &mut String, heading: Option<&str>, entries: &[Entry], x: f64, y: f64) -> f64 {
    let line_h = 14.0;
    let mut y = y;
    if let Some(h) = heading {
        let (lines, cut) = wrap(h, LEGEND_CHARS + 2, 2);
        for line in lines {
            let _ = write!(
                s,
                r#"<text x="{x}" y="{y:.1}" font-weight="bold">{}{}</text>"#,
                tooltip(h, cut),
                escape(&line)
            );
            y += line_h + 1.0;
        }
        y += 4.0;
    }
    // Fewer lines an entry when there are many entries.
    let max_lines = if entries.len() > 20 { 1 } else { 2 };
    for e in entries {
        let (lines, cut) = wrap(&e.text, LEGEND_CHARS, max_lines);
        let _ = write!(s, "<g>{}", tooltip(&e.text, cut));
        match e.shape {
            Some(shape) => marker(s, shape, x + 6.0, y - 4.0, 5.5, &e.colour, ""),
            None => {
                let _ = write!(
                    s,
                    r#"<rect x="{x}" y="{:.1}" width="12" height="4" fill="{}"/>"#,
                    y - 6.0,
                    e.colour
                );
            }
        }
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                s,
                r#"<text x="{}" y="{:.1}" font-size="11">{}</text>"#,
                x + 18.0,
                y + i as f64 * line_h,
                escape(line)
            );
        }
        s.push_str("</g>");
        y += lines.len() as f64 * line_h + 5.0;
    }
    y
}

/// The first two principal components of row-major `rows` (d columns): the unit directions of
/// largest variance, by power iteration with deflation on the covariance (d is small), and the
/// share of variance each explains.
pub fn principal_components(rows: &[f64], d: usize) -> ([Vec<f64>; 2], [f64; 2]) {
    let n = (rows.len() / d).max(1) as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().skip(j).step_by(d).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0.0; d * d];
    for r in rows.chunks_exact(d) {
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += (r[a] - mean[a]) * (r[b] - mean[b]) / n;
            }
        }
    }
    let total: f64 = (0..d)
        .map(|j| cov[j * d + j])
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut out: [Vec<f64>; 2] = [vec![0.0; d], vec![0.0; d]];
    let mut explained = [0.0; 2];
    for (c, slot) in out.iter_mut().enumerate() {
        // A fixed start that is not orthogonal to any axis, for determinism.
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + j as f64 * 0.1).collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let w: Vec<f64> = (0..d)
                .map(|a| (0..d).map(|b| cov[a * d + b] * v[b]).sum())
                .collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            lambda = norm;
            v = w.into_iter().map(|x| x / norm).collect();
        }
        if v.iter().any(|x| !x.is_finite()) || lambda == 0.0 {
            v = (0..d).map(|j| if j == c { 1.0 } else { 0.0 }).collect();
            lambda = 0.0;
        }
        // Deflate: remove this direction before looking for the next.
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] -= lambda * v[a] * v[b];
            }
        }
        explained[c] = lambda / total;
        *slot = v;
    }
    (out, explained)
}

/// Each column of row-major `rows` (d columns) z-scored in place: minus its mean, over its
/// standard deviation (a constant column becomes 0).
pub fn standardize(rows: &mut [f64], d: usize) {
    let n = (rows.len() / d.max(1)).max(1) as f64;
    for j in 0..d {
        let mean = rows.iter().skip(j).step_by(d).sum::<f64>() / n;
        let var = rows
            .iter()
            .skip(j)
            .step_by(d)
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / n;
        let sd = var.sqrt();
        for v in rows.iter_mut().skip(j).step_by(d) {
            *v = if sd > 0.0 { (*v - mean) / sd } else { 0.0 };
        }
    }
}

/// How a scatter is drawn: what its points are and what their colours say.
pub struct ScatterKind<'a> {
    /// The legend's heading and the description's word for the colours, e.g. "colour:
    /// predicted class".
    pub colours: &'a str,
    /// Whether the rows are z-scored first: models that fit on raw units (trees) would
    /// otherwise have their largest-unit column as the only component.
    pub standardize: bool,
}

/// Rows (row-major, d columns, in the model's scaled space) with their segments (None: noise)
/// projected on their first two principal components, coloured (then shaped) by segment, each
/// segment's number written at the middle of its points, with a legend of `labels`.
pub fn scatter(
    title: &str,
    rows: &[f64],
    d: usize,
    segments: &[Option<u32>],
    labels: &[String],
    kind: &ScatterKind,
) -> String {
    let mut rows = rows.to_vec();
    if kind.standardize {
        standardize(&mut rows, d);
    }
    let ([pc1, pc2], explained) = principal_components(&rows, d);
    let points: Vec<(f64, f64)> = rows
        .chunks_exact(d)
        .map(|r| {
            (
                r.iter().zip(&pc1).map(|(a, b)| a * b).sum(),
                r.iter().zip(&pc2).map(|(a, b)| a * b).sum(),
            )
        })
        .collect();
    let xr = range(points.iter().map(|p| p.0));
    let yr = range(points.iter().map(|p| p.1));
    let space = if kind.standardize {
        "z-scored columns"
    } else {
        "the model's scaled columns"
    };
    let mut entries: Vec<Entry> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (c, shape) = style(Some(i as u32));
            Entry {
                colour: c.into(),
                shape: Some(shape),
                text: format!("{i}: {l}"),
            }
        })
        .collect();
    if segments.iter().any(Option::is_none) {
        entries.push(Entry {
            colour: NOISE_COLOUR.into(),
            shape: Some(Shape::Circle),
            text: "noise (no segment)".into(),
        });
    }
    let mut legend_svg = String::new();
    let bottom = legend(
        &mut legend_svg,
        Some(kind.colours),
        &entries,
        W - R + 20.0,
        T + 12.0,
    );
    let height = H.max(bottom + 10.0);
    let shown: Vec<String> = labels
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, l)| format!("{i} {l}"))
        .collect();
    let desc = format!(
        "Scatter plot of {} rows on the first two principal components of {space} ({:.0}% and {:.0}% of the variance). Each point is a row; {} ({} segments: {}{}).",
        points.len(),
        explained[0] * 100.0,
        explained[1] * 100.0,
        kind.colours,
        labels.len(),
        shown.join(", "),
        if labels.len() > 12 { ", ..." } else { "" }
    );
    let mut s = open(title, &desc, W, height);
    axes(
        &mut s,
        xr,
        yr,
        false,
        &format!(
            "first principal component of {space} ({:.0}% of the variance)",
            explained[0] * 100.0
        ),
        &format!("second principal component ({:.0}%)", explained[1] * 100.0),
    );
    let sx = scale(xr.0, xr.1, L, W - R);
    let sy = scale(yr.0, yr.1, H - B, T);
    // Noise first, under the segments.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| segments[i].is_some());
    for i in order {
        let (x, y) = points[i];
        let (c, shape) = style(segments[i]);
        let r = if segments[i].is_some() { 2.8 } else { 2.0 };
        marker(&mut s, shape, sx(x), sy(y), r, c, r#" fill-opacity="0.7""#);
    }
    // Direct labels: each segment's number at the median of its points, on a white halo.
    for (seg, label) in labels.iter().enumerate() {
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = points
            .iter()
            .zip(segments)
            .filter(|(_, s)| **s == Some(seg as u32))
            .map(|(p, _)| (sx(p.0), sy(p.1)))
            .unzip();
        if xs.is_empty() {
            continue;
        }
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        let (x, y) = (xs[xs.len() / 2], ys[ys.len() / 2]);
        let _ = write!(
            s,
            r##"<g font-size="13" font-weight="bold" text-anchor="middle"><title>{}</title><text x="{x:.1}" y="{:.1}" stroke="white" stroke-width="4" stroke-linejoin="round" fill="white">{seg}</text><text x="{x:.1}" y="{:.1}" fill="{}">{seg}</text></g>"##,
            escape(&format!("{seg}: {label}")),
            y + 4.5,
            y + 4.5,
            colour(Some(seg as u32))
        );
    }
    s.push_str(&legend_svg);
    s.push_str("</svg>");
    s
}

/// Inertia (left axis) and silhouette (right axis) per k; the chosen k is marked.
pub fn elbow(title: &str, scores: &[(usize, f64, Option<f64>)], chosen: Option<usize>) -> String {
    let xr = range(scores.iter().map(|s| s.0 as f64));
    let ir = range(scores.iter().map(|s| s.1));
    let listed: Vec<String> = scores
        .iter()
        .map(|(k, i, sil)| match sil {
            Some(v) => format!("k {k}: inertia {}, silhouette {}", number(*i), number(*v)),
            None => format!("k {k}: inertia {}", number(*i)),
        })
        .collect();
    let desc = format!(
        "Elbow chart of a scan of k from {} to {}: inertia (within-segment sum of squares, lower is tighter) and silhouette (higher is better separated) per number of segments{}. {}.",
        number(xr.0),
        number(xr.1),
        chosen.map_or(String::new(), |k| format!("; the model has k = {k}")),
        listed.join("; ")
    );
    let mut s = open(title, &desc, W, H);
    axes(
        &mut s,
        xr,
        (0.0_f64.min(ir.0), ir.1),
        true,
        "k (number of segments)",
        "inertia",
    );
    let sx = scale(xr.0, xr.1, L, W - R);
    let si = scale(0.0_f64.min(ir.0), ir.1, H - B, T);
    let path = |pts: Vec<(f64, f64)>| -> String {
        pts.iter()
            .enumerate()
            .map(|(i, (x, y))| format!("{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, x, y))
            .collect()
    };
    let inertia: Vec<(f64, f64)> = scores.iter().map(|p| (sx(p.0 as f64), si(p.1))).collect();
    let _ = write!(
        s,
        r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
        path(inertia.clone()),
        PALETTE[0]
    );
    for (x, y) in &inertia {
        let _ = write!(
            s,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{}"/>"#,
            PALETTE[0]
        );
    }
    let sil: Vec<(usize, f64)> = scores.iter().filter_map(|p| Some((p.0, p.2?))).collect();
    if !sil.is_empty() {
        // Silhouette on its own scale, [-1, 1] clipped to what was seen, ticks on the right.
        let sr = range(sil.iter().map(|p| p.1));
        let (lo, hi) = (sr.0.min(0.0), sr.1.max(0.0));
        let ss = scale(lo, hi, H - B, T);
        let pts: Vec<(f64, f64)> = sil.iter().map(|p| (sx(p.0 as f64), ss(p.1))).collect();
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="6 3"/>"#,
            path(pts.clone()),
            PALETTE[1]
        );
        for (x, y) in &pts {
            marker(&mut s, Shape::Square, *x, *y, 4.0, PALETTE[1], "");
        }
        for v in ticks(lo, hi, false) {
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#444"/><text x="{}" y="{:.1}">{}</text>"##,
                W - R,
                W - R + 5.0,
                W - R + 8.0,
                ss(v) + 4.0,
                number(v),
                py = ss(v)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{x}" y="{y}" text-anchor="middle" transform="rotate(90 {x} {y})">silhouette</text>"#,
            x = W - R + 48.0,
            y = (H - B + T) / 2.0
        );
    }
    if let Some(k) = chosen {
        let x = sx(k as f64);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{T}" x2="{x:.1}" y2="{}" stroke="#444" stroke-dasharray="2 3"/>"##,
            H - B
        );
    }
    let mut entries = vec![Entry {
        colour: PALETTE[0].into(),
        shape: Some(Shape::Circle),
        text: "inertia (left axis)".into(),
    }];
    if !sil.is_empty() {
        entries.push(Entry {
            colour: PALETTE[1].into(),
            shape: Some(Shape::Square),
            text: "silhouette (right axis)".into(),
        });
    }
    if let Some(k) = chosen {
        entries.push(Entry {
            colour: "#444444".into(),
            shape: None,
            text: format!("chosen: k = {k}"),
        });
    }
    // Right of the silhouette's axis title.
    legend(&mut s, None, &entries, W - R + 70.0, T + 12.0);
    s.push_str("</svg>");
    s
}

/// `stops` (evenly spaced colours) at t in [0, 1], as #RRGGBB.
fn ramp(stops: &[(u8, u8, u8)], t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let at = t * (stops.len() - 1) as f64;
    let i = (at.floor() as usize).min(stops.len() - 2);
    let f = at - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    format!(
        "#{:02X}{:02X}{:02X}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// Whether text on `fill` (#RRGGBB) should be white rather than black.
fn dark(fill: &str) -> bool {
    let c = |i: usize| u8::from_str_radix(&fill[i..i + 2], 16).unwrap_or(255) as f64;
    0.299 * c(1) + 0.587 * c(3) + 0.114 * c(5) < 140.0
}

/// Deviations below the mean blue, above orange (ColorBrewer RdBu's blue end, PuOr's orange
/// end, white between: readable by colour-blind readers), clipped at ±2 SD.
const DIVERGING: [(u8, u8, u8); 5] = [
    (0x21, 0x66, 0xAC),
    (0x92, 0xC5, 0xDE),
    (0xF7, 0xF7, 0xF7),
    (0xFD, 0xB8, 0x63),
    (0xB3, 0x58, 0x06),
];
/// Churn risk, light yellow to dark red (ColorBrewer YlOrRd).
const SEQUENTIAL: [(u8, u8, u8); 5] = [
    (0xFF, 0xFF, 0xB2),
    (0xFE, 0xCC, 0x5C),
    (0xFD, 0x8D, 0x3C),
    (0xF0, 0x3B, 0x20),
    (0xBD, 0x00, 0x26),
];
const CLIP_SD: f64 = 2.0;

fn deviation_colour(v: f64) -> String {
    ramp(&DIVERGING, (v / CLIP_SD + 1.0) / 2.0)
}

/// The top of a churn-rate colour scale: the highest rate, rounded up to 10%.
fn churn_scale(rates: impl Iterator<Item = f64>) -> f64 {
    let max = rates.fold(0.0_f64, f64::max);
    ((max * 10.0).ceil() / 10.0).clamp(0.1, 1.0)
}

fn churn_colour(rate: f64, top: f64) -> String {
    ramp(&SEQUENTIAL, rate / top)
}

/// A horizontal colour key: `steps` swatches of `colour_at(value)` from `lo` to `hi`, the
/// tick labels under them, a caption right of them. Returns nothing; draws at (x, y).
#[allow(clippy::too_many_arguments)]
fn colour_key(
    s: &mut String,
    x: f64,
    y: f64,
    lo: f64,
    hi: f64,
    colour_at: &dyn Fn(f64) -> String,
    labels: &[(f64, String)],
    caption: &str,
) {
    let (steps, sw) = (10, 18.0);
    for i in 0..steps {
        let v = lo + (hi - lo) * (i as f64 + 0.5) / steps as f64;
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{y:.1}" width="{sw}" height="10" fill="{}" stroke="#888" stroke-width="0.3"/>"##,
            x + i as f64 * sw,
            colour_at(v)
        );
    }
    for (v, text) in labels {
        let px = x + (v - lo) / (hi - lo) * sw * steps as f64;
        let _ = write!(
            s,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#444"/><text x="{px:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
            y + 10.0,
            y + 13.0,
            y + 23.0,
            escape(text)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
        x + sw * steps as f64 + 14.0,
        y + 9.0,
        escape(caption)
    );
}

/// What a profile shows beside the features: for a churn model each segment's churn rate (its
/// training rows') and the overall rate.
pub struct ProfileChurn<'a> {
    pub rates: &'a [f64],
    pub base_rate: f64,
}

/// A heatmap: a column per segment (its name, share of rows and, for a churn model, churn rate on
/// top), a row per feature, each cell the segment's mean minus the overall mean in overall
/// standard deviations (`Profile::differences_sd`; None for a constant feature, a grey cell),
/// coloured blue below, orange above, clipped at ±2 SD, its value written in it. `features` are
/// the names as compared (`Profile::compared_on` of `ColumnName::readable`). At most 1280 x 720:
/// with more features than fit, those whose largest difference is largest are drawn (in their
/// order); with more segments, the largest; the picture says what it left out.
pub fn profile(
    title: &str,
    features: &[String],
    labels: &[String],
    sizes: &[u64],
    deviations: &[Vec<Option<f64>>],
    churn: Option<&ProfileChurn>,
) -> String {
    let (k, d) = (labels.len(), features.len());
    let label_w = 250.0;
    let header = 130.0;
    let top = T + header;
    let ch = 18.0;
    let footer = 80.0;
    let min_cw = 30.0;
    // Room right of the last column for its slanted name.
    let right = 150.0;
    // Segments: the largest that fit, in id order.
    let max_cols = ((MAX_W - label_w - right) / min_cw).floor() as usize;
    let mut segs: Vec<usize> = (0..k).collect();
    if k > max_cols {
        segs.sort_by_key(|&s| std::cmp::Reverse(sizes.get(s).copied().unwrap_or(0)));
        segs.truncate(max_cols);
        segs.sort_unstable();
    }
    let extra_rows = 1 + usize::from(churn.is_some());
    let max_rows = ((MAX_H - top - footer) / ch).floor() as usize - extra_rows;
    // Features: those that differ most, in their order.
    let mut feats: Vec<usize> = (0..d).collect();
    if d > max_rows {
        let spread = |j: usize| {
            segs.iter()
                .filter_map(|&s| deviations[s][j])
                .fold(0.0_f64, |m, v| m.max(v.abs()))
        };
        feats.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
        feats.truncate(max_rows);
        feats.sort_unstable();
    }
    let cw = ((MAX_W - label_w - right) / segs.len().max(1) as f64).clamp(min_cw, 64.0);
    let decimals = if cw >= 40.0 { 2 } else { 1 };
    let rows = feats.len() + extra_rows;
    let width = (label_w + cw * segs.len() as f64 + right).max(720.0);
    let height = top + ch * rows as f64 + footer;
    let total: u64 = sizes.iter().sum();
    let share = |s: usize| sizes.get(s).copied().unwrap_or(0) as f64 / total.max(1) as f64;
    let mut notes = Vec::new();
    if segs.len() < k {
        notes.push(format!(
            "{} smaller segments not shown ({} of {} drawn)",
            k - segs.len(),
            segs.len(),
            k
        ));
    }
    if feats.len() < d {
        notes.push(format!(
            "{} features with smaller differences not shown ({} of {} drawn; segment_profile lists all)",
            d - feats.len(),
            feats.len(),
            d
        ));
    }
    let mut desc = format!(
        "Profile heatmap of {} segments by {} features: each cell is how far the segment's mean is from the overall mean, in standard deviations, blue below and orange above (clipped at ±{CLIP_SD}).",
        k, d
    );
    if let Some(c) = churn {
        let _ = write!(
            desc,
            " The churn row gives each segment's churn rate (overall {:.0}%), light yellow to dark red.",
            c.base_rate * 100.0
        );
    }
    for n in &notes {
        let _ = write!(desc, " {}.", capitalise(n));
    }
    let mut s = open(title, &desc, width, height);
    let x_of = |i: usize| label_w + cw * i as f64;
    // Column heads: the segment's number and name, slanted, in up to two lines (the full name
    // in a title when cut).
    for (i, &seg) in segs.iter().enumerate() {
        let full = format!("{seg}: {}", labels[seg]);
        let (lines, cut) = wrap(&full, 26, 2);
        let (cx, cy) = (x_of(i) + cw / 2.0 - 4.0, top - 8.0);
        let _ = write!(
            s,
            r#"<text x="{cx:.1}" y="{cy:.1}" font-size="10.5" transform="rotate(-40 {cx:.1} {cy:.1})" fill="{}" font-weight="bold">{}"#,
            darker(colour(Some(seg as u32))),
            tooltip(&full, cut),
        );
        for (l, line) in lines.iter().enumerate() {
            // The first line above the second, which ends next to its column.
            let dy = if l == 0 {
                -12.0 * (lines.len() - 1) as f64
            } else {
                12.0
            };
            let _ = write!(
                s,
                r#"<tspan x="{cx:.1}" dy="{dy}">{}</tspan>"#,
                escape(line)
            );
        }
        s.push_str("</text>");
    }
    let row_head = |s: &mut String, r: usize, text: &str, bold: bool| {
        let shown = shorten(text, 38);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end"{}>{}{}</text>"#,
            label_w - 8.0,
            top + ch * r as f64 + 13.0,
            if bold { r#" font-weight="bold""# } else { "" },
            tooltip(text, shown != text),
            escape(&shown)
        );
    };
    let cell = |s: &mut String, r: usize, i: usize, fill: &str, text: &str, tip: &str| {
        let (x, y) = (x_of(i), top + ch * r as f64);
        let _ = write!(
            s,
            r##"<g><title>{}</title><rect x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{ch}" fill="{fill}" stroke="white"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{}">{}</text></g>"##,
            escape(tip),
            x + cw / 2.0,
            y + 13.0,
            if dark(fill) { "white" } else { "#222" },
            escape(text)
        );
    };
    row_head(&mut s, 0, "share of rows", true);
    for (i, &seg) in segs.iter().enumerate() {
        let n = sizes.get(seg).copied().unwrap_or(0);
        cell(
            &mut s,
            0,
            i,
            "#FFFFFF",
            &percent(share(seg)),
            &format!(
                "segment {seg}: {} rows, {:.1}% of all",
                count(n),
                share(seg) * 100.0
            ),
        );
    }
    let churn_top = churn.map(|c| churn_scale(c.rates.iter().copied()));
    if let (Some(c), Some(top_rate)) = (churn, churn_top) {
        row_head(&mut s, 1, "churn rate", true);
        for (i, &seg) in segs.iter().enumerate() {
            let rate = c.rates.get(seg).copied().unwrap_or(f64::NAN);
            cell(
                &mut s,
                1,
                i,
                &churn_colour(rate, top_rate),
                &format!("{:.0}%", rate * 100.0),
                &format!(
                    "segment {seg}: churn rate {:.1}% (overall {:.1}%)",
                    rate * 100.0,
                    c.base_rate * 100.0
                ),
            );
        }
    }
    for (r, &j) in feats.iter().enumerate() {
        let r = r + extra_rows;
        row_head(&mut s, r, &features[j], false);
        for (i, &seg) in segs.iter().enumerate() {
            match deviations[seg][j] {
                Some(v) => cell(
                    &mut s,
                    r,
                    i,
                    &deviation_colour(v),
                    &signed(v, decimals),
                    &format!(
                        "segment {seg}, {}: {v:+.2} SD from the overall mean",
                        features[j]
                    ),
                ),
                None => cell(
                    &mut s,
                    r,
                    i,
                    "#E0E0E0",
                    "–",
                    &format!(
                        "{}: constant over the rows (no difference to measure)",
                        features[j]
                    ),
                ),
            }
        }
    }
    let key_y = top + ch * rows as f64 + 16.0;
    colour_key(
        &mut s,
        20.0,
        key_y,
        -CLIP_SD,
        CLIP_SD,
        &deviation_colour,
        &[
            (-CLIP_SD, format!("−{CLIP_SD}")),
            (0.0, "0".into()),
            (CLIP_SD, format!("+{CLIP_SD}")),
        ],
        "segment mean − overall mean, in standard deviations",
    );
    if let (Some(c), Some(top_rate)) = (churn, churn_top) {
        colour_key(
            &mut s,
            width / 2.0 + 40.0,
            key_y,
            0.0,
            top_rate,
            &|v| churn_colour(v, top_rate),
            &[
                (0.0, "0%".into()),
                (
                    c.base_rate.min(top_rate),
                    format!("{:.0}%", c.base_rate * 100.0),
                ),
                (top_rate, format!("{:.0}%", top_rate * 100.0)),
            ],
            "churn rate (tick: overall)",
        );
    }
    for (i, n) in notes.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="20" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
            key_y + 40.0 + 12.0 * i as f64,
            escape(&capitalise(n))
        );
    }
    s.push_str("</svg>");
    s
}

/// A difference with its sign, "0.00" when it rounds to zero (not "-0.00").
fn signed(v: f64, decimals: usize) -> String {
    let text = format!("{v:+.decimals$}");
    if text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_string()
    } else {
        text
    }
}

fn capitalise(text: &str) -> String {
    let mut c = text.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// A palette colour darkened for text on white (the yellow and pink are too light as text).
fn darker(fill: &str) -> String {
    let c = |i: usize| u8::from_str_radix(&fill[i..i + 2], 16).unwrap_or(0) as f64;
    let f = 0.8;
    format!(
        "#{:02X}{:02X}{:02X}",
        (c(1) * f) as u8,
        (c(3) * f) as u8,
        (c(5) * f) as u8
    )
}

/// How a tree's leaves are coloured and described.
pub enum TreeColours<'a> {
    /// A churn tree: leaves by churn rate on a sequential scale (light yellow to dark red, with
    /// a key); `base_rate` is the training rows' churn rate.
    Churn { base_rate: f64 },
    /// A classifier tree: leaves by the class they predict (their majority), `classes` naming
    /// the classes (the segments' labels) in id order.
    Classes { classes: &'a [String] },
}

/// Split columns a tree picture has at most (185 px each): deeper subtrees fold.
const TREE_COLUMNS: usize = 5;
const COL_W: f64 = 185.0;
const ROW_H: f64 = 28.0;
const BOX_H: f64 = 24.0;
const TREE_FOOTER: f64 = 62.0;

/// The terminal boxes a tree picture has room for within `MAX_H`.
pub fn tree_rows() -> usize {
    ((MAX_H - T - 10.0 - TREE_FOOTER) / ROW_H).floor() as usize
}

/// A tree drawn sideways, root at the left, a box per node saying the condition that leads to it
/// ("tenure ≤ 12.5", "contract is Month-to-month", "contract is not Month-to-month") with its
/// training rows and churn rate (or majority class); the leaves, one per row at the right, are
/// coloured by churn rate or by the class they predict. At most 1280 x 720: when the leaves or
/// the depth do not fit (21 rows, 5 levels of splits), the subtrees below the deepest level
/// that fits are folded into one box each (dashed, with their rows and rate), and the picture
/// says so. `columns` names the matrix columns; `labels` are the segments' labels (leaf ids for
/// a churn tree, classes for a classifier).
pub fn tree(
    title: &str,
    t: &Tree,
    columns: &[ColumnName],
    labels: &[String],
    colours: TreeColours,
) -> String {
    let n = t.nodes.len();
    // Depth, and the condition leading to each node (depth first, left first).
    let mut depth = vec![usize::MAX; n];
    let mut cond = vec![String::new(); n];
    let mut path: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut order = Vec::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((at, dd)) = stack.pop() {
        if at >= n || depth[at] != usize::MAX {
            continue;
        }
        depth[at] = dd;
        order.push(at);
        let node = &t.nodes[at];
        if let Some(f) = node.feature {
            let name = columns
                .get(f)
                .cloned()
                .unwrap_or_else(|| ColumnName::Number(format!("column {f}")));
            for (child, le) in [(node.left, true), (node.right, false)] {
                if child < n {
                    cond[child] = name.condition(le, node.threshold);
                    let mut p = path[at].clone();
                    p.push(cond[child].clone());
                    path[child] = p;
                }
            }
            stack.push((node.right, dd + 1));
            stack.push((node.left, dd + 1));
        }
    }
    let reachable = |i: usize| depth[i] != usize::MAX;
    let is_split = |i: usize| t.nodes[i].feature.is_some();
    let max_depth = (0..n)
        .filter(|&i| reachable(i))
        .map(|i| depth[i])
        .max()
        .unwrap_or(0);
    let terminals_at = |cut: usize| {
        order
            .iter()
            .filter(|&&i| depth[i] == cut || (depth[i] < cut && !is_split(i)))
            .count()
    };
    let rows_room = tree_rows();
    let mut cut = max_depth.min(TREE_COLUMNS);
    while cut > 1 && terminals_at(cut) > rows_room {
        cut -= 1;
    }
    let terminal = |i: usize| depth[i] == cut || (depth[i] < cut && !is_split(i));
    let drawn: Vec<usize> = order.iter().copied().filter(|&i| depth[i] <= cut).collect();
    let leaves_total = (0..n).filter(|&i| reachable(i) && !is_split(i)).count();
    let leaves_under = |i: usize| {
        let mut count = 0;
        let mut st = vec![i];
        while let Some(a) = st.pop() {
            match t.nodes[a].feature {
                Some(_) => {
                    st.push(t.nodes[a].left);
                    st.push(t.nodes[a].right);
                }
                None => count += 1,
            }
        }
        count
    };
    let folded: Vec<usize> = drawn
        .iter()
        .copied()
        .filter(|&i| terminal(i) && is_split(i))
        .collect();
    // Places: terminals one a row in drawing order, a split in the middle of its children.
    let top = T + 10.0;
    let mut y = vec![0.0; n];
    let mut row = 0;
    for &i in &drawn {
        if terminal(i) {
            y[i] = top + row as f64 * ROW_H;
            row += 1;
        }
    }
    for &i in drawn.iter().rev() {
        if !terminal(i) {
            let node = &t.nodes[i];
            y[i] = (y[node.left] + y[node.right]) / 2.0;
        }
    }
    let term_x = 20.0 + cut as f64 * COL_W;
    let width = (term_x + 340.0).clamp(720.0, MAX_W);
    let term_w = width - term_x - 20.0;
    let split_w = COL_W - 24.0;
    let x_of = |i: usize| {
        if terminal(i) {
            term_x
        } else {
            20.0 + depth[i] as f64 * COL_W
        }
    };
    let churn_top = match colours {
        TreeColours::Churn { base_rate } => Some(churn_scale(
            t.nodes
                .iter()
                .filter(|node| node.feature.is_none())
                .map(Node::churn_rate)
                .chain([base_rate]),
        )),
        TreeColours::Classes { .. } => None,
    };
    let class_name = |c: u32| match &colours {
        TreeColours::Classes { classes } => classes
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| format!("class {c}")),
        TreeColours::Churn { .. } => String::new(),
    };
    let share_of = |node: &Node, c: u32| {
        node.counts.get(c as usize).copied().unwrap_or(0) as f64 / node.rows.max(1) as f64
    };
    let stats = |node: &Node| match colours {
        TreeColours::Churn { .. } => {
            format!(
                "{} rows · churn {:.0}%",
                count(node.rows),
                node.churn_rate() * 100.0
            )
        }
        TreeColours::Classes { .. } => {
            let c = node.majority();
            format!(
                "{} rows · {:.0}% {}",
                count(node.rows),
                share_of(node, c) * 100.0,
                class_name(c)
            )
        }
    };
    // Legend entries of a classifier: the classes its drawn terminals predict.
    let mut classes_drawn: Vec<u32> = Vec::new();
    if let TreeColours::Classes { .. } = colours {
        for &i in &drawn {
            if terminal(i) {
                let c = t.nodes[i].majority();
                if !classes_drawn.contains(&c) {
                    classes_drawn.push(c);
                }
            }
        }
        classes_drawn.sort_unstable();
    }
    let key_lines = match colours {
        TreeColours::Churn { .. } => 1,
        TreeColours::Classes { .. } => classes_drawn
            .len()
            .div_ceil(((width - 40.0) / 180.0).max(1.0) as usize),
    };
    let height = top + row as f64 * ROW_H + TREE_FOOTER + 16.0 * key_lines.saturating_sub(1) as f64;
    let fold_note = (!folded.is_empty()).then(|| {
        format!(
            "Subtrees below depth {cut} are folded into one dashed box each ({} boxes for {} of the {leaves_total} leaves); {} lists every leaf.",
            folded.len(),
            folded.iter().map(|&i| leaves_under(i)).sum::<usize>(),
            match colours {
                TreeColours::Churn { .. } => "segment_churn_rules",
                TreeColours::Classes { .. } => "segment_classify_rules",
            }
        )
    });
    let mut desc = match colours {
        TreeColours::Churn { base_rate } => format!(
            "Churn tree of {leaves_total} leaves (depth {max_depth}), drawn from the root at the left: each box says the condition its rows meet, how many training rows it has and their churn rate. Leaves are the segments, coloured by churn rate from light yellow (0%) to dark red ({:.0}%); overall churn is {:.0}%.",
            churn_top.unwrap_or(1.0) * 100.0,
            base_rate * 100.0
        ),
        TreeColours::Classes { .. } => format!(
            "Classification tree of {leaves_total} leaves (depth {max_depth}), drawn from the root at the left: each box says the condition its rows meet, how many training rows it has and the share of its most common class. Leaves are coloured by the class they predict."
        ),
    };
    if let Some(note) = &fold_note {
        desc.push(' ');
        desc.push_str(note);
    }
    let mut s = open(title, &desc, width, height);
    // Links: from a split's right side to each child's left side, in elbows.
    for &i in &drawn {
        if terminal(i) {
            continue;
        }
        let node = &t.nodes[i];
        for child in [node.left, node.right] {
            let (x1, y1) = (x_of(i) + split_w, y[i] + BOX_H / 2.0);
            let (x2, y2) = (x_of(child), y[child] + BOX_H / 2.0);
            let xm = x1 + 10.0;
            let _ = write!(
                s,
                r##"<path d="M{x1:.1},{y1:.1} H{xm:.1} V{y2:.1} H{x2:.1}" fill="none" stroke="#888"/>"##
            );
        }
    }
    for &i in &drawn {
        let node = &t.nodes[i];
        let (x, yy) = (x_of(i), y[i]);
        let term = terminal(i);
        let w = if term { term_w } else { split_w };
        let chars = (w / 6.2) as usize;
        let line1 = if i == 0 {
            "all rows".to_string()
        } else {
            cond[i].clone()
        };
        let (fill, dashed) = if !term {
            ("#F4F4F4".to_string(), false)
        } else {
            let fill = match colours {
                TreeColours::Churn { .. } => {
                    churn_colour(node.churn_rate(), churn_top.unwrap_or(1.0))
                }
                TreeColours::Classes { .. } => colour(Some(node.majority())).to_string(),
            };
            (fill, is_split(i))
        };
        let line2 = if term && is_split(i) {
            format!("{} leaves folded · {}", leaves_under(i), stats(node))
        } else if term {
            match colours {
                TreeColours::Churn { .. } => {
                    format!("segment {} · {}", node.leaf.unwrap_or(0), stats(node))
                }
                TreeColours::Classes { .. } => {
                    let c = node.majority();
                    format!(
                        "→ {} · {} rows ({:.0}% of them)",
                        class_name(c),
                        count(node.rows),
                        share_of(node, c) * 100.0
                    )
                }
            }
        } else {
            stats(node)
        };
        let segment_label = match (&colours, node.leaf) {
            (TreeColours::Churn { .. }, Some(l)) if term => labels
                .get(l as usize)
                .map_or(String::new(), |label| format!("segment {l}: {label}. ")),
            _ => String::new(),
        };
        let full = format!(
            "{segment_label}{}: {}",
            if path[i].is_empty() {
                "all rows".to_string()
            } else {
                path[i].join(", ")
            },
            if term && is_split(i) {
                format!("{} leaves folded, {}", leaves_under(i), stats(node))
            } else {
                stats(node)
            }
        );
        let text_fill = if dark(&fill) { "white" } else { "#111" };
        let _ = write!(
            s,
            r##"<g><title>{}</title><rect x="{x:.1}" y="{yy:.1}" width="{w:.1}" height="{BOX_H}" rx="4" fill="{fill}" stroke="#555"{}/><text x="{:.1}" y="{:.1}" font-size="10" fill="{text_fill}" font-weight="bold">{}</text><text x="{:.1}" y="{:.1}" font-size="9.5" fill="{text_fill}">{}</text></g>"##,
            escape(&full),
            if dashed {
                r#" stroke-dasharray="4 2""#
            } else {
                ""
            },
            x + 5.0,
            yy + 10.5,
            escape(&shorten(&line1, chars)),
            x + 5.0,
            yy + 21.0,
            escape(&shorten(&line2, chars + 2)),
        );
    }
    let key_y = top + row as f64 * ROW_H + 12.0;
    match colours {
        TreeColours::Churn { base_rate } => {
            let top_rate = churn_top.unwrap_or(1.0);
            colour_key(
                &mut s,
                20.0,
                key_y,
                0.0,
                top_rate,
                &|v| churn_colour(v, top_rate),
                &[
                    (0.0, "0%".into()),
                    (
                        base_rate.min(top_rate),
                        format!("{:.0}%", base_rate * 100.0),
                    ),
                    (top_rate, format!("{:.0}%", top_rate * 100.0)),
                ],
                &format!(
                    "leaf colour: churn rate of its training rows (tick: overall {:.0}%)",
                    base_rate * 100.0
                ),
            );
        }
        TreeColours::Classes { .. } => {
            let per_line = ((width - 40.0) / 180.0).max(1.0) as usize;
            let _ = write!(
                s,
                r#"<text x="20" y="{:.1}" font-size="11" font-weight="bold">leaf colour: the class it predicts</text>"#,
                key_y + 8.0
            );
            for (j, &c) in classes_drawn.iter().enumerate() {
                let (kx, ky) = (
                    20.0 + (j % per_line) as f64 * 180.0,
                    key_y + 26.0 + (j / per_line) as f64 * 16.0,
                );
                let name = class_name(c);
                let shown = shorten(&name, 24);
                let _ = write!(s, "<g>{}", tooltip(&name, shown != name));
                marker(
                    &mut s,
                    Shape::Square,
                    kx + 6.0,
                    ky - 4.0,
                    5.5,
                    colour(Some(c)),
                    "",
                );
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{ky:.1}" font-size="11">{}</text></g>"#,
                    kx + 16.0,
                    escape(&shown)
                );
            }
        }
    }
    if let Some(note) = fold_note {
        let _ = write!(
            s,
            r##"<text x="20" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
            height - 8.0,
            escape(&note)
        );
    }
    s.push_str("</svg>");
    s
}

/// Why a model has no tree to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoTree {
    /// A clustering model: its segments come from no tree.
    NotATreeModel,
    /// A random forest of this many trees: no one tree decides a row's class, and a single
    /// bootstrap tree of it (on a subset of the features at each split) would mislead.
    Forest(usize),
}

/// The readable names of a model's matrix columns, as a profile compares them (log(1 + x) for
/// a feature in the `log` option).
pub fn model_columns(m: &SegmentModel) -> Vec<String> {
    let names: Vec<String> = column_names(&m.features, &m.categories)
        .iter()
        .map(ColumnName::readable)
        .collect();
    m.profile.compared_on(&names)
}

/// `segment_plot(model, 'profile')`: the heatmap of the model's profile, with a churn model's
/// churn rate per segment (leaf).
pub fn model_profile(title: &str, m: &SegmentModel, labels: &[String]) -> String {
    let p = &m.profile;
    let rates: Option<Vec<f64>> = m
        .churn()
        .map(|c| c.tree.leaves().iter().map(|l| l.churn_rate()).collect());
    let churn = m
        .churn()
        .zip(rates.as_deref())
        .map(|(c, rates)| ProfileChurn {
            rates,
            base_rate: c.base_rate,
        });
    profile(
        title,
        &model_columns(m),
        labels,
        &p.sizes,
        &p.differences_sd(),
        churn.as_ref(),
    )
}

/// `segment_plot(model, 'tree')`: a churn model's tree (leaves by churn rate) or a classifier
/// tree's (leaves by class); a forest or a clustering model has none.
pub fn model_tree(title: &str, m: &SegmentModel, labels: &[String]) -> Result<String, NoTree> {
    let columns = column_names(&m.features, &m.categories);
    match &m.rule {
        MethodRule::ChurnTree { churn } => Ok(tree(
            title,
            &churn.tree,
            &columns,
            labels,
            TreeColours::Churn {
                base_rate: churn.base_rate,
            },
        )),
        MethodRule::DecisionTree { tree: t, .. } => Ok(tree(
            title,
            t,
            &columns,
            labels,
            TreeColours::Classes { classes: labels },
        )),
        MethodRule::RandomForest { forest, .. } => Err(NoTree::Forest(forest.trees.len())),
        _ => Err(NoTree::NotATreeModel),
    }
}

/// `segment_plot(model, 'scatter')` of rows already in the model's scaled space (as
/// `Assigner::label_raw` leaves them) with their segments: tree models (raw units) are
/// z-scored, and the legend says what the colours are.
pub fn model_scatter(
    title: &str,
    m: &SegmentModel,
    labels: &[String],
    rows: &[f64],
    segments: &[Option<u32>],
) -> String {
    let colours = match m.method() {
        Method::ChurnTree => "colour: segment (the churn tree's leaf each row falls in)",
        Method::DecisionTree | Method::RandomForest => {
            "colour: the class the model predicts (not the row's true class)"
        }
        _ => "colour: segment",
    };
    scatter(
        title,
        rows,
        m.columns().width(),
        segments,
        labels,
        &ScatterKind {
            colours,
            standardize: m.method().is_supervised(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::cart::Node;

    /// The width and height attributes of a picture's root.
    fn size(svg: &str) -> (f64, f64) {
        let attr = |name: &str| -> f64 {
            let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
            svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
        };
        (attr("width"), attr("height"))
    }

    /// The character data of every <text> (tspans joined), in order.
    fn texts(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = svg;
        while let Some(at) = rest.find("<text") {
            rest = &rest[at..];
            let start = rest.find('>').unwrap() + 1;
            let end = rest.find("</text>").unwrap();
            let inner = &rest[start..end];
            // Drop a <title> child.
            let inner = match (inner.find("<title>"), inner.find("</title>")) {
                (Some(a), Some(b)) => format!("{}{}", &inner[..a], &inner[b + 8..]),
                _ => inner.to_string(),
            };
            out.push(inner);
            rest = &rest[end..];
        }
        out
    }

    fn leaf(rows: u64, counts: Vec<u64>, id: u32) -> Node {
        Node {
            leaf: Some(id),
            rows,
            counts,
            ..Node::empty(2)
        }
    }

    fn split(feature: usize, threshold: f64, left: usize, right: usize, counts: Vec<u64>) -> Node {
        Node {
            feature: Some(feature),
            threshold,
            left,
            right,
            rows: counts.iter().sum(),
            counts,
            ..Node::empty(2)
        }
    }

    /// A complete tree of `depth` levels of splits on column 0, leaves numbered left to right.
    fn full_tree(depth: u32) -> Tree {
        let mut nodes = Vec::new();
        fn build(nodes: &mut Vec<Node>, d: u32, next_leaf: &mut u32) -> usize {
            let at = nodes.len();
            nodes.push(Node::empty(2));
            if d == 0 {
                let id = *next_leaf;
                *next_leaf += 1;
                nodes[at] = leaf(100, vec![100 - (id as u64 % 100), id as u64 % 100], id);
            } else {
                let l = build(nodes, d - 1, next_leaf);
                let r = build(nodes, d - 1, next_leaf);
                let counts: Vec<u64> = (0..2)
                    .map(|c| nodes[l].counts[c] + nodes[r].counts[c])
                    .collect();
                nodes[at] = split(0, d as f64 + 0.5, l, r, counts);
            }
            at
        }
        build(&mut nodes, depth, &mut 0);
        Tree { nodes }
    }

    fn churn_tree() -> Tree {
        // Root splits on contract=Month-to-month (column 1, one-hot): not (left) 10% churn,
        // is (right) 60%.
        Tree {
            nodes: vec![
                split(1, 0.5, 1, 2, vec![130, 70]),
                leaf(100, vec![90, 10], 0),
                leaf(100, vec![40, 60], 1),
            ],
        }
    }

    fn contract_columns() -> Vec<ColumnName> {
        column_names(
            &["tenure".into(), "contract".into()],
            &[None, Some(vec!["Month-to-month".into(), "One year".into()])],
        )
    }

    #[test]
    fn principal_components_of_a_line() {
        // Points along (1, 1): the first component is ±(1, 1)/√2 with all the variance.
        let rows: Vec<f64> = (0..50).flat_map(|i| [i as f64, i as f64]).collect();
        let ([pc1, _], explained) = principal_components(&rows, 2);
        assert!((pc1[0].abs() - 0.5f64.sqrt()).abs() < 1e-9 && (pc1[0] - pc1[1]).abs() < 1e-9);
        assert!((explained[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&apos;");
        let svg = profile(
            "<t>",
            &["x&y".into()],
            &["lab<el".into()],
            &[10],
            &[vec![Some(1.0)]],
            None,
        );
        assert!(!svg.contains("<t>") && svg.contains("&lt;t&gt;") && svg.contains("x&amp;y"));
    }

    /// The plot draws segment_profile's difference_sd: a constant feature has no value (it was
    /// drawn as 0, where segment_profile says NULL), a log feature is named log(1 + x) and drawn
    /// in log units.
    #[test]
    fn profile_cells_are_the_profiles_differences() {
        use crate::analysis::profile::Profile;
        use crate::prep::matrix::FeatureMatrix;
        use crate::prep::scaling::Scaler;
        // spend (log): segments of 1, 3 and 100; b constant. In log units (numpy on
        // log1p([1, 1, 3, 3, 100, 100])) the differences are -0.900, -0.495 and +1.395; in raw
        // units they would be -0.729, -0.685 and +1.414.
        let rows: Vec<f64> = [1.0f64, 1.0, 3.0, 3.0, 100.0, 100.0]
            .iter()
            .flat_map(|x| [x.ln_1p(), 7.0])
            .collect();
        let p = Profile::measure(
            &FeatureMatrix::from_rows(rows, 2),
            &[0, 0, 1, 1, 2, 2],
            3,
            &Scaler::identity(2),
            &[true, false],
        );
        let names = p.compared_on(&["spend".to_string(), "b".to_string()]);
        let labels = ["low".into(), "mid".into(), "high".into()];
        let svg = profile("p", &names, &labels, &p.sizes, &p.differences_sd(), None);
        assert!(svg.contains(">log(1 + spend)<"), "{svg}");
        for value in [">-0.90<", ">-0.49<", ">+1.39<"] {
            assert!(svg.contains(value), "{value} in {svg}");
        }
        assert_eq!(svg.matches("b: constant over the rows").count(), 3);
        // A cell per segment and row (share of rows, spend, b), the background and 10 key
        // swatches.
        assert_eq!(svg.matches("<rect ").count(), 3 * 3 + 1 + 10, "{svg}");
    }

    #[test]
    fn every_kind_makes_one_svg_element_with_a_text_alternative() {
        let columns = contract_columns();
        let svgs = [
            scatter(
                "s",
                &[0.0, 1.0, 1.0, 0.0, 2.0, 2.0],
                2,
                &[Some(0), Some(1), None],
                &["a".into(), "b".into()],
                &ScatterKind {
                    colours: "colour: segment",
                    standardize: false,
                },
            ),
            elbow(
                "e",
                &[(2, 10.0, Some(0.5)), (3, 6.0, Some(0.6)), (4, 5.0, None)],
                Some(3),
            ),
            profile(
                "p",
                &["x".into(), "y".into(), "z".into()],
                &["a".into()],
                &[5],
                &[vec![Some(1.0), Some(-2.0), None]],
                None,
            ),
            tree(
                "t",
                &churn_tree(),
                &columns,
                &["low".into(), "high".into()],
                TreeColours::Churn { base_rate: 0.35 },
            ),
            tree(
                "c",
                &churn_tree(),
                &columns,
                &["stays".into(), "leaves".into()],
                TreeColours::Classes {
                    classes: &["stays".into(), "leaves".into()],
                },
            ),
        ];
        for s in svgs {
            assert!(s.starts_with("<svg ") && s.ends_with("</svg>"));
            assert_eq!(s.matches("<svg").count(), 1);
            assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
            // The text alternative: the root's first children, not empty.
            let head = &s[s.find('>').unwrap() + 1..];
            assert!(head.starts_with("<title id=\"plot-title\">"), "{s}");
            let desc = &head[head.find("<desc id=\"plot-desc\">").expect("desc") + 20..];
            assert!(desc.find("</desc>").unwrap() > 40, "{s}");
            assert!(s.contains(r#"role="img" aria-labelledby="plot-title plot-desc""#));
        }
    }

    #[test]
    fn twelve_distinct_colours_then_shapes_and_noise_stays_grey() {
        let rgb = |c: &str| -> [f64; 3] {
            [1, 3, 5].map(|i| u8::from_str_radix(&c[i..i + 2], 16).unwrap() as f64)
        };
        let mut all: Vec<&str> = PALETTE.to_vec();
        all.push(NOISE_COLOUR);
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let (a3, b3) = (rgb(a), rgb(b));
                let d = (0..3).map(|j| (a3[j] - b3[j]).powi(2)).sum::<f64>().sqrt();
                assert!(d >= 60.0, "{a} and {b} are too alike ({d:.0})");
            }
        }
        assert!(PALETTE.len() >= 12);
        let styles: Vec<_> = (0..48).map(|s| style(Some(s))).collect();
        for (i, a) in styles.iter().enumerate() {
            assert!(
                !styles[i + 1..].contains(a),
                "segment {i} looks like a later one"
            );
        }
        assert_eq!(style(None).0, NOISE_COLOUR);
        // Segment 12 has segment 0's colour, as a square.
        assert_eq!(style(Some(12)), (PALETTE[0], Shape::Square));
    }

    /// Labels that differ only after 20 characters were cut alike ("6: contract One year …"
    /// twice in one legend): now each reads in full (wrapped), or has its full text in a title.
    #[test]
    fn legend_entries_are_told_apart() {
        let labels: Vec<String> = [
            "contract One year, high monthly charges",
            "contract One year, low monthly charges",
            "internet_service: Fiber optic, long tenure",
            "internet_service: Fiber optic, short tenure",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rows: Vec<f64> = (0..8).flat_map(|i| [i as f64, (i * i) as f64]).collect();
        let segments: Vec<Option<u32>> = (0..8).map(|i| Some(i % 4)).collect();
        let svg = scatter(
            "s",
            &rows,
            2,
            &segments,
            &labels,
            &ScatterKind {
                colours: "colour: segment",
                standardize: false,
            },
        );
        // Each legend entry is a <g> of its marker and its lines; join an entry's lines.
        let mut shown = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            // The legend comes after the direct labels (whose titles hold the same text).
            let start = svg.rfind(&format!(">{i}: ")).expect("entry");
            let entry = &svg[start..start + svg[start..].find("</g>").unwrap()];
            let words = texts(&format!("<text{entry}")).join(" ");
            assert_eq!(words, format!("{i}: {l}"), "{svg}");
            shown.push(words);
        }
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), labels.len());
        // A label too long for two lines is shortened, its full text in a <title>.
        let long = "a".repeat(20) + " " + &"b".repeat(30) + " " + &"c".repeat(30);
        let svg = scatter(
            "s",
            &rows,
            2,
            &segments,
            &[long.clone(), "x".into(), "y".into(), "z".into()],
            &ScatterKind {
                colours: "colour: segment",
                standardize: false,
            },
        );
        assert!(svg.contains(&format!("<title>0: {long}</title>")), "{svg}");
    }

    #[test]
    fn one_hot_columns_read_as_feature_and_value() {
        let c = contract_columns();
        assert_eq!(c[1].readable(), "contract: Month-to-month");
        assert_eq!(c[2].readable(), "contract: One year");
        assert_eq!(c[1].condition(true, 0.5), "contract is not Month-to-month");
        assert_eq!(c[1].condition(false, 0.5), "contract is Month-to-month");
        assert_eq!(c[0].condition(true, 12.5), "tenure ≤ 12.5");
        assert_eq!(c[0].condition(false, 12.5), "tenure > 12.5");
        let svg = tree(
            "t",
            &churn_tree(),
            &c,
            &["low".into(), "high".into()],
            TreeColours::Churn { base_rate: 0.35 },
        );
        let t = texts(&svg);
        assert!(
            t.contains(&"contract is Month-to-month".to_string()),
            "{t:?}"
        );
        assert!(
            t.contains(&"contract is not Month-to-month".to_string()),
            "{t:?}"
        );
        assert!(
            !t.iter().any(|x| x.contains("0.5") || x.contains('=')),
            "{t:?}"
        );
    }

    #[test]
    fn churn_leaves_are_coloured_by_risk_and_classes_by_class() {
        let c = contract_columns();
        let svg = tree(
            "t",
            &churn_tree(),
            &c,
            &["low".into(), "high".into()],
            TreeColours::Churn { base_rate: 0.35 },
        );
        let fill_of = |svg: &str, text: &str| -> String {
            let at = svg.find(text).expect(text);
            let rect = svg[..at].rfind("<rect ").unwrap();
            let rect = rect + svg[rect..].find("fill=\"#").unwrap() + 6;
            svg[rect..rect + 7].to_string()
        };
        let (low, high) = (
            fill_of(&svg, "segment 0 · 100 rows · churn 10%"),
            fill_of(&svg, "segment 1 · 100 rows · churn 60%"),
        );
        assert_eq!(low, churn_colour(0.1, 0.6));
        assert_eq!(high, churn_colour(0.6, 0.6));
        assert!(!dark(&low) && dark(&high), "{low} {high}");
        assert!(svg.contains("leaf colour: churn rate"));
        let classes = ["stays".to_string(), "leaves".to_string()];
        let svg = tree(
            "c",
            &churn_tree(),
            &c,
            &classes,
            TreeColours::Classes { classes: &classes },
        );
        assert_eq!(fill_of(&svg, "→ stays"), PALETTE[0]);
        assert_eq!(fill_of(&svg, "→ leaves"), PALETTE[1]);
        assert!(svg.contains("leaf colour: the class it predicts"));
    }

    /// A wide tree (256 leaves) fits 1280 x 720: its deepest subtrees fold, and it says so.
    #[test]
    fn wide_trees_fold_to_fit_a_slide() {
        let columns = vec![ColumnName::Number("tenure".into())];
        let labels: Vec<String> = (0..256).map(|i| format!("leaf {i}")).collect();
        for depth in [1, 3, 5, 8] {
            let svg = tree(
                "t",
                &full_tree(depth),
                &columns,
                &labels,
                TreeColours::Churn { base_rate: 0.3 },
            );
            let (w, h) = size(&svg);
            assert!(w <= MAX_W && h <= MAX_H, "depth {depth}: {w} x {h}");
            // Splits are fewer than the boxes at the right (one a row).
            let boxes = svg.matches(r#"height="24""#).count();
            assert!(boxes < 2 * tree_rows(), "depth {depth}");
            assert_eq!(
                svg.contains("folded"),
                depth == 5 || depth == 8,
                "depth {depth}"
            );
        }
    }

    #[test]
    fn profile_fits_a_slide_and_shows_churn_rates() {
        let (k, d) = (40, 60);
        let features: Vec<String> = (0..d)
            .map(|j| format!("job: category number {j}"))
            .collect();
        let labels: Vec<String> = (0..k)
            .map(|s| format!("high churn risk: leaf {s}"))
            .collect();
        let sizes: Vec<u64> = (0..k as u64).map(|s| 100 + s).collect();
        let deviations: Vec<Vec<Option<f64>>> = (0..k)
            .map(|s| {
                (0..d)
                    .map(|j| Some(((s * j) % 7) as f64 / 3.0 - 1.0))
                    .collect()
            })
            .collect();
        let rates: Vec<f64> = (0..k).map(|s| s as f64 / 100.0).collect();
        let svg = profile(
            "p",
            &features,
            &labels,
            &sizes,
            &deviations,
            Some(&ProfileChurn {
                rates: &rates,
                base_rate: 0.2,
            }),
        );
        let (w, h) = size(&svg);
        assert!(w <= MAX_W && h <= MAX_H, "{w} x {h}");
        assert!(
            svg.contains(">churn rate<") && svg.contains(">39%<"),
            "{svg}"
        );
        assert!(
            svg.contains("smaller segments not shown")
                && svg.contains("features with smaller differences not shown")
        );
    }

    #[test]
    fn elbow_ticks_are_whole_numbers() {
        assert_eq!(
            ticks(2.0, 10.0, true),
            (2..=10).map(f64::from).collect::<Vec<_>>()
        );
        assert!(ticks(2.0, 40.0, true).iter().all(|v| v.fract() == 0.0));
        let scores: Vec<(usize, f64, Option<f64>)> = (2..=10)
            .map(|k| (k, 1000.0 / k as f64, Some(0.3)))
            .collect();
        let svg = elbow("e", &scores, Some(4));
        let t = texts(&svg);
        for k in 2..=10 {
            assert!(t.contains(&k.to_string()), "{k} in {t:?}");
        }
        assert!(!t.iter().any(|x| x.ends_with(".00")), "{t:?}");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(0.30000000000000004), "0.3");
    }

    /// A tree model's rows are in raw units: unscaled, a column in thousands is the whole first
    /// component ("100%" and "0%" of the variance); z-scored, the two columns count alike.
    #[test]
    fn scatter_of_tree_models_is_on_z_scores() {
        let rows: Vec<f64> = (0..200)
            .flat_map(|i| [((i * 37) % 101) as f64 * 1000.0, ((i * 53) % 97) as f64])
            .collect();
        let segments = vec![Some(0); 200];
        let kind = |standardize| ScatterKind {
            colours: "colour: predicted class",
            standardize,
        };
        let raw = scatter("s", &rows, 2, &segments, &["a".into()], &kind(false));
        assert!(raw.contains("(100% of the variance)"), "{raw}");
        let z = scatter("s", &rows, 2, &segments, &["a".into()], &kind(true));
        assert!(!z.contains("(100% of the variance)") && z.contains("z-scored columns"));
        assert!(z.contains(">colour: predicted class<"));
        let mut v = rows.clone();
        standardize(&mut v, 2);
        let mean: f64 = v.iter().step_by(2).sum::<f64>() / 200.0;
        let var: f64 = v.iter().step_by(2).map(|x| x * x).sum::<f64>() / 200.0;
        assert!(mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9);
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        let (lines, cut) = wrap("internet_service: Fiber optic, short tenure", 20, 3);
        assert_eq!(lines, ["internet_service:", "Fiber optic, short", "tenure"]);
        assert!(!cut);
        let (lines, cut) = wrap("one two three four five six", 9, 2);
        assert_eq!(lines.len(), 2);
        assert!(cut && lines[1].ends_with('…'));
    }
}
