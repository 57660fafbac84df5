//! Scoring a stored model on rows it may not have seen (`segment_evaluate`) and comparing the
//! segments of two versions on the same rows (`segment_compare`).

use crate::analysis::metrics;
use crate::cluster::dbscan::NOISE;
use crate::error::{CoreError, CoreResult};
use crate::model::assigner::Assigner;
use crate::model::labelled_rows::LabelledRows;
use crate::model::limits::Limits;
use crate::prep::matrix::fill_nan;

/// The rows `segment_evaluate` scores (`LabelledRows`): held for the quadratic metrics.
pub struct Evaluation {
    rows: LabelledRows,
}

/// What `segment_evaluate` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub rows_used: u64,
    pub rows_skipped: u64,
    /// Rows the model put in no segment (DBSCAN noise); left out of every score below.
    pub rows_noise: u64,
    /// Sum of squared distances (scaled units) from each row to its segment's centre.
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub silhouette_rows: u64,
    pub calinski_harabasz: Option<f64>,
    pub davies_bouldin: Option<f64>,
}

impl Evaluation {
    pub fn new(assigner: Assigner, max_bytes: usize) -> Evaluation {
        Evaluation {
            rows: LabelledRows::new(
                assigner,
                max_bytes,
                "the rows to evaluate",
                "Raise customer_segment.max_memory_mb, or evaluate on a sample view.",
            ),
        }
    }

    /// One source row, NULLs as None. A row whose NULL the model skips is counted, not kept.
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        self.rows.push(values)
    }

    /// The scores; `check` runs every few milliseconds of the silhouette's work.
    pub fn finish(self, seed: u64, limits: Limits, check: &mut dyn FnMut()) -> Scores {
        let rows_skipped = self.rows.rows_skipped();
        let (all, all_labels, assigner) = self.rows.into_parts();
        let d = all.n_cols();
        let k = assigner.k();
        let rows_used = all_labels.len() as u64;
        // Noise rows leave the matrix: the scores are about the segments.
        let (mut x, labels) = if all_labels.contains(&NOISE) {
            let kept: Vec<usize> = (0..all_labels.len())
                .filter(|&i| all_labels[i] != NOISE)
                .collect();
            let labels = kept.iter().map(|&i| all_labels[i]).collect();
            (all.select_rows(&kept), labels)
        } else {
            (all, all_labels)
        };
        let centres = assigner.centres();
        let mut centre_rows: Vec<Vec<f64>> = (0..k).map(|c| centres.row(c).to_vec()).collect();
        // k-prototypes: distances in the space where they are its dissimilarity.
        if let Some(w) = assigner.distance_weights() {
            for row in x
                .as_mut_slice()
                .chunks_exact_mut(d)
                .chain(centre_rows.iter_mut().map(|c| c.as_mut_slice()))
            {
                row.iter_mut().zip(&w).for_each(|(v, f)| *v *= f);
            }
        }
        let inertia = x
            .rows()
            .zip(&labels)
            .map(|(row, &l)| {
                row.iter()
                    .zip(&centre_rows[l as usize])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            })
            .sum();
        let sil = metrics::silhouette(
            &x,
            &labels,
            k,
            limits.silhouette_rows,
            seed,
            limits.threads,
            check,
        );
        Scores {
            rows_used,
            rows_skipped,
            rows_noise: rows_used - labels.len() as u64,
            inertia,
            silhouette: sil.map(|(s, _)| s),
            silhouette_rows: sil.map_or(0, |(_, m)| m as u64),
            calinski_harabasz: metrics::calinski_harabasz(&x, &labels, k),
            davies_bouldin: metrics::davies_bouldin(&x, &labels, k),
        }
    }
}

/// The segments two model versions give the same rows: a movement table and their agreement.
/// Streams: memory is the table plus two labels a row.
pub struct Comparison {
    a: Assigner,
    b: Assigner,
    /// labels of rows both versions assigned, noise as k (the last row/column of the table)
    labels_a: Vec<u32>,
    labels_b: Vec<u32>,
    rows_skipped: u64,
    row: Vec<f64>,
    scratch: Vec<f64>,
}

/// One cell of the movement table.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    /// Segment in version a and in version b; -1 is noise.
    pub segment_a: i32,
    pub segment_b: i32,
    pub rows: u64,
    /// rows / rows of segment_a
    pub share_of_a: f64,
}

