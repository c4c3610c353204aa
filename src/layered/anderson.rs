//! Anderson acceleration (type II, memory m) of the Jacobi relaxation map, per example.
//!
//! With `G` one diagonally preconditioned step (a contraction near a stable equilibrium) and
//! `f_k = G(x_k) − x_k`, each example's next iterate is `x_{k+1} = G(x_k) − ΔG γ`, where
//! `γ = argmin ‖f_k − ΔF γ‖₂` over the last m differences `ΔF_i = f_{k−i+1} − f_{k−i}`,
//! `ΔG_i = G(x_{k−i+1}) − G(x_{k−i})` (Walker & Ni 2011). The map's cost — one force evaluation,
//! i.e. two GEMMs per hidden weight layer — dominates; the mixing costs O(m² N) per example.
//! Examples are independent problems, so γ is solved per column (an m × m system in f64).

use super::{col, col_mut, BatchState, Real};
use faer::Mat;

/// History of one relaxation, packed as N × B matrices (N = all free u, then all free v).
#[derive(Clone, Debug)]
pub struct Anderson<T: Real> {
    memory: usize,
    x: Mat<T>,
    g: Mat<T>,
    g_prev: Mat<T>,
    f_prev: Mat<T>,
    dg: Vec<Mat<T>>,
    df: Vec<Mat<T>>,
    filled: usize,
    next: usize,
    have_prev: bool,
    /// Per example, the Gram matrix ΔFᵀΔF (m × m, row-major), updated one slot at a time.
    gram: Vec<f64>,
}

impl<T: Real> Anderson<T> {
    /// Empty history for states of `n` packed entries per example and `batch` examples.
    pub fn new(memory: usize, n: usize, batch: usize) -> Self {
        let z = || Mat::zeros(n, batch);
        Self {
            memory,
            x: z(),
            g: z(),
            g_prev: z(),
            f_prev: z(),
            dg: (0..memory).map(|_| z()).collect(),
            df: (0..memory).map(|_| z()).collect(),
            filled: 0,
            next: 0,
            have_prev: false,
            gram: vec![0.0; memory * memory * batch],
        }
    }

    /// Forgets the history (call at the start of every relaxation).
    pub fn reset(&mut self) {
        self.filled = 0;
        self.next = 0;
        self.have_prev = false;
    }

    /// Whether the buffers fit `n` packed entries and `batch` examples.
    pub fn fits(&self, memory: usize, n: usize, batch: usize) -> bool {
        self.memory == memory && self.x.nrows() == n && self.x.ncols() == batch
    }

    /// Records `x` (the iterate before the map); call before applying G to `st`.
    pub fn before(&mut self, st: &BatchState<T>, with_v: bool) {
        pack(st, with_v, &mut self.x);
    }

    /// Given `st = G(x)`, replaces it by the Anderson-mixed iterate.
    pub fn after(&mut self, st: &mut BatchState<T>, with_v: bool) {
        pack(st, with_v, &mut self.g);
        let b_count = self.x.ncols();
        // f = g − x, stored in x's buffer (x is not needed any more).
        for j in 0..b_count {
            let (f, g) = (col_mut(&mut self.x, j), col(&self.g, j));
            f.iter_mut().zip(g).for_each(|(x, &g)| *x = g - *x);
        }
        if self.have_prev && self.memory > 0 {
            let k = self.next;
            for j in 0..b_count {
                let (f, fp) = (col(&self.x, j), col(&self.f_prev, j));
                let d = col_mut(&mut self.df[k], j);
                d.iter_mut()
                    .zip(f.iter().zip(fp))
                    .for_each(|(d, (&a, &b))| *d = a - b);
                let (g, gp) = (col(&self.g, j), col(&self.g_prev, j));
                let d = col_mut(&mut self.dg[k], j);
                d.iter_mut()
                    .zip(g.iter().zip(gp))
                    .for_each(|(d, (&a, &b))| *d = a - b);
            }
            self.next = (k + 1) % self.memory;
            self.filled = (self.filled + 1).min(self.memory);
            let m = self.memory;
            for j in 0..b_count {
                let dk = col(&self.df[k], j);
                for i in 0..self.filled {
                    let v = dot(dk, col(&self.df[i], j));
                    let h = &mut self.gram[j * m * m..(j + 1) * m * m];
                    h[k * m + i] = v;
                    h[i * m + k] = v;
                }
            }
        }
        std::mem::swap(&mut self.f_prev, &mut self.x);
        self.g_prev.clone_from(&self.g);
        self.have_prev = true;
        if self.filled > 0 {
            for j in 0..b_count {
                self.mix_column(j);
            }
        }
        unpack(&self.g, with_v, st);
    }

