//! The parameter gradient ∂Φ/∂θ at a state, and the EqProp estimate from two phases.

use super::elementwise::{col, col_mut, hard_sigmoid};
use super::{BatchState, Grads, Kind, LayeredNet, Real, Workspace};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

impl<T: Real> LayeredNet<T> {
    /// Adds `sign · ∂Φ/∂θ` at state `st`, summed over the batch, to `acc`.
    /// FHN: `½ d_u Σ_b (u_j − u_k)²` per conductance via one GEMM `U_{l+1} U_lᵀ`.
    pub fn accumulate_param_grad(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        sign: T,
        acc: &mut Grads<T>,
        par: Par,
    ) {
        let p = self.arch.fhn;
        match self.arch.kind {
            Kind::Fhn => {
                let half_du = T::lit(0.5 * p.d_u);
                let inhib = self.arch.has_inhibitor() && self.arch.inhibitor_coupling;
                let half_cv = T::lit(-0.5 * p.inhibitor_gain());
                for l in 0..self.arch.depth() {
                    co_content(&st.u[l], &st.u[l + 1], sign * half_du, &mut acc.w[l], par);
                    if inhib {
                        co_content(&st.v[l], &st.v[l + 1], sign * half_cv, &mut acc.w[l], par);
                    }
                }
                for l in 1..self.layers() {
                    add_row_sums(&st.u[l], -sign, &mut acc.b[l - 1]);
                }
            }
            Kind::Hopfield => {
                for l in 0..self.layers() {
                    hard_sigmoid(&st.u[l], &mut ws.act[l]);
                }
                for l in 0..self.arch.depth() {
                    matmul(
                        acc.w[l].as_mut(),
                        Accum::Add,
                        &ws.act[l + 1],
                        ws.act[l].transpose(),
                        -sign,
                        par,
                    );
                }
                for l in 1..self.layers() {
                    add_row_sums(&ws.act[l], -sign, &mut acc.b[l - 1]);
                }
            }
        }
    }
}

impl<T: Real> LayeredNet<T> {
    /// Adds `c · (∂Φ/∂θ(s⁺) − ∂Φ/∂θ(s⁻))` to `acc`: the EqProp estimate from two phases,
    /// computed from the phase difference `Δ = s⁺ − s⁻` and sum `Σ = s⁺ + s⁻` so that large,
    /// nearly equal co-contents never cancel in floating point (docs/PERFORMANCE.md §5):
    /// FHN `(a⁺−b⁺)² − (a⁻−b⁻)² = (Δa − Δb)(Σa − Σb)`; Hopfield
    /// `a⁺b⁺ − a⁻b⁻ = ½(Δa Σb + Σa Δb)` with a, b = ρ(u). Two GEMMs per weight layer, as
    /// many as two calls of [`Self::accumulate_param_grad`].
    pub fn accumulate_param_grad_difference(
        &self,
        plus: &BatchState<T>,
        minus: &BatchState<T>,
        ws: &mut Workspace<T>,
        c: T,
        acc: &mut Grads<T>,
        par: Par,
    ) {
        let p = self.arch.fhn;
        let (cw, mut variables) = match self.arch.kind {
            Kind::Fhn => (T::lit(0.5 * p.d_u), vec![(&plus.u, &minus.u, true)]),
            // E = −Σ ρᵀWρ: the minus sign of the GEMM term below is already E's.
            Kind::Hopfield => (T::lit(0.5), vec![(&plus.u, &minus.u, true)]),
        };
        if self.arch.kind == Kind::Fhn && self.arch.has_inhibitor() && self.arch.inhibitor_coupling
        {
            variables.push((&plus.v, &minus.v, false));
        }
        for (sp, sm, activator) in variables {
            let scale = if activator {
                cw
            } else {
                T::lit(-0.5 * p.inhibitor_gain())
            };
            for l in 0..self.layers() {
                let (d, m) = (&mut ws.delta[l], &mut ws.sum[l]);
                let rho = |x: T| match self.arch.kind {
                    Kind::Fhn => x,
                    Kind::Hopfield => x.max(T::zero()).min(T::one()),
                };
                for j in 0..d.ncols() {
                    let (a, b) = (col(&sp[l], j), col(&sm[l], j));
                    let dj = col_mut(d, j);
                    for k in 0..dj.len() {
                        dj[k] = rho(a[k]) - rho(b[k]);
                    }
                    let mj = col_mut(m, j);
                    for k in 0..mj.len() {
                        mj[k] = rho(a[k]) + rho(b[k]);
                    }
                }
            }
            for l in 0..self.arch.depth() {
                let (da, ma, db, mb) = (&ws.delta[l], &ws.sum[l], &ws.delta[l + 1], &ws.sum[l + 1]);
                let g = &mut acc.w[l];
                matmul(g.as_mut(), Accum::Add, db, ma.transpose(), -c * scale, par);
                matmul(g.as_mut(), Accum::Add, mb, da.transpose(), -c * scale, par);
                if self.arch.kind == Kind::Fhn {
                    let (sa, sb) = (dot_rows(da, ma), dot_rows(db, mb));
                    for j in 0..g.ncols() {
                        for (k, x) in col_mut(g, j).iter_mut().enumerate() {
                            *x += c * scale * (sa[j] + sb[k]);
                        }
                    }
                }
            }
            if activator {
                for l in 1..self.layers() {
                    add_row_sums(&ws.delta[l], -c, &mut acc.b[l - 1]);
                }
            }
        }
    }
}

/// Per row i: `Σ_b x_ib y_ib`.
fn dot_rows<T: Real>(x: &Mat<T>, y: &Mat<T>) -> Vec<T> {
    let mut out = vec![T::zero(); x.nrows()];
    for j in 0..x.ncols() {
        for ((o, &a), &b) in out.iter_mut().zip(col(x, j)).zip(col(y, j)) {
            *o += a * b;
        }
    }
    out
}

/// `acc_kj += c Σ_b (a_j − b_k)²` = `c (S_a[j] + S_b[k] − 2 (B Aᵀ)_kj)` with S the batch sums of squares.
fn co_content<T: Real>(a: &Mat<T>, b: &Mat<T>, c: T, acc: &mut Mat<T>, par: Par) {
    let two = T::lit(2.0);
    matmul(acc.as_mut(), Accum::Add, b, a.transpose(), -two * c, par);
    let sq = |m: &Mat<T>| -> Vec<T> {
        let mut out = vec![T::zero(); m.nrows()];
        for j in 0..m.ncols() {
            for (o, &x) in out.iter_mut().zip(col(m, j)) {
                *o += x * x;
            }
        }
        out
    };
    let (sa, sb) = (sq(a), sq(b));
    for j in 0..acc.ncols() {
        for (k, x) in col_mut(acc, j).iter_mut().enumerate() {
            *x += c * (sa[j] + sb[k]);
        }
    }
}

fn add_row_sums<T: Real>(m: &Mat<T>, c: T, out: &mut [T]) {
    for j in 0..m.ncols() {
        for (o, &x) in out.iter_mut().zip(col(m, j)) {
            *o += c * x;
        }
    }
}