impl Comparison {
    /// Both versions must read the same feature columns (and one-hot values).
    pub fn new(a: Assigner, b: Assigner) -> CoreResult<Comparison> {
        if a.columns() != b.columns() {
            return Err(CoreError::invalid_parameter(format!(
                "the versions have different feature columns ({} and {}); they cannot be compared row by row",
                a.columns().join(", "),
                b.columns().join(", ")
            )));
        }
        let d = a.n_columns();
        let k = a.k().max(b.k());
        Ok(Comparison {
            a,
            b,
            labels_a: Vec::new(),
            labels_b: Vec::new(),
            rows_skipped: 0,
            row: vec![0.0; d],
            scratch: vec![0.0; k],
        })
    }

    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        // Each assigner scales the row in place: refill it for the second.
        fill_nan(&mut self.row, values, self.a.columns())?;
        let la = self.a.label_raw(&mut self.row, &mut self.scratch)?;
        fill_nan(&mut self.row, values, self.b.columns())?;
        let lb = self.b.label_raw(&mut self.row, &mut self.scratch)?;
        match (la, lb) {
            (Some(la), Some(lb)) => {
                let noise_as = |l: u32, k: usize| if l == NOISE { k as u32 } else { l };
                self.labels_a.push(noise_as(la, self.a.k()));
                self.labels_b.push(noise_as(lb, self.b.k()));
            }
            _ => self.rows_skipped += 1,
        }
        Ok(())
    }

    /// The non-empty cells of the movement table (by segment a, then b), the adjusted Rand
    /// index, and the rows skipped (a NULL one of the versions skips).
    pub fn finish(self) -> (Vec<Movement>, f64, u64) {
        let (ka, kb) = (self.a.k() + 1, self.b.k() + 1);
        let mut table = vec![0u64; ka * kb];
        for (&i, &j) in self.labels_a.iter().zip(&self.labels_b) {
            table[i as usize * kb + j as usize] += 1;
        }
        let id = |l: usize, k: usize| if l == k - 1 { -1 } else { l as i32 };
        let mut cells = Vec::new();
        for i in 0..ka {
            let row_total: u64 = table[i * kb..(i + 1) * kb].iter().sum();
            for j in 0..kb {
                let rows = table[i * kb + j];
                if rows > 0 {
                    cells.push(Movement {
                        segment_a: id(i, ka),
                        segment_b: id(j, kb),
                        rows,
                        share_of_a: rows as f64 / row_total as f64,
                    });
                }
            }
        }
        let ari = metrics::adjusted_rand_index(&self.labels_a, &self.labels_b);
        (cells, ari, self.rows_skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    const LIMITS: Limits = Limits {
        threads: 1,
        silhouette_rows: 10_000,
    };

    #[test]
    fn evaluate_by_hand() {
        // tiny_model: a scaled by (a - 5) / 5, centres at a = 0 and a = 10 (scaled -1 and 1).
        let mut e = Evaluation::new(tiny_model().assigner(), usize::MAX);
        for a in [0.0, 2.0, 8.0, 10.0] {
            e.push(&[Some(a), Some(0.0)]).unwrap();
        }
        let s = e.finish(0, LIMITS, &mut || {});
        // scaled rows -1, -0.6, 0.6, 1: distances to centres 0, 0.4, 0.4, 0
        assert_eq!((s.rows_used, s.rows_skipped, s.rows_noise), (4, 0, 0));
        assert!((s.inertia - 0.32).abs() < 1e-12, "{}", s.inertia);
        // silhouette: row -1: a = 0.4, b = (1.6 + 2) / 2 = 1.8 -> 1 - 0.4/1.8
        let s0 = 1.0 - 0.4 / 1.8;
        let s1 = 1.0 - 0.4 / ((1.2 + 1.6) / 2.0);
        assert!((s.silhouette.unwrap() - (s0 + s1) / 2.0).abs() < 1e-12);
        assert_eq!(s.silhouette_rows, 4);
    }

    /// Scoring checks as its silhouette goes (quadratic in the rows), and stops on a check that
    /// unwinds.
    #[test]
    fn evaluate_checks_and_stops() {
        let rows = |n: usize| {
            let mut e = Evaluation::new(tiny_model().assigner(), usize::MAX);
            for i in 0..n {
                e.push(&[Some((i % 100) as f64 / 10.0), Some(0.0)]).unwrap();
            }
            e
        };
        let calls = |n: usize| {
            let e = rows(n);
            crate::parallel::testing::checks(|check| {
                e.finish(0, LIMITS, check);
            })
        };
        let (small, large) = (calls(1000), calls(4000));
        assert!(large >= 10 && large > 8 * small, "{small} {large}");
        let e = rows(4000);
        crate::parallel::testing::stops_at(2, |check| {
            e.finish(0, LIMITS, check);
        });
    }

    #[test]
    fn compare_counts_moves_and_agreement() {
        let a = tiny_model();
        let mut b = tiny_model();
        // Version b moves the boundary from a = 5 to a = 7.5: centre 0 at scaled 0 (a = 5).
        b.centres[0] = vec![0.0, 0.0];
        let mut c = Comparison::new(a.assigner(), b.assigner()).unwrap();
        for x in [0.0, 1.0, 6.0, 7.0, 9.0, 10.0] {
            c.push(&[Some(x), Some(0.0)]).unwrap();
        }
        let (cells, ari, skipped) = c.finish();
        assert_eq!(skipped, 0);
        let got: Vec<(i32, i32, u64)> = cells
            .iter()
            .map(|m| (m.segment_a, m.segment_b, m.rows))
            .collect();
        // a: 0,1 -> 0; 6,7,9,10 -> 1.  b: 0,1,6,7 -> 0; 9,10 -> 1.
        assert_eq!(got, vec![(0, 0, 2), (1, 0, 2), (1, 1, 2)]);
        assert!((cells[1].share_of_a - 0.5).abs() < 1e-12);
        assert!(ari < 1.0 && ari > -1.0);
        let mut same = Comparison::new(a.assigner(), a.assigner()).unwrap();
        for x in [0.0, 1.0, 9.0] {
            same.push(&[Some(x), Some(0.0)]).unwrap();
        }
        assert_eq!(same.finish().1, 1.0);
    }
}
