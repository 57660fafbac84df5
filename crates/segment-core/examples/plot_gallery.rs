//! Every kind of `segment_plot` picture of every kind of model, fitted in memory on the bundled
//! data (tests/data), written as SVG files to look at without a database:
//! `cargo run -p segment-core --example plot_gallery -- OUT_DIR` (then e.g.
//! `rsvg-convert -o tree.png OUT_DIR/churn_tree.svg`). The pictures are the ones the SQL
//! function draws (`plot::model_*`); only reading the rows differs.

use segment_core::model::document::SegmentModel;
use segment_core::model::fit::fit_model;
use segment_core::model::limits::Limits;
use segment_core::model::options::FitOptions;
use segment_core::plot;
use segment_core::prep::builder::MatrixBuilder;
use segment_core::prep::matrix::FeatureMatrix;
use segment_core::prep::preprocessor::fit_matrix;
use segment_core::prep::scaling::{ImputeMethod, Imputer};
use segment_core::tree::churn::ChurnOptions;
use segment_core::tree::classify::{Classes, ClassifyOptions};
use std::path::{Path, PathBuf};

fn data(path: &str) -> Vec<Vec<String>> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|v| v.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// Numeric and one-hot columns of the named CSV columns, as the SQL fit lays them out.
fn one_hot(
    rows: &[Vec<String>],
    header: &[String],
    features: &[&str],
    categorical: &[&str],
) -> (FeatureMatrix, Vec<Option<Vec<String>>>) {
    let at = |f: &str| header.iter().position(|h| h == f).expect(f);
    let categories: Vec<Option<Vec<String>>> = features
        .iter()
        .map(|f| {
            categorical.contains(f).then(|| {
                let mut v: Vec<String> = rows.iter().map(|r| r[at(f)].clone()).collect();
                v.sort();
                v.dedup();
                v
            })
        })
        .collect();
    let mut data = Vec::new();
    for r in rows {
        for (f, c) in features.iter().zip(&categories) {
            match c {
                Some(values) => {
                    data.extend(values.iter().map(|v| f64::from(u8::from(*v == r[at(f)]))))
                }
                None => data.push(r[at(f)].parse::<f64>().expect("a number")),
            }
        }
    }
    let width = data.len() / rows.len();
    (FeatureMatrix::from_rows(data, width), categories)
}

