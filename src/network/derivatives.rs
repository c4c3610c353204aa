//! Second derivatives of Φ (Hessian, Jacobian of the dynamics) and its derivatives in the
//! parameters θ (the local quantities EqProp measures, and their contraction with an adjoint).

use super::{Cost, FhnNetwork, State};
use crate::model::Local;
use faer::sparse::{SparseColMat, Triplet};
use faer::Mat;

impl FhnNetwork {
    /// Triplets of the Hessian of Φ (+βC) over free variables, ordered (u_free, v_free):
    /// `[[d_u L₁ + diag(3u² − 1) + βP, I], [I, −(d_v/ε) L₂ − αI]]` (paper eq. 9 up to sign).
    pub fn hessian_triplets(
        &self,
        s: &State,
        nudge: Option<(&Cost, f64)>,
    ) -> Vec<(usize, usize, f64)> {
        let p = &self.params;
        let nf = self.free.len();
        let mut pos = vec![usize::MAX; self.n()];
        for (k, &i) in self.free.iter().enumerate() {
            pos[i] = k;
        }
        let mut t = Vec::with_capacity(2 * (self.l1.nnz() + self.l2.nnz()) + 4 * nf);
        for (k, &i) in self.free.iter().enumerate() {
            for (j, val) in self.l1.row(i) {
                if pos[j] != usize::MAX {
                    t.push((k, pos[j], p.d_u * val));
                }
            }
            for (j, val) in self.l2.row(i) {
                if pos[j] != usize::MAX {
                    t.push((nf + k, nf + pos[j], -p.inhibitor_gain() * val));
                }
            }
            t.push((k, k, -Local::<f64>::slope(s.u[i])));
            t.push((k, nf + k, 1.0));
            t.push((nf + k, k, 1.0));
            t.push((nf + k, nf + k, -p.alpha));
        }
        if let Some((c, b)) = nudge {
            for &o in &c.outputs {
                if pos[o] != usize::MAX {
                    t.push((pos[o], pos[o], b));
                }
            }
        }
        t
    }

    /// Dense Hessian of Φ over free variables (2 n_free square, symmetric).
    pub fn hessian_dense(&self, s: &State, nudge: Option<(&Cost, f64)>) -> Mat<f64> {
        let m = 2 * self.free.len();
        let mut h = Mat::zeros(m, m);
        for (r, c, v) in self.hessian_triplets(s, nudge) {
            h[(r, c)] += v;
        }
        h
    }

    /// Sparse Hessian of Φ over free variables.
    pub fn hessian_sparse(
        &self,
        s: &State,
        nudge: Option<(&Cost, f64)>,
    ) -> SparseColMat<usize, f64> {
        let m = 2 * self.free.len();
        let t: Vec<_> = self
            .hessian_triplets(s, nudge)
            .into_iter()
            .map(|(r, c, v)| Triplet::new(r, c, v))
            .collect();
        SparseColMat::try_new_from_triplets(m, m, &t).expect("valid triplets")
    }

    /// Dense Jacobian of the dynamics over free variables: `J = −diag(1/τ_u, −ε/τ_v) H`.
    /// Not symmetric in general (the skew-gradient structure).
    pub fn jacobian_dense(&self, s: &State) -> Mat<f64> {
        let p = &self.params;
        let nf = self.free.len();
        let h = self.hessian_dense(s, None);
        Mat::from_fn(2 * nf, 2 * nf, |r, c| {
            let scale = if r < nf {
                -1.0 / p.tau_u
            } else {
                p.eps / p.tau_v
            };
            scale * h[(r, c)]
        })
    }

    /// ∂Φ/∂θ at state `s` (the local quantities EqProp measures).
    pub fn param_gradient(&self, s: &State) -> Vec<f64> {
        let p = &self.params;
        let g1 = self
            .activator
            .edges
            .iter()
            .map(|e| 0.5 * p.d_u * (s.u[e.a] - s.u[e.b]).powi(2));
        let g2 = self
            .inhibitor
            .edges
            .iter()
            .map(|e| -0.5 * p.inhibitor_gain() * (s.v[e.a] - s.v[e.b]).powi(2));
        let i = s.u.iter().map(|&u| -u);
        g1.chain(g2).chain(i).collect()
    }

    /// Mixed derivative ∂²Φ/∂θ∂s contracted with a free-variable vector λ = (λ_u, λ_v):
    /// returns λᵀ ∂²Φ/∂s∂θ for every θ (λ is zero on clamped nodes).
    pub fn mixed_contract(&self, s: &State, lam_u: &[f64], lam_v: &[f64]) -> Vec<f64> {
        let p = &self.params;
        let g1 = self
            .activator
            .edges
            .iter()
            .map(|e| p.d_u * (s.u[e.a] - s.u[e.b]) * (lam_u[e.a] - lam_u[e.b]));
        let g2 = self
            .inhibitor
            .edges
            .iter()
            .map(|e| -p.inhibitor_gain() * (s.v[e.a] - s.v[e.b]) * (lam_v[e.a] - lam_v[e.b]));
        let i = lam_u.iter().map(|&l| -l);
        g1.chain(g2).chain(i).collect()
    }
}