    /// `g_j ← g_j − ΔG γ` with γ the least-squares coefficients of column j.
    fn mix_column(&mut self, j: usize) {
        let (m, mm) = (self.filled, self.memory);
        let f = col(&self.f_prev, j);
        let stored = &self.gram[j * mm * mm..(j + 1) * mm * mm];
        let mut h: Vec<f64> = (0..m * m).map(|x| stored[(x / m) * mm + x % m]).collect();
        let mut r: Vec<f64> = (0..m).map(|a| dot(col(&self.df[a], j), f)).collect();
        let trace: f64 = (0..m).map(|a| h[a * m + a]).sum();
        if trace <= 0.0 || !trace.is_finite() {
            return;
        }
        for a in 0..m {
            h[a * m + a] += 1e-10 * trace;
        }
        let Some(gamma) = solve(&mut h, &mut r, m) else {
            return;
        };
        let g = col_mut(&mut self.g, j);
        for (a, &ga) in gamma.iter().enumerate() {
            let c = T::lit(ga);
            let d = col(&self.dg[a], j);
            g.iter_mut().zip(d).for_each(|(x, &y)| *x -= c * y);
        }
    }
}

/// `Σ a_i b_i` accumulated in f64, in 8 lanes so that it vectorises.
fn dot<T: Real>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| x.as_f64() * y.as_f64())
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k].as_f64() * y[k].as_f64();
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Solves the symmetric positive semi-definite system by Gaussian elimination with partial
/// pivoting; `None` if singular.
fn solve(h: &mut [f64], r: &mut [f64], m: usize) -> Option<Vec<f64>> {
    for c in 0..m {
        let p = (c..m).max_by(|&a, &b| h[a * m + c].abs().total_cmp(&h[b * m + c].abs()))?;
        if h[p * m + c].abs() < 1e-300 {
            return None;
        }
        for k in 0..m {
            h.swap(c * m + k, p * m + k);
        }
        r.swap(c, p);
        for row in c + 1..m {
            let f = h[row * m + c] / h[c * m + c];
            for k in c..m {
                h[row * m + k] -= f * h[c * m + k];
            }
            r[row] -= f * r[c];
        }
    }
    let mut x = vec![0.0; m];
    for c in (0..m).rev() {
        let s: f64 = (c + 1..m).map(|k| h[c * m + k] * x[k]).sum();
        x[c] = (r[c] - s) / h[c * m + c];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Packed length per example: free activators, then (with an inhibitor) free inhibitors.
pub fn packed_len(widths: &[usize], with_v: bool) -> usize {
    widths[1..].iter().sum::<usize>() * if with_v { 2 } else { 1 }
}

fn pack<T: Real>(st: &BatchState<T>, with_v: bool, out: &mut Mat<T>) {
    for j in 0..out.ncols() {
        let o = col_mut(out, j);
        let mut at = 0;
        let vars = if with_v { 2 } else { 1 };
        for s in [&st.u, &st.v].into_iter().take(vars) {
            for m in &s[1..] {
                let c = col(m, j);
                o[at..at + c.len()].copy_from_slice(c);
                at += c.len();
            }
        }
    }
}

fn unpack<T: Real>(x: &Mat<T>, with_v: bool, st: &mut BatchState<T>) {
    for j in 0..x.ncols() {
        let o = col(x, j);
        let mut at = 0;
        let vars = if with_v { 2 } else { 1 };
        for s in [&mut st.u, &mut st.v].into_iter().take(vars) {
            for m in s[1..].iter_mut() {
                let c = col_mut(m, j);
                let n = c.len();
                c.copy_from_slice(&o[at..at + n]);
                at += n;
            }
        }
    }
}
