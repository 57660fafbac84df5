//! Keeping segment ids stable across refits: the new version's segments are matched to the
//! previous version's by centre (minimum total squared distance, Hungarian algorithm), so
//! segment 3 still names the same group of customers where it can.

use crate::model::document::SegmentModel;

/// Minimum-cost perfect assignment on a square cost matrix (`cost[i * n + j]`, finite): returns
/// `column[i]` for every row i. Kuhn-Munkres with potentials, O(n³); n is a segment count.
pub fn hungarian(cost: &[f64], n: usize) -> Vec<usize> {
    assert_eq!(cost.len(), n * n);
    // 1-based internally: index 0 is the virtual start column.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut row_of = vec![0usize; n + 1]; // row matched to column j
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        let mut min_to = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let reduced = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if reduced < min_to[j] {
                        min_to[j] = reduced;
                        way[j] = j0;
                    }
                    if min_to[j] < delta {
                        delta = min_to[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_to[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut column = vec![0usize; n];
    for j in 1..=n {
        column[row_of[j] - 1] = j - 1;
    }
    column
}

/// New ids for the segments of `new` (`new_id[segment]`) that keep the ids of `previous` where
/// centres match. Centres are compared in `new`'s scaled space (the previous centres are mapped
/// to original units and through `new`'s log and scaling). Ids stay `0..k`: with more segments
/// than before, the extra ones take the free ids in their current order (largest first); with
/// fewer, only ids below the new k can be kept. None when the matrix columns differ (other
/// features, or other one-hot values).
pub fn match_to_previous(new: &SegmentModel, previous: &SegmentModel) -> Option<Vec<u32>> {
    matching(new, previous).map(|m| m.new_id)
}

/// How the segments of a refit correspond to the previous version's.
#[derive(Debug, Clone, PartialEq)]
pub struct Matching {
    /// The new id of each new segment (`match_to_previous`).
    pub new_id: Vec<u32>,
    /// The previous ids whose segment has a counterpart in the new version: the new segment
    /// that took the id and the old segment are each other's nearest (centres compared as in
    /// the matching). An analyst's name carries over to such a segment only: an id kept by the
    /// assignment alone (the old segment split, merged or moved away) names something else now.
    pub counterparts: Vec<u32>,
}

/// `match_to_previous` with the segments that have a counterpart (see `Matching`).
pub fn matching(new: &SegmentModel, previous: &SegmentModel) -> Option<Matching> {
    if new.columns() != previous.columns() {
        return None;
    }
    let k = new.k();
    let log = new.log_mask();
    let old: Vec<Vec<f64>> = previous
        .centres_original()
        .into_iter()
        .map(|mut c| {
            for (x, &is_log) in c.iter_mut().zip(&log) {
                if is_log {
                    *x = x.ln_1p();
                }
            }
            new.scaler.transform_row(&mut c);
            c
        })
        .collect();
    // A centre that cannot be mapped (log of a negative) matches nothing in particular.
    const FAR: f64 = 1e300;
    // k-prototypes: a mismatched mode costs γ, as in the model's own dissimilarity.
    let weight: Vec<f64> = match new.distance_weights() {
        Some(w) => w.iter().map(|f| f * f).collect(),
        None => vec![1.0; new.columns().width()],
    };
    let mut cost = vec![0.0; k * k];
    for i in 0..k {
        for s in 0..k.min(old.len()) {
            let d2: f64 = new.centres[i]
                .iter()
                .zip(&old[s])
                .zip(&weight)
                .map(|((a, b), w)| w * (a - b) * (a - b))
                .sum();
            cost[i * k + s] = if d2.is_finite() { d2.min(FAR) } else { FAR };
        }
        // Slots >= previous k cost nothing for every segment (left at 0): which segments get
        // them is decided by the rest, their order is fixed below.
    }
    let mut new_id = hungarian(&cost, k);
    let mut extra: Vec<usize> = (0..k).filter(|&i| new_id[i] >= old.len()).collect();
    let mut free: Vec<usize> = extra.iter().map(|&i| new_id[i]).collect();
    free.sort_unstable();
    extra.sort_unstable();
    for (i, s) in extra.into_iter().zip(free) {
        new_id[i] = s;
    }
    // Mutual nearest: new segment i's nearest old centre is its id's, and that old centre's
    // nearest new centre is i (first on ties, as the scan goes).
    let old_k = k.min(old.len());
    let nearest_old =
        |i: usize| (0..old_k).min_by(|&a, &b| cost[i * k + a].total_cmp(&cost[i * k + b]));
    let nearest_new =
        |s: usize| (0..k).min_by(|&a, &b| cost[a * k + s].total_cmp(&cost[b * k + s]));
    let mut counterparts: Vec<u32> = (0..k)
        .filter(|&i| {
            let s = new_id[i];
            s < old_k
                && cost[i * k + s] < FAR
                && nearest_old(i) == Some(s)
                && nearest_new(s) == Some(i)
        })
        .map(|i| new_id[i] as u32)
        .collect();
    counterparts.sort_unstable();
    Some(Matching {
        new_id: new_id.into_iter().map(|s| s as u32).collect(),
        counterparts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    fn brute_force(cost: &[f64], n: usize) -> f64 {
        fn go(cost: &[f64], n: usize, i: usize, used: &mut Vec<bool>) -> f64 {
            if i == n {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..n {
                if !used[j] {
                    used[j] = true;
                    best = best.min(cost[i * n + j] + go(cost, n, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        go(cost, n, 0, &mut vec![false; n])
    }

    #[test]
    fn hungarian_matches_brute_force() {
        // A small deterministic generator: several matrices up to 6 x 6.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        for n in 1..=6 {
            for _ in 0..20 {
                let cost: Vec<f64> = (0..n * n).map(|_| (next() * 100.0).floor()).collect();
                let col = hungarian(&cost, n);
                let mut seen = col.clone();
                seen.sort();
                assert_eq!(seen, (0..n).collect::<Vec<_>>());
                let total: f64 = (0..n).map(|i| cost[i * n + col[i]]).sum();
                assert_eq!(total, brute_force(&cost, n), "{cost:?}");
            }
        }
    }

    #[test]
    fn swapped_segments_get_their_old_ids_back() {
        let old = tiny_model();
        let mut new = tiny_model();
        new.centres.swap(0, 1);
        assert_eq!(match_to_previous(&new, &old), Some(vec![1, 0]));
        assert_eq!(match_to_previous(&old, &old), Some(vec![0, 1]));
        // A third segment far away takes the free id.
        new.centres.push(vec![9.0, 9.0]);
        assert_eq!(match_to_previous(&new, &old), Some(vec![1, 0, 2]));
        new.features[0] = "other".into();
        assert_eq!(match_to_previous(&new, &old), None);
    }

    /// A segment keeps its counterpart (and so its name) when its centre barely moved; an id
    /// kept only because the assignment had to give it to someone does not.
    #[test]
    fn counterparts_are_mutual_nearest() {
        let old = tiny_model();
        let mut new = tiny_model();
        new.centres.swap(0, 1);
        assert_eq!(matching(&new, &old).unwrap().counterparts, vec![0, 1]);
        // Both new centres next to old segment 0: the one nearer keeps 0, the other takes 1
        // without being near old 1: only 0 has a counterpart.
        let mut merged = tiny_model();
        let c0 = old.centres[0].clone();
        merged.centres = vec![c0.clone(), c0.iter().map(|x| x + 0.01).collect()];
        let m = matching(&merged, &old).unwrap();
        assert_eq!(m.new_id, vec![0, 1]);
        assert_eq!(m.counterparts, vec![0]);
        // Fewer segments than before: the old ids above the new k have none.
        let mut fewer = tiny_model();
        fewer.centres.truncate(1);
        fewer.profile.sizes.truncate(1);
        assert!(matching(&fewer, &old).is_none_or(|m| !m.counterparts.contains(&1)));
    }
}
