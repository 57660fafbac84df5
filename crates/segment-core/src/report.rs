//! One report page per model (`segment_report`): a self-contained HTML document — inline CSS and
//! SVG, no script, nothing fetched — that a marketer reads: a card per segment (its name, size
//! and share, what it is worth, what sets it apart in plain words, its churn rate or class
//! shares), the sizes, the pictures, how the model was made and, given a source, the drift
//! since the fit. The shell gathers the pieces (catalog, summary query, drift, plots); this
//! module only writes them out.

use crate::analysis::profile::{distinguishing, feature_columns, Column, Profile};
use crate::plot::{count as thousands, escape, percent};
use std::fmt::Write;

/// A segment's card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The segment's id (-1: dbscan's noise).
    pub segment: i32,
    pub name: String,
    /// Its colour in the pictures (a CSS colour).
    pub colour: String,
    pub rows: u64,
    /// Its rows over all rows.
    pub share: f64,
    /// What it is worth, one line a measure ("41% of revenue · mean 12,300").
    pub worth: Vec<String>,
    /// What sets it apart, one sentence a feature (`traits`).
    pub traits: Vec<String>,
    /// The churn rate or the class shares, when the model has them.
    pub outcome: Option<String>,
}

/// One segment's drift since the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRow {
    pub name: String,
    pub share_fit: f64,
    pub share_now: f64,
    pub psi: f64,
}

/// The drift of a source against the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// The relation's name as shown.
    pub source: String,
    pub rows: Vec<DriftRow>,
    pub psi_total: f64,
    pub advice: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub model: String,
    pub version: i32,
    /// One line under the title: what kind of model, on what.
    pub subtitle: String,
    /// How the model was made: (what, value) pairs, in order.
    pub made: Vec<(String, String)>,
    pub cards: Vec<Card>,
    /// (heading, SVG document) pairs, drawn in order.
    pub pictures: Vec<(String, String)>,
    pub drift: Option<Drift>,
    /// Anything the reader should know (a sample, rows without a segment).
    pub notes: Vec<String>,
}

