//! The parameter gradient ∂Φ/∂θ at a state, and the EqProp estimate from two phases.

use super::coupling::Coupling;
use super::elementwise::{col, col_mut};
use super::energy::{with_energy, Energy};
use super::forces::activity;
use super::{BatchState, Grads, LayeredNet, Real, Workspace};
use faer::{Mat, Par};

impl<T: Real> LayeredNet<T> {
    /// Adds `sign · ∂Φ/∂θ` at state `st`, summed over the batch, to `acc`.
    /// FHN: `½ d_u Σ_b (u_j − u_k)²` per conductance via one GEMM `U_{l+1} U_lᵀ`;
    /// Hopfield: `−Σ_b ρ(u_k) ρ(u_j)`.
    pub fn accumulate_param_grad(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        sign: T,
        acc: &mut Grads<T>,
        par: Par,
    ) {
        with_energy!(&self.model, e => self.param_grad_of(&e, st, ws, sign, acc, par))
    }

    fn param_grad_of<E: Energy<T>>(
        &self,
        e: &E,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        sign: T,
        acc: &mut Grads<T>,
        par: Par,
    ) {
        if !E::LINEAR {
            for l in 0..self.layers() {
                activity(e, &st.u, &mut ws.act, l);
            }
        }
        let rho = |l: usize| if E::LINEAR { &st.u[l] } else { &ws.act[l] };
        let inhib = self.model.has_inhibitor() && self.model.inhibitor_coupling;
        let half_cv = T::lit(-0.5 * self.model.fhn.inhibitor_gain());
        for l in 0..self.model.depth() {
            if E::CO_CONTENT {
                let c = sign * e.weight_gain();
                co_content(rho(l), rho(l + 1), c, &mut acc.w[l], par);
            } else {
                let (a, b) = (rho(l), rho(l + 1));
                Mat::add_outer(&mut acc.w[l], b.as_ref(), a.as_ref(), -sign, par);
            }
            if inhib {
                co_content(&st.v[l], &st.v[l + 1], sign * half_cv, &mut acc.w[l], par);
            }
        }
        for l in 1..self.layers() {
            add_row_sums(rho(l), -sign, &mut acc.b[l - 1]);
        }
    }

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
        with_energy!(&self.model, e => self.difference_of(&e, plus, minus, ws, c, acc, par))
    }

    #[allow(clippy::too_many_arguments)]
    fn difference_of<E: Energy<T>>(
        &self,
        e: &E,
        plus: &BatchState<T>,
        minus: &BatchState<T>,
        ws: &mut Workspace<T>,
        c: T,
        acc: &mut Grads<T>,
        par: Par,
    ) {
        let mut variables = vec![(&plus.u, &minus.u, true)];
        if self.model.has_inhibitor() && self.model.inhibitor_coupling {
            variables.push((&plus.v, &minus.v, false));
        }
        for (sp, sm, activator) in variables {
            let scale = if activator {
                e.weight_gain()
            } else {
                T::lit(-0.5 * self.model.fhn.inhibitor_gain())
            };
            for l in 0..self.layers() {
                let (d, m) = (&mut ws.delta[l], &mut ws.sum[l]);
                let rho = |x: T| if activator { E::rho(x) } else { x };
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
            for l in 0..self.model.depth() {
                let (da, ma, db, mb) = (&ws.delta[l], &ws.sum[l], &ws.delta[l + 1], &ws.sum[l + 1]);
                let g = &mut acc.w[l];
                Mat::add_outer(g, db.as_ref(), ma.as_ref(), -c * scale, par);
                // A clamped layer (the input) is the same in both phases: δ = 0 exactly, and
                // its GEMM (the largest, at layer 0) would add zeros.
                if (0..da.ncols()).any(|j| col(da, j).iter().any(|&x| x != T::zero())) {
                    Mat::add_outer(g, mb.as_ref(), da.as_ref(), -c * scale, par);
                }
                if E::CO_CONTENT {
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
    Mat::add_outer(acc, b.as_ref(), a.as_ref(), -two * c, par);
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
