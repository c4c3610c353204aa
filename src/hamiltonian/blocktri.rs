//! Block-tridiagonal linear systems by block Gaussian elimination (block Thomas / discrete
//! Riccati sweep): the stable, layer-local counterpart of forward shooting in depth.
//!
//! `A_i x_{i−1} + B_i x_i + C_i x_{i+1} = r_i` (i = 0..N−1). The forward sweep carries the
//! Schur complements `S_0 = B_0`, `S_i = B_i − A_i S_{i−1}⁻¹ C_{i−1}` — each factored by LU with
//! partial pivoting, since the blocks of a mini-max Hessian are indefinite — and the backward
//! sweep recovers x from the last layer (the output boundary condition) to the first.
//! Cost: N block factorisations, O(N b³) for blocks of size b.

use crate::error::{Error, Result};
use crate::network::{Cost, FhnNetwork, State};
use faer::linalg::solvers::PartialPivLu;
use faer::prelude::*;
use faer::Mat;

/// A block-tridiagonal matrix with square blocks of size `b`.
#[derive(Clone, Debug)]
pub struct BlockTridiagonal {
    /// Sub-diagonal blocks A_i (A_0 unused, zero).
    pub lower: Vec<Mat<f64>>,
    /// Diagonal blocks B_i.
    pub diag: Vec<Mat<f64>>,
    /// Super-diagonal blocks C_i (C_{N−1} unused, zero).
    pub upper: Vec<Mat<f64>>,
}

impl BlockTridiagonal {
    /// Zero matrix with `n` block rows of size `b`.
    pub fn zeros(n: usize, b: usize) -> Self {
        let z = || (0..n).map(|_| Mat::zeros(b, b)).collect();
        Self {
            lower: z(),
            diag: z(),
            upper: z(),
        }
    }

    /// Block size.
    pub fn block(&self) -> usize {
        self.diag.first().map_or(0, |m| m.nrows())
    }

    /// Adds `v` at global (row, col) (must lie within the tridiagonal band).
    pub fn add(&mut self, row: usize, col: usize, v: f64) {
        let b = self.block();
        let (bi, bj) = (row / b, col / b);
        let (r, c) = (row % b, col % b);
        let m = if bi == bj {
            &mut self.diag[bi]
        } else if bj + 1 == bi {
            &mut self.lower[bi]
        } else if bi + 1 == bj {
            &mut self.upper[bi]
        } else {
            panic!("entry ({row}, {col}) outside the block tridiagonal band");
        };
        m[(r, c)] += v;
    }

    /// y = M x.
    pub fn mul(&self, x: &[f64]) -> Vec<f64> {
        let (n, b) = (self.diag.len(), self.block());
        let mut y = vec![0.0; n * b];
        for i in 0..n {
            for (blk, j) in [
                (&self.diag[i], Some(i)),
                (&self.lower[i], i.checked_sub(1)),
                (&self.upper[i], (i + 1 < n).then_some(i + 1)),
            ] {
                let Some(j) = j else { continue };
                for r in 0..b {
                    y[i * b + r] += (0..b).map(|c| blk[(r, c)] * x[j * b + c]).sum::<f64>();
                }
            }
        }
        y
    }

    /// Solves M x = r by the block Thomas sweep.
    pub fn solve(&self, r: &[f64]) -> Result<Vec<f64>> {
        let (n, b) = (self.diag.len(), self.block());
        let mut lus: Vec<PartialPivLu<f64>> = Vec::with_capacity(n);
        let mut sinv_c: Vec<Mat<f64>> = Vec::with_capacity(n);
        let mut y: Vec<Mat<f64>> = Vec::with_capacity(n);
        for i in 0..n {
            let ri = Mat::from_fn(b, 1, |k, _| r[i * b + k]);
            let (s, yi) = if i == 0 {
                (self.diag[0].clone(), ri)
            } else {
                (
                    &self.diag[i] - &self.lower[i] * &sinv_c[i - 1],
                    ri - &self.lower[i] * lus[i - 1].solve(&y[i - 1]),
                )
            };
            let lu = s.partial_piv_lu();
            let check = lu.solve(Mat::<f64>::identity(b, b));
            if !check.norm_max().is_finite() {
                return Err(Error::Singular(format!("Schur complement at block {i}")));
            }
            sinv_c.push(lu.solve(&self.upper[i]));
            lus.push(lu);
            y.push(yi);
        }
        let mut x = vec![Mat::<f64>::zeros(b, 1); n];
        for i in (0..n).rev() {
            let rhs = if i + 1 < n {
                &y[i] - &self.upper[i] * &x[i + 1]
            } else {
                y[i].clone()
            };
            x[i] = lus[i].solve(&rhs);
        }
        Ok(x.iter()
            .flat_map(|xi| (0..b).map(move |k| xi[(k, 0)]))
            .collect())
    }
}

/// The Newton linear solve of a layered graph network whose free nodes are `layers` layers of
/// `width` nodes in layer-major order (node k of free layer i is free index i·width + k): the
/// Hessian over (u_free, v_free) regrouped into blocks of one layer's (u, v) and solved by the
/// block sweep. Wrap it in a closure for [`crate::solvers::newton_with`].
pub fn layer_block_solve(
    layers: usize,
    width: usize,
    net: &FhnNetwork,
    st: &State,
    nudge: Option<(&Cost, f64)>,
    g: &[f64],
) -> Result<Vec<f64>> {
    {
        let (m, nf) = (width, layers * width);
        if g.len() != 2 * nf {
            return Err(Error::Invalid(format!(
                "block solve: {} unknowns for {layers} layers of {width}",
                g.len()
            )));
        }
        let idx = |r: usize| {
            if r < nf {
                (r / m) * 2 * m + r % m
            } else {
                ((r - nf) / m) * 2 * m + m + (r - nf) % m
            }
        };
        let mut h = BlockTridiagonal::zeros(layers, 2 * m);
        for (r, c, v) in net.hessian_triplets(st, nudge) {
            h.add(idx(r), idx(c), v);
        }
        let mut rhs = vec![0.0; 2 * nf];
        for (r, &x) in g.iter().enumerate() {
            rhs[idx(r)] = x;
        }
        let x = h.solve(&rhs)?;
        Ok((0..2 * nf).map(|r| x[idx(r)]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_an_indefinite_block_tridiagonal_system() {
        let (n, b) = (40, 3);
        let mut m = BlockTridiagonal::zeros(n, b);
        for i in 0..n * b {
            m.add(
                i,
                i,
                if (i / b) % 2 == 0 { 3.0 } else { -3.0 } + 0.1 * (i as f64).sin(),
            );
            if i + b < n * b {
                let v = 0.7 * ((i * 3) as f64).cos();
                m.add(i, i + b, v);
                m.add(i + b, i, v);
            }
            if i % b + 1 < b {
                m.add(i, i + 1, 0.5);
                m.add(i + 1, i, 0.5);
            }
        }
        let x: Vec<f64> = (0..n * b).map(|i| (i as f64 * 0.3).cos()).collect();
        let r = m.mul(&x);
        let got = m.solve(&r).unwrap();
        let err = got
            .iter()
            .zip(&x)
            .fold(0.0f64, |e, (a, c)| e.max((a - c).abs()));
        assert!(err < 1e-12, "error {err}");
    }
}