/// The page as one HTML document.
pub fn html(r: &Report) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let title = format!("{} (version {})", r.model, r.version);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Segments of {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <header><h1>Segments of {}</h1><p class=\"subtitle\">{}</p></header>\n",
        escape(&title),
        escape(&title),
        escape(&r.subtitle)
    );
    for note in &r.notes {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", escape(note));
    }

    s.push_str("<section aria-labelledby=\"segments\">\n<h2 id=\"segments\">The segments</h2>\n<div class=\"cards\">\n");
    for c in &r.cards {
        let _ = write!(
            s,
            "<article class=\"card\" style=\"border-top-color: {colour}\">\n\
             <h3><span class=\"swatch\" style=\"background: {colour}\" aria-hidden=\"true\"></span>{name}</h3>\n\
             <p class=\"size\"><strong>{share}</strong> of customers · {rows} · segment {id}</p>\n",
            colour = escape(&c.colour),
            name = escape(&c.name),
            share = percent(c.share),
            rows = thousands(c.rows),
            id = c.segment,
        );
        if let Some(outcome) = &c.outcome {
            let _ = writeln!(s, "<p class=\"outcome\">{}</p>", escape(outcome));
        }
        if !c.worth.is_empty() {
            s.push_str("<ul class=\"worth\">\n");
            for w in &c.worth {
                let _ = writeln!(s, "<li>{}</li>", escape(w));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("<ul class=\"traits\">\n");
        for t in &c.traits {
            let _ = writeln!(s, "<li>{}</li>", escape(t));
        }
        s.push_str("</ul>\n</article>\n");
    }
    s.push_str("</div>\n</section>\n");

    // Sizes as bars: plain HTML, which prints and reads without a picture.
    s.push_str("<section aria-labelledby=\"sizes\">\n<h2 id=\"sizes\">Sizes</h2>\n<table class=\"bars\">\n<thead><tr><th scope=\"col\">segment</th><th scope=\"col\">customers</th><th scope=\"col\">share</th></tr></thead>\n<tbody>\n");
    let largest = r.cards.iter().map(|c| c.share).fold(0.0, f64::max);
    for c in &r.cards {
        let width = if largest > 0.0 {
            80.0 * c.share / largest
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"share\"><span class=\"bar\" style=\"width: {width:.1}%; background: {}\"></span> {}</td></tr>",
            escape(&c.name),
            thousands(c.rows),
            escape(&c.colour),
            percent(c.share)
        );
    }
    s.push_str("</tbody>\n</table>\n</section>\n");

    for (i, (heading, svg)) in r.pictures.iter().enumerate() {
        let _ = write!(
            s,
            "<section aria-labelledby=\"picture{i}\" class=\"picture\">\n<h2 id=\"picture{i}\">{}</h2>\n<figure>{}</figure>\n</section>\n",
            escape(heading),
            inline_svg(svg)
        );
    }

    if let Some(d) = &r.drift {
        let _ = write!(
            s,
            "<section aria-labelledby=\"drift\">\n<h2 id=\"drift\">Since the fit: {}</h2>\n\
             <p>Population stability index {:.3}: {}</p>\n<table>\n<thead><tr><th scope=\"col\">segment</th>\
             <th scope=\"col\">share at the fit</th><th scope=\"col\">share now</th><th scope=\"col\">PSI</th></tr></thead>\n<tbody>\n",
            escape(&d.source),
            d.psi_total,
            escape(&d.advice)
        );
        for row in &d.rows {
            let _ = writeln!(
                s,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}</td></tr>",
                escape(&row.name),
                percent(row.share_fit),
                percent(row.share_now),
                row.psi
            );
        }
        s.push_str("</tbody>\n</table>\n</section>\n");
    }

    s.push_str("<section aria-labelledby=\"made\">\n<h2 id=\"made\">How the model was made</h2>\n<dl class=\"made\">\n");
    for (what, value) in &r.made {
        let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(what), escape(value));
    }
    s.push_str("</dl>\n</section>\n</main>\n</body>\n</html>\n");
    s
}

/// An SVG document as an element of the page: without its XML declaration.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}

