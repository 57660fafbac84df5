//! Classification trees: CART (`cart`, ours, with rules as paths of conditions), random forests
//! of it (`forest`), what a churn model adds to a tree (`churn`) and what a classifier into
//! known segments stores and takes as options (`classify`). A tree grows on histograms of its
//! columns (`hist`) or, with the option `exact`, on their sorted rows (`cart`); `fit` picks.

pub mod cart;
pub mod churn;
pub mod classify;
pub mod forest;
pub mod hist;

use crate::prep::matrix::FeatureMatrix;
use cart::{Tree, TreeParams};

/// Fits a tree on `x` (rows) with class labels `y` (`0..classes`) and per-row weights `w`:
/// on histograms (`hist`), or with `p.exact` (or a value that is not finite) on sorted rows.
/// `check` is called between features of the binning or sort and of each node's split search.
pub fn fit(
    x: &FeatureMatrix,
    y: &[u32],
    classes: usize,
    w: &[f64],
    p: TreeParams,
    check: &mut dyn FnMut(),
) -> Tree {
    if !p.exact {
        if let Some(binned) = hist::bin(x, 1, check) {
            let go_on = &mut || {
                check();
                true
            };
            let rows = (0..x.n_rows() as u32).collect();
            return hist::grow(&binned, y, classes, w, rows, p, go_on)
                .expect("grows to the end: go_on is always true")
                .0;
        }
    }
    let sorted = cart::sort_rows(x, check);
    let go_on = &mut || {
        check();
        true
    };
    cart::grow(x, y, classes, w, sorted, p, go_on)
        .expect("grows to the end: go_on is always true")
        .0
}
