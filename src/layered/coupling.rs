//! The coupling between two adjacent layers as an operator: apply it, apply its transpose,
//! add its contribution to the Laplacian diagonal, and accumulate its parameter gradient from
//! layer activities. Dense matrices (`Mat`, conductances `W^l`, n_{l+1} × n_l) are the first
//! implementation; a convolution would be another, with its own parameter shape.

use super::elementwise::{col, fused_gemv};
use super::Real;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// A linear coupling `W` from a layer of `cols()` units to one of `rows()` units.
pub trait Coupling<T: Real> {
    /// Units of the upper layer (outputs of [`Coupling::apply`]).
    fn rows(&self) -> usize;
    /// Units of the lower layer.
    fn cols(&self) -> usize;
    /// `out ← c W x` (`accum = Replace`) or `out += c W x` (`Add`), column by column.
    fn apply(&self, x: MatRef<T>, out: MatMut<T>, c: T, accum: Accum, par: Par);
    /// `out ← c Wᵀ y` or `out += c Wᵀ y`.
    fn apply_transposed(&self, y: MatRef<T>, out: MatMut<T>, c: T, accum: Accum, par: Par);
    /// For one example: `up += c W x` and `down += c Wᵀ y` (dense: one pass over W).
    fn apply_both(&self, x: &[T], y: &[T], c: T, up: &mut [T], down: &mut [T]);
    /// Adds each unit's total conductance to the Laplacian diagonal: the row sums to `upper`,
    /// the column sums to `lower`.
    fn add_to_diagonal(&self, lower: &mut [T], upper: &mut [T]);
    /// Adds `c Σ_b a_b b_bᵀ` (upper activities `a`, lower `b`, one column per example),
    /// restricted to the coupling's parameters, to the gradient `acc` (shaped like `self`).
    fn add_outer(acc: &mut Self, a: MatRef<T>, b: MatRef<T>, c: T, par: Par);
}

impl<T: Real> Coupling<T> for Mat<T> {
    fn rows(&self) -> usize {
        self.nrows()
    }

    fn cols(&self) -> usize {
        self.ncols()
    }

    fn apply(&self, x: MatRef<T>, out: MatMut<T>, c: T, accum: Accum, par: Par) {
        matmul(out, accum, self, x, c, par);
    }

    fn apply_transposed(&self, y: MatRef<T>, out: MatMut<T>, c: T, accum: Accum, par: Par) {
        matmul(out, accum, self.transpose(), y, c, par);
    }

    fn apply_both(&self, x: &[T], y: &[T], c: T, up: &mut [T], down: &mut [T]) {
        fused_gemv(self, x, y, c, up, down);
    }

    fn add_to_diagonal(&self, lower: &mut [T], upper: &mut [T]) {
        // In parallel, each sum in column order (the bits of one thread): column sums per
        // column, row sums per block of rows.
        lower
            .par_iter_mut()
            .enumerate()
            .with_min_len(16)
            .for_each(|(j, d)| *d += col(self, j).iter().fold(T::zero(), |s, &g| s + g));
        const ROWS: usize = 128;
        upper
            .par_chunks_mut(ROWS)
            .enumerate()
            .for_each(|(b, rows)| {
                for j in 0..self.ncols() {
                    let wj = &col(self, j)[b * ROWS..b * ROWS + rows.len()];
                    rows.iter_mut().zip(wj).for_each(|(r, &g)| *r += g);
                }
            });
    }

    fn add_outer(acc: &mut Self, a: MatRef<T>, b: MatRef<T>, c: T, par: Par) {
        matmul(acc.as_mut(), Accum::Add, a, b.transpose(), c, par);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel diagonal equals the one-thread sums bit for bit, added to what was there,
    /// over several row blocks and a ragged last one.
    #[test]
    fn the_parallel_diagonal_is_the_sequential_one() {
        let w = Mat::<f32>::from_fn(300, 70, |i, j| ((i * 31 + j * 17) % 23) as f32 * 0.37 - 4.1);
        let (mut lower, mut upper) = (vec![1.0f32; 70], vec![-2.0f32; 300]);
        w.add_to_diagonal(&mut lower, &mut upper);
        for j in 0..70 {
            let s = (0..300).fold(0.0f32, |s, i| s + w[(i, j)]);
            assert_eq!(lower[j].to_bits(), (1.0 + s).to_bits(), "column {j}");
        }
        for i in 0..300 {
            let s = (0..70).fold(-2.0f32, |s, j| s + w[(i, j)]);
            assert_eq!(upper[i].to_bits(), s.to_bits(), "row {i}");
        }
    }

    #[test]
    fn the_dense_coupling_is_one_operator_seen_four_ways() {
        let w = Mat::<f64>::from_fn(5, 3, |i, j| (i as f64 + 1.0) * 0.3 - j as f64 * 0.7);
        let x = Mat::<f64>::from_fn(3, 2, |i, j| i as f64 - 0.5 * j as f64);
        let y = Mat::<f64>::from_fn(5, 2, |i, j| 0.2 * i as f64 + j as f64);
        let (mut wx, mut wty) = (Mat::zeros(5, 2), Mat::zeros(3, 2));
        w.apply(x.as_ref(), wx.as_mut(), 2.0, Accum::Replace, Par::Seq);
        w.apply_transposed(y.as_ref(), wty.as_mut(), 2.0, Accum::Replace, Par::Seq);
        // ⟨y, W x⟩ = ⟨Wᵀ y, x⟩ per example, and W x entry by entry.
        for b in 0..2 {
            let l: f64 = (0..5).map(|i| y[(i, b)] * wx[(i, b)]).sum();
            let r: f64 = (0..3).map(|j| wty[(j, b)] * x[(j, b)]).sum();
            assert!((l - r).abs() < 1e-12, "{l} vs {r}");
            for i in 0..5 {
                let want: f64 = 2.0 * (0..3).map(|j| w[(i, j)] * x[(j, b)]).sum::<f64>();
                assert!((wx[(i, b)] - want).abs() < 1e-12);
            }
        }
        // One example: both products in one pass.
        let (mut up, mut down) = (vec![0.0; 5], vec![0.0; 3]);
        w.apply_both(col(&x, 0), col(&y, 0), 2.0, &mut up, &mut down);
        for i in 0..5 {
            assert!((up[i] - wx[(i, 0)]).abs() < 1e-12);
        }
        for j in 0..3 {
            assert!((down[j] - wty[(j, 0)]).abs() < 1e-12);
        }
        // The diagonal: column sums to the lower layer, row sums to the upper one.
        let (mut lower, mut upper) = (vec![0.0; 3], vec![0.0; 5]);
        w.add_to_diagonal(&mut lower, &mut upper);
        for j in 0..3 {
            assert!((lower[j] - (0..5).map(|i| w[(i, j)]).sum::<f64>()).abs() < 1e-12);
        }
        for i in 0..5 {
            assert!((upper[i] - (0..3).map(|j| w[(i, j)]).sum::<f64>()).abs() < 1e-12);
        }
        // The gradient's outer product: acc += c Σ_b y_b x_bᵀ.
        let mut acc = Mat::<f64>::zeros(5, 3);
        Mat::add_outer(&mut acc, y.as_ref(), x.as_ref(), 0.5, Par::Seq);
        for i in 0..5 {
            for j in 0..3 {
                let want: f64 = 0.5 * (0..2).map(|b| y[(i, b)] * x[(j, b)]).sum::<f64>();
                assert!((acc[(i, j)] - want).abs() < 1e-12);
            }
        }
    }
}
