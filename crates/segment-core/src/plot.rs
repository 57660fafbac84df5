//! Pictures as SVG text: a scatter of rows on their first two principal components, an elbow
//! chart of a k scan, per-segment feature deviations as bars, and a churn tree. Plain SVG 1.1
//! (no scripts, no external fonts or files) so notebooks, browsers and BI tools show it and
//! `rsvg-convert` renders it.

use crate::tree::cart::Tree;
use std::fmt::Write;

/// Colours of segments 0, 1, ... (Okabe–Ito, readable by colour-blind readers); noise is grey.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];
const NOISE_COLOUR: &str = "#999999";
const W: f64 = 720.0;
const H: f64 = 480.0;
/// Plot area margins: left, top, right (legend), bottom.
const L: f64 = 70.0;
const T: f64 = 40.0;
const R: f64 = 180.0;
const B: f64 = 60.0;

fn colour(segment: Option<u32>) -> &'static str {
    segment.map_or(NOISE_COLOUR, |s| PALETTE[s as usize % PALETTE.len()])
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

fn open(title: &str, width: f64, height: f64) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<rect width="{width}" height="{height}" fill="white"/><text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    s
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

/// Axes with 5 ticks each, and their titles.
fn axes(s: &mut String, x: (f64, f64), y: (f64, f64), x_title: &str, y_title: &str) {
    let (x0, x1, y0, y1) = (L, W - R, H - B, T);
    let _ = write!(
        s,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        x1 - x0,
        y0 - y1
    );
    let sx = scale(x.0, x.1, x0, x1);
    let sy = scale(y.0, y.1, y0, y1);
    for i in 0..=4 {
        let vx = x.0 + (x.1 - x.0) * i as f64 / 4.0;
        let vy = y.0 + (y.1 - y.0) * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{px}" y1="{y0}" x2="{px}" y2="{}" stroke="#444"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + 5.0,
            y0 + 18.0,
            tick(vx),
            px = sx(vx)
        );
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{py}" x2="{x0}" y2="{py}" stroke="#444"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            x0 - 5.0,
            x0 - 8.0,
            sy(vy) + 4.0,
            tick(vy),
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

fn tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-2 {
        format!("{v:.1e}")
    } else {
        format!("{:.2}", v)
    }
}

/// Legend entries (colour, text) at the right of the plot area, `x` pixels from the left.
fn legend(s: &mut String, entries: &[(&str, String)], x: f64) {
    for (i, (c, text)) in entries.iter().enumerate() {
        let y = T + 10.0 + i as f64 * 20.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{c}"/><text x="{}" y="{}">{}</text>"#,
            y - 10.0,
            x + 18.0,
            y,
            escape(&shorten(text, 22))
        );
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
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

/// Rows (scaled, row-major, d columns) with their segments (None: noise) projected on their
/// first two principal components, coloured by segment, with a legend of `labels`.
pub fn scatter(
    title: &str,
    rows: &[f64],
    d: usize,
    segments: &[Option<u32>],
    labels: &[String],
) -> String {
    let ([pc1, pc2], explained) = principal_components(rows, d);
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
    let mut s = open(title, W, H);
    axes(
        &mut s,
        xr,
        yr,
        &format!(
            "first principal component ({:.0}% of the variance)",
            explained[0] * 100.0
        ),
        &format!("second principal component ({:.0}%)", explained[1] * 100.0),
    );
    let sx = scale(xr.0, xr.1, L, W - R);
    let sy = scale(yr.0, yr.1, H - B, T);
    for ((x, y), seg) in points.iter().zip(segments) {
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}" fill-opacity="0.7"/>"#,
            sx(*x),
            sy(*y),
            colour(*seg)
        );
    }
    let mut entries: Vec<(&str, String)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (colour(Some(i as u32)), format!("{i}: {l}")))
        .collect();
    if segments.iter().any(Option::is_none) {
        entries.push((NOISE_COLOUR, "noise".into()));
    }
    legend(&mut s, &entries, W - R + 15.0);
    s.push_str("</svg>");
    s
}