/// Print-friendly, system fonts only, nothing fetched.
const STYLE: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; color: #1f2328; background: #fff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 0 0 6px; display: flex; align-items: center; gap: 8px; }
.subtitle { color: #57606a; margin: 0; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 14px; }
.card { border: 1px solid #d0d7de; border-top: 6px solid #888; border-radius: 8px; padding: 12px 14px; break-inside: avoid; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; flex: none; }
.size { margin: 0 0 6px; }
.outcome { margin: 0 0 6px; font-weight: 600; }
.card ul { margin: 6px 0 0; padding-left: 18px; }
.worth li { color: #0a3069; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: middle; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.share { white-space: nowrap; width: 45%; }
.bars .bar { display: inline-block; height: 12px; border-radius: 2px; vertical-align: middle; min-width: 1px; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
dl.made { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.made dt { color: #57606a; }
dl.made dd { margin: 0; }
@media print {
  main { max-width: none; padding: 0; }
  .card, figure, table { break-inside: avoid; }
  .picture { break-before: page; }
}
";

/// At most `max` sentences on what sets segment `s` apart: its features furthest from the
/// overall mean (in standard deviations, on the scale the model compares on, at least half of
/// one; a one-hot value only when it is common in the segment, as the labels), each in the
/// analyst's units: "grocery 2.3× the average (12,100 against 5,300)" (a ratio of at least 1.5 or
/// at most 0.67 of a non-negative average; otherwise "milk 0.99 standard deviations below the
/// average (7.06 against 8.12)"), "contract Month-to-month:
/// 88% (42% overall)", "senior citizen: 62% (16% overall)". "Close to the average on every
/// feature" when nothing stands out.
pub fn traits(
    profile: &Profile,
    features: &[String],
    categories: &[Option<Vec<String>>],
    s: usize,
    max: usize,
) -> Vec<String> {
    let columns = feature_columns(profile, features, categories);
    let sentences: Vec<String> = distinguishing(profile, &columns, s)
        .iter()
        .take(max)
        .map(|&(j, z)| {
            let (mean, overall) = (profile.means[s][j], profile.overall_mean[j]);
            match columns[j] {
                Column::Number {
                    feature,
                    flag: true,
                } => format!(
                    "{}: {} ({} overall)",
                    plain(feature),
                    percent(mean),
                    percent(overall)
                ),
                Column::Number { feature, .. } => {
                    // A ratio reads well for amounts ("spends 2.3× the average") when it is
                    // large; for small ones, and for values that are not amounts (a logged or
                    // centred column, whose ratio means nothing), standard deviations say it.
                    let ratio = mean / overall;
                    if overall > 0.0 && mean >= 0.0 && !(RATIO_BELOW..=RATIO_ABOVE).contains(&ratio)
                    {
                        format!(
                            "{} {}× the average ({} against {})",
                            plain(feature),
                            significant(ratio, 2),
                            readable(mean),
                            readable(overall)
                        )
                    } else {
                        format!(
                            "{} {} standard deviations {} the average ({} against {})",
                            plain(feature),
                            significant(z.abs(), 2),
                            if z > 0.0 { "above" } else { "below" },
                            readable(mean),
                            readable(overall)
                        )
                    }
                }
                Column::Value { feature, value, .. } => format!(
                    "{} {}: {} ({} overall)",
                    plain(feature),
                    value,
                    percent(mean),
                    percent(overall)
                ),
            }
        })
        .collect();
    if sentences.is_empty() {
        vec!["close to the average on every feature".to_string()]
    } else {
        sentences
    }
}

/// Each count's share of their sum (0 for all when the sum is 0): a card's share of the
/// customers when the page shows the training rows' sizes.
pub fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&n| {
            if total > 0 {
                n as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect()
}

/// Ratios to the average between these are said in standard deviations instead (see `traits`).
const RATIO_BELOW: f64 = 0.67;
const RATIO_ABOVE: f64 = 1.5;

fn plain(feature: &str) -> String {
    feature.replace('_', " ")
}

/// A number to `digits` significant digits, without a trailing ".0".
fn significant(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if magnitude >= digits {
        // 12,134.7 to three digits is 12,100: round away the digits past the significant ones.
        let unit = 10f64.powi(magnitude + 1 - digits);
        return format!("{}", (v / unit).round() * unit);
    }
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A measured value for a reader: three significant digits, thousands separated: 12,100; 5.32;
/// 0.0421; -3,400.
pub fn readable(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let rounded = significant(v, 3);
    if v.abs() >= 1000.0 {
        let whole = rounded.parse::<f64>().unwrap_or(v).round();
        let sign = if whole < 0.0 { "-" } else { "" };
        format!("{sign}{}", thousands(whole.abs() as u64))
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_reader_expects() {
        assert_eq!(readable(12_134.7), "12,100");
        assert_eq!(readable(5.3171), "5.32");
        assert_eq!(readable(0.042_13), "0.0421");
        assert_eq!(readable(-3_412.0), "-3,410");
        assert_eq!(readable(999.4), "999");
        assert_eq!(significant(2.345, 2), "2.3");
        assert_eq!(significant(0.41, 2), "0.41");
    }

    fn profile() -> Profile {
        // Two segments of one number (spend) and one flag (senior), then a one-hot feature
        // (plan: monthly / yearly).
        let mut p = Profile::empty();
        p.sizes = vec![20, 80];
        p.means = vec![vec![120.0, 0.9, 0.95, 0.05], vec![10.0, 0.1, 0.25, 0.75]];
        p.medians = p.means.clone();
        p.overall_mean = vec![40.0, 0.26, 0.39, 0.61];
        // Flags: sd^2 = p (1 - p).
        p.overall_sd = vec![
            40.0,
            (0.26f64 * 0.74).sqrt(),
            (0.39f64 * 0.61).sqrt(),
            (0.39f64 * 0.61).sqrt(),
        ];
        p.anova_f = vec![None; 4];
        p
    }

    #[test]
    fn traits_say_what_sets_a_segment_apart_in_the_analysts_units() {
        let features = vec!["monthly_spend".to_string(), "senior".into(), "plan".into()];
        let categories = vec![
            None,
            None,
            Some(vec!["monthly".to_string(), "yearly".into()]),
        ];
        let t = traits(&profile(), &features, &categories, 0, 5);
        // spend is 2 sd above: first; then the senior flag (1.45 sd), then the monthly plan.
        assert_eq!(t[0], "monthly spend 3× the average (120 against 40)");
        assert_eq!(t[1], "senior: 90% (26% overall)");
        assert_eq!(t[2], "plan monthly: 95% (39% overall)");
        // "yearly" is rare in segment 0: not a trait (the monthly sentence says it).
        assert_eq!(t.len(), 3);
        // Segment 1 stands out by its spend alone (0.75 sd below; the rest within half a sd).
        let t = traits(&profile(), &features, &categories, 1, 2);
        assert_eq!(t, vec!["monthly spend 0.25× the average (10 against 40)"]);
        // A small ratio (here of log values, whose ratio means nothing) is said in sd.
        let mut p = profile();
        p.means[1][0] = 34.0;
        p.overall_sd[0] = 10.0;
        assert_eq!(
            traits(&p, &features, &categories, 1, 1),
            vec!["monthly spend 0.6 standard deviations below the average (34 against 40)"]
        );
    }

    #[test]
    fn shares_of_the_sizes() {
        assert_eq!(shares(&[1, 3]), vec![0.25, 0.75]);
        assert_eq!(shares(&[0, 0]), vec![0.0, 0.0]);
    }

    #[test]
    fn a_typical_segment_says_so() {
        let mut p = profile();
        p.means[1] = p.overall_mean.clone();
        let features = vec!["monthly_spend".to_string(), "senior".into(), "plan".into()];
        let categories = vec![
            None,
            None,
            Some(vec!["monthly".to_string(), "yearly".into()]),
        ];
        assert_eq!(
            traits(&p, &features, &categories, 1, 5),
            vec!["close to the average on every feature"]
        );
    }

    #[test]
    fn the_page_is_one_escaped_document_that_fetches_nothing() {
        let r = Report {
            model: "m<1>".into(),
            version: 2,
            subtitle: "k-means, 4 segments".into(),
            made: vec![("method".into(), "kmeans".into())],
            cards: vec![Card {
                segment: 0,
                name: "high grocery & milk".into(),
                colour: "#4e79a7".into(),
                rows: 1234,
                share: 0.28,
                worth: vec!["41% of revenue".into()],
                traits: vec!["grocery 2.3× the average".into()],
                outcome: Some("churn rate 12%".into()),
            }],
            pictures: vec![(
                "Profile".into(),
                "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><title>p</title></svg>".into(),
            )],
            drift: None,
            notes: vec![],
        };
        let page = html(&r);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Segments of m&lt;1&gt; (version 2)"));
        assert!(page.contains("high grocery &amp; milk"));
        assert!(page.contains("<strong>28%</strong> of customers · 1,234"));
        assert!(
            !page.contains("<?xml"),
            "inline SVG without its declaration"
        );
        // Nothing fetched: no script, stylesheet link, image or frame; the only URL is the SVG
        // namespace, which names and loads nothing.
        for tag in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            assert!(!page.contains(tag), "{tag}");
        }
        assert_eq!(page.matches("http").count(), 1);
    }
}