/// The scatter of a model's own training rows, through its assigner as segment_plot does.
fn scatter(m: &SegmentModel, name: &str, labels: &[String], matrix: &FeatureMatrix) -> String {
    let assigner = m.assigner();
    let (mut rows, mut segments) = (Vec::new(), Vec::new());
    let mut scratch = vec![0.0; m.k()];
    for (i, r) in matrix.rows().enumerate() {
        if i % 3 != 0 && matrix.n_rows() > 2000 {
            continue;
        }
        let mut row = r.to_vec();
        if let Some(label) = assigner.label_raw(&mut row, &mut scratch).unwrap() {
            rows.extend_from_slice(&row);
            segments.push((label != u32::MAX).then_some(label));
        }
    }
    plot::model_scatter(&format!("{name}: scatter"), m, labels, &rows, &segments)
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: plot_gallery OUT_DIR"),
    );
    std::fs::create_dir_all(&out).unwrap();
    let write = |file: &str, svg: String| std::fs::write(out.join(file), svg).unwrap();

    // Bank marketing: a churn tree on "subscribed" and a classifier of education.
    let mut bank = data("bank_marketing/bank.csv");
    let header = bank.remove(0);
    let cats = [
        "job",
        "marital",
        "education",
        "default",
        "housing",
        "loan",
        "contact",
        "month",
        "poutcome",
    ];
    let numbers = ["age", "balance", "day", "campaign", "pdays", "previous"];
    let features: Vec<&str> = numbers.iter().chain(&cats).copied().collect();
    let (matrix, categories) = one_hot(&bank, &header, &features, &cats);
    let y_at = header.iter().position(|h| h == "y").unwrap();
    let y: Vec<bool> = bank.iter().map(|r| r[y_at] == "yes").collect();
    let (churn, _) = segment_core::model::churn_fit::fit(
        matrix.clone(),
        y,
        Imputer::Skip,
        0,
        features.iter().map(|f| f.to_string()).collect(),
        categories,
        "y".into(),
        "yes".into(),
        &ChurnOptions {
            max_depth: 5,
            min_samples_leaf: 20,
            ..ChurnOptions::default()
        },
        &mut || {},
    )
    .unwrap();
    let labels = churn.automatic_labels();
    write(
        "churn_tree.svg",
        plot::model_tree("subscribers: tree", &churn, &labels).unwrap(),
    );
    write(
        "churn_profile.svg",
        plot::model_profile("subscribers: profile", &churn, &labels),
    );
    write(
        "churn_scatter.svg",
        scatter(&churn, "subscribers", &labels, &matrix),
    );

    let features: Vec<&str> = features.into_iter().filter(|f| *f != "education").collect();
    let cats: Vec<&str> = cats.into_iter().filter(|f| *f != "education").collect();
    let (matrix, categories) = one_hot(&bank, &header, &features, &cats);
    let e_at = header.iter().position(|h| h == "education").unwrap();
    let mut values: Vec<String> = bank.iter().map(|r| r[e_at].clone()).collect();
    values.sort();
    values.dedup();
    let codes: Vec<u32> = bank
        .iter()
        .map(|r| values.iter().position(|v| *v == r[e_at]).unwrap() as u32)
        .collect();
    let (classes, codes) = Classes::ordered("education", &values, &codes);
    for (method, name) in [("tree", "persona"), ("forest", "persona_forest")] {
        let json = match method {
            "tree" => "{}",
            _ => r#"{"method": "forest", "n_trees": 10}"#,
        };
        let options = ClassifyOptions::from_json(json).unwrap();
        let (model, _) = segment_core::model::classify_fit::fit(
            matrix.clone(),
            codes.clone(),
            classes.clone(),
            Imputer::Skip,
            0,
            features.iter().map(|f| f.to_string()).collect(),
            categories.clone(),
            &options,
            1,
            &mut || {},
        )
        .unwrap();
        let labels = model.automatic_labels();
        match plot::model_tree(&format!("{name}: tree"), &model, &labels) {
            Ok(svg) => write(&format!("{name}_tree.svg"), svg),
            Err(e) => println!("{name}: no tree ({e:?})"),
        }
        write(
            &format!("{name}_profile.svg"),
            plot::model_profile(&format!("{name}: profile"), &model, &labels),
        );
        write(
            &format!("{name}_scatter.svg"),
            scatter(&model, name, &labels, &matrix),
        );
    }

    // Wholesale customers: a k-means scan (elbow) and k = 14 (more segments than colours).
    let mut shop = data("wholesale_customers/wholesale_customers.csv");
    shop.remove(0);
    let names: Vec<String> = [
        "fresh",
        "milk",
        "grocery",
        "frozen",
        "detergents_paper",
        "delicassen",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let build = || {
        let mut b = MatrixBuilder::new(names.clone(), ImputeMethod::Skip, usize::MAX)
            .with_log(vec![true; names.len()]);
        for r in &shop {
            let v: Vec<Option<f64>> = r[2..8].iter().map(|x| x.parse().ok()).collect();
            b.push(&v).unwrap();
        }
        b.finish().unwrap()
    };
    let limits = Limits {
        threads: 1,
        silhouette_rows: 1000,
    };
    for (k, json) in [
        (
            None,
            r#"{"k_min": 2, "k_max": 10, "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}"#,
        ),
        (
            Some(14),
            r#"{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}"#,
        ),
    ] {
        let options = FitOptions::for_fit(json, k).unwrap();
        let built = build();
        let (m, _, scores) = fit_model(
            fit_matrix(built, options.scale()),
            names.clone(),
            vec![],
            &options,
            limits,
            &mut || {},
        )
        .unwrap();
        let labels = m.automatic_labels();
        let name = format!("shop_k{}", m.k());
        if let Some(scores) = scores {
            let elbow: Vec<(usize, f64, Option<f64>)> = scores
                .iter()
                .map(|s| (s.k, s.inertia, s.silhouette))
                .collect();
            write(
                "shop_elbow.svg",
                plot::elbow("shop: elbow", &elbow, Some(m.k())),
            );
        }
        write(
            &format!("{name}_profile.svg"),
            plot::model_profile(&format!("{name}: profile"), &m, &labels),
        );
        // Raw values: the assigner logs and scales them.
        let mut raw_rows = Vec::new();
        for r in &shop {
            raw_rows.extend(r[2..8].iter().map(|x| x.parse::<f64>().unwrap()));
        }
        write(
            &format!("{name}_scatter.svg"),
            scatter(&m, &name, &labels, &FeatureMatrix::from_rows(raw_rows, 6)),
        );
    }
    println!("written to {}", out.display());
}