/// Inertia (left axis) and silhouette (right axis) per k; the chosen k is marked.
pub fn elbow(title: &str, scores: &[(usize, f64, Option<f64>)], chosen: Option<usize>) -> String {
    let xr = range(scores.iter().map(|s| s.0 as f64));
    let ir = range(scores.iter().map(|s| s.1));
    let mut s = open(title, W, H);
    axes(
        &mut s,
        xr,
        (0.0_f64.min(ir.0), ir.1),
        "k (segments)",
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
        let ss = scale(sr.0.min(0.0), sr.1.max(0.0), H - B, T);
        let pts: Vec<(f64, f64)> = sil.iter().map(|p| (sx(p.0 as f64), ss(p.1))).collect();
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="6 3"/>"#,
            path(pts.clone()),
            PALETTE[1]
        );
        for (x, y) in &pts {
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{}"/>"#,
                x - 3.5,
                y - 3.5,
                PALETTE[1]
            );
        }
        for i in 0..=4 {
            let v = sr.0.min(0.0) + (sr.1.max(0.0) - sr.0.min(0.0)) * i as f64 / 4.0;
            let _ = write!(
                s,
                r#"<text x="{}" y="{:.1}">{}</text>"#,
                W - R + 4.0,
                ss(v) + 4.0,
                tick(v)
            );
        }
    }
    if let Some(k) = chosen {
        let x = sx(k as f64);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{T}" x2="{x:.1}" y2="{}" stroke="#444" stroke-dasharray="2 3"/>"##,
            H - B
        );
    }
    let mut entries = vec![(PALETTE[0], "inertia (left)".to_string())];
    if !sil.is_empty() {
        entries.push((PALETTE[1], "silhouette (right)".to_string()));
    }
    if let Some(k) = chosen {
        entries.push(("#444444", format!("chosen: k = {k}")));
    }
    // Right of the silhouette's tick labels.
    legend(&mut s, &entries, W - R + 45.0);
    s.push_str("</svg>");
    s
}

