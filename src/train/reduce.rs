//! The gradient reducer: the seam between a process's gradient estimate and the update. On
//! one process it does nothing ([`Local`]); a data-parallel trainer (MPI, feature `mpi`:
//! [`super::mpi`]) gives each process a part of every minibatch ([`part`]) and combines the
//! parts' estimates and statistics here, so that every process applies the same update.
//!
//! Sums over processes are taken in rank order, starting from zero, exactly as one process
//! adds its shards: P processes of one thread each give the bits of one process with P threads.

use super::estimate::BatchStats;
use crate::error::{Error, Result};
use crate::layered::Grads;
use serde::Serialize;
use std::ops::Range;

/// Combines the estimates of all processes.
pub trait GradientReducer: Send {
    /// This process's rank and the number of processes ((0, 1) on one process).
    fn place(&self) -> (usize, usize) {
        (0, 1)
    }

    /// Combines every process's part of a minibatch: on return `grads` holds the sum of the
    /// processes' estimates (each already divided by the global minibatch size) and the result
    /// the merged statistics. `local` is this process's own outcome: an error on any process
    /// becomes an error on every process, so that all stop at the same batch.
    fn reduce(&mut self, local: Result<BatchStats>, grads: &mut Grads<f32>) -> Result<BatchStats>;

    /// Every process's statistics per evaluation batch, in rank order (an error on any
    /// process is an error on all). Each process passes the same number of batches.
    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>>;

    /// What combining has cost so far.
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }

    /// Whether this reducer leaves every estimate as it is (one process, nothing to combine):
    /// only then may a device engine fuse estimate and update.
    fn is_local(&self) -> bool {
        false
    }
}

/// The communication of a reducer so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Traffic {
    /// Gradient reductions.
    pub reductions: usize,
    /// Bytes this process sent, in all.
    pub bytes_sent: u64,
    /// Wall time inside the reductions (s), waiting for slower processes included.
    pub seconds: f64,
}

/// One process: the estimate is already the global one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl GradientReducer for Local {
    fn reduce(&mut self, local: Result<BatchStats>, _: &mut Grads<f32>) -> Result<BatchStats> {
        local
    }

    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>> {
        Ok(vec![local?])
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// The examples `0..len` split into `parts` nearly equal contiguous ranges: range `i`. The
/// one rule for shards (threads) and processes alike, so that P processes hold the shards one
/// process with P threads would.
pub fn part(len: usize, i: usize, parts: usize) -> Range<usize> {
    let parts = parts.max(1);
    let (base, extra) = (len / parts, len % parts);
    let start = i * base + i.min(extra);
    start..start + base + usize::from(i < extra)
}

/// `out = ((0 + parts[0]) + parts[1]) + …`, element by element: the order in which one process
/// adds its shards' estimates.
pub fn sum_in_order<'a>(out: &mut [f32], parts: impl IntoIterator<Item = &'a [f32]>) {
    out.fill(0.0);
    for p in parts {
        assert_eq!(p.len(), out.len(), "part length");
        out.iter_mut().zip(p).for_each(|(o, x)| *o += x);
    }
}

/// Every process's statistics merged in rank order, per batch.
pub fn merge_in_order(all: &[Vec<BatchStats>]) -> Result<Vec<BatchStats>> {
    let n = all.first().map_or(0, Vec::len);
    if all.iter().any(|v| v.len() != n) {
        return Err(Error::Distributed(
            "the processes evaluated different numbers of batches".into(),
        ));
    }
    Ok((0..n)
        .map(|k| all.iter().fold(BatchStats::default(), |s, v| s.merge(v[k])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_tile_the_range_in_order_with_sizes_differing_by_at_most_one() {
        for len in 0..40 {
            for parts in 1..9 {
                let r: Vec<_> = (0..parts).map(|i| part(len, i, parts)).collect();
                assert_eq!(r[0].start, 0);
                assert_eq!(r[parts - 1].end, len);
                for w in r.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len() && w[0].len() <= w[1].len() + 1);
                }
            }
        }
    }

    #[test]
    fn the_ordered_sum_is_the_left_fold_from_zero() {
        // Chosen so that the association matters in f32.
        let (a, b, c) = ([1.0e8_f32], [-1.0e8_f32], [1.0_f32]);
        let mut out = [f32::NAN];
        sum_in_order(&mut out, [&a[..], &b[..], &c[..]]);
        assert_eq!(out[0], 1.0);
        sum_in_order(&mut out, [&a[..], &c[..], &b[..]]);
        assert_eq!(out[0], 0.0, "(1e8 + 1) rounds to 1e8 in f32");
    }

    #[test]
    fn merging_differing_batch_counts_is_an_error() {
        let s = BatchStats::default();
        assert!(matches!(
            merge_in_order(&[vec![s], vec![s, s]]),
            Err(Error::Distributed(_))
        ));
        let one = BatchStats {
            errors: 2,
            cost: 1.5,
            residual: 0.1,
            steps: 10,
            shards: 1,
        };
        let two = BatchStats {
            residual: 0.3,
            ..one
        };
        let m = merge_in_order(&[vec![one], vec![two]]).unwrap();
        assert_eq!(
            m,
            vec![BatchStats {
                errors: 4,
                cost: 3.0,
                residual: 0.3,
                steps: 20,
                shards: 2
            }]
        );
    }
}
