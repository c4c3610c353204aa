//! The forces ∂Φ/∂u, ∂Φ/∂v of a batch: the couplings as GEMMs (one fused pass per weight
//! matrix for a single example), then the local terms in one element-wise pass per layer.

use super::coupling::Coupling;
use super::elementwise::{col, col_mut, zip_map};
use super::energy::{with_energy, Energy};
use super::{BatchState, LayeredNet, Nudge, Real, Workspace};
use faer::{Accum, Mat, Par};

impl<T: Real> LayeredNet<T> {
    /// Precomputes the constant drive of the clamped input on layer 1 (once per batch).
    pub fn prepare_input(&self, st: &BatchState<T>, ws: &mut Workspace<T>, par: Par) {
        let x = self.input_activity(st, &mut ws.act);
        let w0 = &self.weights[0];
        w0.apply(
            x.as_ref(),
            ws.input_drive.as_mut(),
            T::one(),
            Accum::Replace,
            par,
        );
        if self.model.has_inhibitor() && self.model.inhibitor_coupling {
            let v0 = st.v[0].as_ref();
            w0.apply(v0, ws.input_drive_v.as_mut(), T::one(), Accum::Replace, par);
        }
    }

    pub(super) fn input_activity<'a>(
        &self,
        st: &'a BatchState<T>,
        act: &'a mut [Mat<T>],
    ) -> &'a Mat<T> {
        with_energy!(&self.model, e => activity(&e, &st.u, act, 0))
    }

    /// Computes the forces ∂Φ/∂u (into `ws.gu`) and ∂Φ/∂v (into `ws.gv`) for layers 1..=L.
    pub fn forces(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) {
        with_energy!(&self.model, e => self.forces_of(&e, st, ws, nudge, par))
    }

    fn forces_of<E: Energy<T>>(
        &self,
        e: &E,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) {
        let nl = self.layers();
        if !E::LINEAR {
            for l in 1..nl {
                zip_map(ws.act[l].as_mut(), st.u[l].as_ref(), E::rho);
            }
        }
        let p = self.model.fhn;
        // Coupling currents: gu_l = c (W^{l−1} ρ_{l−1} + W^{lT} ρ_{l+1}).
        {
            let act = &ws.act;
            let a = |m: usize| if E::LINEAR { &st.u[m] } else { &act[m] };
            self.couple(&ws.input_drive, a, &mut ws.gu, e.coupling_gain(), par);
        }
        let inhib = self.model.has_inhibitor();
        if inhib && self.model.inhibitor_coupling {
            let cv = T::lit(p.inhibitor_gain());
            self.couple(&ws.input_drive_v, |m| &st.v[m], &mut ws.gv, cv, par);
        }
        // Local (element-wise) terms, fused in one pass per layer.
        let local = p.local::<T>();
        let cv = local.inhibitor_gain;
        for l in 1..nl {
            let out = l + 1 == nl;
            let (bias, diag) = (&self.biases[l - 1], &ws.diag[l]);
            for b in 0..ws.batch {
                let u = col(&st.u[l], b);
                let v = col(&st.v[l], b);
                let y = nudge.filter(|_| out).map(|n| (col(n.target, b), n.gain));
                let gu = col_mut(&mut ws.gu[l], b);
                // Zipped iterators (no bounds checks) so that these loops vectorise.
                for ((((g, &uk), &vk), &d), &bk) in gu.iter_mut().zip(u).zip(v).zip(diag).zip(bias)
                {
                    *g = e.force(*g, uk, vk, d, bk);
                }
                if let Some((y, beta)) = y {
                    for ((g, &uk), &yk) in gu.iter_mut().zip(u).zip(y) {
                        *g += beta * (uk - yk);
                    }
                }
                if inhib {
                    let gv = col_mut(&mut ws.gv[l], b);
                    if self.model.inhibitor_coupling {
                        for (((g, &uk), &vk), &d) in gv.iter_mut().zip(u).zip(v).zip(diag) {
                            *g += local.inhibitor(uk, vk) - cv * d * vk;
                        }
                    } else {
                        for ((g, &uk), &vk) in gv.iter_mut().zip(u).zip(v) {
                            *g = local.inhibitor(uk, vk);
                        }
                    }
                }
            }
        }
    }

    /// Coupling currents `out_l = c (W^{l−1} a_{l−1} + W^{lT} a_{l+1})` for l = 1..=L, with the
    /// constant input term `W⁰ a_0 = drive` precomputed by [`Self::prepare_input`].
    pub(super) fn couple<'a>(
        &self,
        drive: &Mat<T>,
        a: impl Fn(usize) -> &'a Mat<T>,
        out: &mut [Mat<T>],
        c: T,
        par: Par,
    ) where
        T: 'a,
    {
        let nl = self.layers();
        if drive.ncols() == 1 {
            // One example: each weight matrix is streamed once for both of its products.
            zip_map(out[1].as_mut(), drive.as_ref(), |x| c * x);
            for g in out[2..nl].iter_mut() {
                g.fill(T::zero());
            }
            for m in 1..nl - 1 {
                let (lo, hi) = out.split_at_mut(m + 1);
                let (down, up) = (col_mut(&mut lo[m], 0), col_mut(&mut hi[0], 0));
                self.weights[m].apply_both(col(a(m), 0), col(a(m + 1), 0), c, up, down);
            }
            return;
        }
        for l in 1..nl {
            let g = &mut out[l];
            if l == 1 {
                zip_map(g.as_mut(), drive.as_ref(), |x| c * x);
            } else {
                self.weights[l - 1].apply(a(l - 1).as_ref(), g.as_mut(), c, Accum::Replace, par);
            }
            if l + 1 < nl {
                self.weights[l].apply_transposed(a(l + 1).as_ref(), g.as_mut(), c, Accum::Add, par);
            }
        }
    }
}

/// ρ(u^l) of an energy: the state itself when ρ is the identity, else written to `act[l]`.
pub(super) fn activity<'a, T: Real, E: Energy<T>>(
    _e: &E,
    u: &'a [Mat<T>],
    act: &'a mut [Mat<T>],
    l: usize,
) -> &'a Mat<T> {
    if E::LINEAR {
        &u[l]
    } else {
        zip_map(act[l].as_mut(), u[l].as_ref(), E::rho);
        &act[l]
    }
}