/// Per segment, each feature's mean minus the overall mean in overall standard deviations
/// (`Profile::differences_sd`: None for a constant feature, drawn as "constant" with no bar), as
/// horizontal bars grouped by segment. `features` are the names as compared (`log(1 + x)` for a
/// feature in log units, `Profile::compared_on`).
pub fn profile(
    title: &str,
    features: &[String],
    labels: &[String],
    deviations: &[Vec<Option<f64>>],
) -> String {
    let (k, d) = (labels.len(), features.len());
    let row_h = 16.0;
    let group_h = row_h * d as f64 + 24.0;
    let height = T + 20.0 + group_h * k as f64 + 40.0;
    let mut s = open(title, W, height);
    let max = deviations
        .iter()
        .flatten()
        .flatten()
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .max(0.5);
    let (x0, x1) = (L + 110.0, W - 60.0);
    let zero = (x0 + x1) / 2.0;
    let unit = (x1 - x0) / 2.0 / max;
    let _ = write!(
        s,
        r##"<line x1="{zero}" y1="{}" x2="{zero}" y2="{}" stroke="#444"/><text x="{zero}" y="{}" text-anchor="middle">segment mean − overall mean, in standard deviations (bar ends at ±{:.1})</text>"##,
        T + 10.0,
        height - 30.0,
        height - 12.0,
        max
    );
    for (si, label) in labels.iter().enumerate() {
        let top = T + 20.0 + group_h * si as f64;
        let _ = write!(
            s,
            r#"<text x="10" y="{}" font-weight="bold" fill="{}">{}</text>"#,
            top + 12.0,
            colour(Some(si as u32)),
            escape(&format!("segment {si}: {}", shorten(label, 60)))
        );
        for (j, f) in features.iter().enumerate() {
            let y = top + 20.0 + row_h * j as f64;
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                y + 11.0,
                escape(&shorten(f, 24)),
            );
            let Some(v) = deviations[si][j] else {
                let _ = write!(
                    s,
                    r##"<text x="{}" y="{}" font-size="10" fill="#666">constant</text>"##,
                    zero + 4.0,
                    y + 11.0
                );
                continue;
            };
            let (x, w) = if v >= 0.0 {
                (zero, v * unit)
            } else {
                (zero + v * unit, -v * unit)
            };
            // The value sits just across the zero line from its bar, clear of the feature names.
            let (value_x, anchor) = if v >= 0.0 {
                (zero - 4.0, "end")
            } else {
                (zero + 4.0, "start")
            };
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{}" width="{w:.1}" height="{}" fill="{}"/><text x="{value_x}" y="{}" font-size="10" text-anchor="{anchor}">{:+.2}</text>"#,
                y + 2.0,
                row_h - 4.0,
                colour(Some(si as u32)),
                y + 11.0,
                v
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A churn tree: split nodes with their condition, leaves with their segment, rows and churn rate.
pub fn tree(title: &str, t: &Tree, columns: &[String]) -> String {
    // Leaves spread evenly left to right in tree order; a split sits above the middle of its
    // leaves; depth sets the row.
    let n = t.nodes.len();
    let mut x = vec![0.0; n];
    let mut depth = vec![0usize; n];
    let mut next_leaf = 0.0;
    fn place(t: &Tree, at: usize, d: usize, x: &mut [f64], depth: &mut [usize], next: &mut f64) {
        depth[at] = d;
        let node = &t.nodes[at];
        if node.feature.is_some() {
            place(t, node.left, d + 1, x, depth, next);
            place(t, node.right, d + 1, x, depth, next);
            x[at] = (x[node.left] + x[node.right]) / 2.0;
        } else {
            x[at] = *next;
            *next += 1.0;
        }
    }
    place(t, 0, 0, &mut x, &mut depth, &mut next_leaf);
    let leaves = next_leaf.max(1.0);
    let max_depth = depth.iter().copied().max().unwrap_or(0) as f64;
    let box_w = 150.0;
    let width = (leaves * (box_w + 12.0) + 40.0).max(W);
    let height = T + 40.0 + (max_depth + 1.0) * 90.0;
    let px = |v: f64| 20.0 + box_w / 2.0 + v * (width - 40.0 - box_w) / (leaves - 1.0).max(1.0);
    let py = |d: usize| T + 30.0 + d as f64 * 90.0;
    let mut s = open(title, width, height);
    for (i, node) in t.nodes.iter().enumerate() {
        if node.feature.is_some() && depth[node.left] > 0 {
            for (child, text) in [(node.left, "yes"), (node.right, "no")] {
                let _ = write!(
                    s,
                    r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#666"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#666">{text}</text>"##,
                    px(x[i]),
                    py(depth[i]) + 40.0,
                    px(x[child]),
                    py(depth[child]),
                    (px(x[i]) + px(x[child])) / 2.0 + 4.0,
                    (py(depth[i]) + 40.0 + py(depth[child])) / 2.0
                );
            }
        }
    }
    for (i, node) in t.nodes.iter().enumerate() {
        if i > 0 && depth[i] == 0 {
            continue; // not reachable from the root
        }
        let rate = node.churn_rate();
        let (line1, fill) = match (node.feature, node.leaf) {
            (Some(f), _) => (
                format!("{} ≤ {}", shorten(&columns[f], 16), tick(node.threshold)),
                "#f4f4f4".to_string(),
            ),
            (None, Some(l)) => (format!("segment {l}"), colour(Some(l)).to_string()),
            _ => (String::new(), "#f4f4f4".into()),
        };
        let text_fill = if node.leaf.is_some() {
            "white"
        } else {
            "black"
        };
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{box_w}" height="40" rx="5" fill="{fill}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{text_fill}">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="{text_fill}">{} rows · churn {:.0}%</text>"##,
            px(x[i]) - box_w / 2.0,
            py(depth[i]),
            px(x[i]),
            py(depth[i]) + 16.0,
            escape(&line1),
            px(x[i]),
            py(depth[i]) + 32.0,
            node.rows,
            rate * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
            &[vec![Some(1.0)]],
        );
        assert!(!svg.contains("<t>") && svg.contains("&lt;t&gt;") && svg.contains("x&amp;y"));
    }

    /// The plot draws segment_profile's difference_sd: a constant feature has no bar (it was
    /// drawn as 0, where segment_profile says NULL), a log feature is named log(1 + x) and drawn
    /// in log units.
    #[test]
    fn profile_bars_are_the_profiles_differences() {
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
        let svg = profile("p", &names, &labels, &p.differences_sd());
        assert!(svg.contains(">log(1 + spend)<"), "{svg}");
        for value in [">-0.90<", ">-0.49<", ">+1.39<"] {
            assert!(svg.contains(value), "{value} in {svg}");
        }
        assert_eq!(svg.matches(">constant<").count(), 3);
        // One bar per segment (the other rect is the background).
        assert_eq!(svg.matches("<rect x=").count(), 3, "{svg}");
    }

    #[test]
    fn every_kind_makes_one_svg_element() {
        let svgs = [
            scatter(
                "s",
                &[0.0, 1.0, 1.0, 0.0, 2.0, 2.0],
                2,
                &[Some(0), Some(1), None],
                &["a".into(), "b".into()],
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
                &[vec![Some(1.0), Some(-2.0), None]],
            ),
        ];
        for s in svgs {
            assert!(s.starts_with("<svg ") && s.ends_with("</svg>"));
            assert_eq!(s.matches("<svg").count(), 1);
            assert!(!s.contains("NaN") && !s.contains("inf"));
        }
    }
}
