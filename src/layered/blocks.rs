//! Exact layer-wise (red-black block) relaxation of layered networks (FHN and Hopfield; the
//! unit minimisers are the energies' [`Energy::exact`]).
//!
//! Layers couple only to their neighbours, so given the even layers the odd ones are
//! independent, and each unit's equilibrium given its neighbours is a scalar equation. With a
//! local inhibitor at its own equilibrium, `v = (u − β)/α` (ε ≠ 0; v ≡ 0 when ε = 0), the
//! activator equation ∂Φ/∂u = 0 (docs/MODEL.md §5) becomes the cubic
//! `u³ + p u − r = 0`, `p = d_u(diag + g₀) − 1 + 1/α (+ β_n at the output)`,
//! `r = d_u I + b + β/α (+ β_n y)`, with I the coupling current `W^{l−1}u_{l−1} + W^{lᵀ}u_{l+1}`.
//! A sweep sets the odd layers to their roots, then the even ones: each layer's GEMMs are
//! computed once per sweep, as in one Jacobi step, but the nudge crosses two layers per sweep
//! and no step size limits it (the "asynchronous" minimiser of deep EqProp practice). When the
//! cubic has three real roots (p < 0, bistable units) the one on the current value's side of
//! the middle (unstable) root is taken: the equilibrium descent from there reaches. For the
//! Hopfield energy a unit's energy on [0, 1] is the quadratic `½(1 + β_n)u² − (I + b + β_n y)u`,
//! minimised by a clipped linear solve.

use super::coupling::Coupling;
use super::energy::{with_energy, Energy};
use super::{col, col_mut, BatchState, Kind, LayeredNet, Nudge, Real, Workspace};
use crate::error::{Error, Result};
use faer::{Accum, Par};

/// The real root of `u³ + p u − r = 0` reached from `cur` (see the module docs).
pub(crate) fn cubic_root(p: f64, r: f64, cur: f64) -> f64 {
    if p > 0.0 {
        // Monotone cubic, one root: Newton from the current value (close after the first
        // sweeps) converges in two or three steps; the closed form below only when it has not.
        let mut u = cur;
        for _ in 0..4 {
            let step = (u * u * u + p * u - r) / (3.0 * u * u + p);
            u -= step;
            if step.abs() <= 1e-10 * (1.0 + u.abs()) {
                return u;
            }
        }
    }
    let disc = (r / 2.0).powi(2) + (p / 3.0).powi(3);
    let mut u = if disc >= 0.0 {
        // One real root (Cardano, in the form without cancellation).
        let a = (r.abs() / 2.0 + disc.sqrt()).cbrt().copysign(r);
        if a == 0.0 {
            0.0
        } else {
            a - p / (3.0 * a)
        }
    } else {
        // Three real roots m·cos(θ − 2πk/3): largest (k = 0), middle (1), smallest (2).
        let m = 2.0 * (-p / 3.0).sqrt();
        let arg = ((-3.0 * r) / (2.0 * p) * (-3.0 / p).sqrt()).clamp(-1.0, 1.0);
        let theta = arg.acos() / 3.0;
        let root = |k: f64| m * (theta - 2.0 * std::f64::consts::PI * k / 3.0).cos();
        let (hi, mid, lo) = (root(0.0), root(1.0), root(2.0));
        if cur > mid {
            hi
        } else {
            lo
        }
    };
    // One Newton step polishes the closed form's rounding.
    let d = 3.0 * u * u + p;
    if d.abs() > 1e-12 {
        u -= (u * u * u + p * u - r) / d;
    }
    u
}

impl super::LayeredModel {
    /// Whether red-black sweeps apply: Hopfield, or FHN without inhibitor coupling (and α ≠ 0
    /// when the inhibitor is dynamic).
    pub fn block_sweep_supported(&self) -> Result<()> {
        if self.kind == Kind::Fhn
            && self.has_inhibitor()
            && (self.inhibitor_coupling || self.fhn.alpha == 0.0)
        {
            return Err(Error::Invalid(
                "solver = \"redblack\" needs kind = \"hopfield\", or \"fhn\" without inhibitor coupling (and α ≠ 0)"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl<T: Real> LayeredNet<T> {
    /// One red-black sweep: odd layers, then even layers, each unit set to its energy's exact
    /// minimiser given its neighbours ([`Energy::exact`]).
    pub fn block_sweep(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) {
        with_energy!(&self.model, e => self.block_sweep_of(&e, st, ws, nudge, par))
    }

    fn block_sweep_of<E: Energy<T>>(
        &self,
        e: &E,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) {
        let (nl, p) = (self.layers(), self.model.fhn);
        let inhib = self.model.has_inhibitor();
        if !E::LINEAR {
            // States enter the sweep on the energy's domain, where ρ(u) = u (Hopfield: [0, 1]).
            for u in &mut st.u[1..] {
                for b in 0..u.ncols() {
                    col_mut(u, b).iter_mut().for_each(|x| *x = E::rho(*x));
                }
            }
        }
        for parity in [1, 0] {
            for l in (1..nl).filter(|l| l % 2 == parity) {
                // I_l = W^{l−1} u_{l−1} + W^{lᵀ} u_{l+1} into ws.gu[l] (layer 1: the input drive).
                if l == 1 {
                    ws.gu[1].copy_from(&ws.input_drive);
                } else {
                    let (w, x) = (&self.weights[l - 1], st.u[l - 1].as_ref());
                    w.apply(x, ws.gu[l].as_mut(), T::one(), Accum::Replace, par);
                }
                if l + 1 < nl {
                    let (w, y) = (&self.weights[l], st.u[l + 1].as_ref());
                    w.apply_transposed(y, ws.gu[l].as_mut(), T::one(), Accum::Add, par);
                }
                let out = l + 1 == nl;
                let (bn, y) = match nudge.filter(|_| out) {
                    Some(n) => (n.gain.as_f64(), Some(n.target)),
                    None => (0.0, None),
                };
                for b in 0..st.u[l].ncols() {
                    let (cur, stiff, bias) =
                        (col(&ws.gu[l], b), &ws.stiffness[l], &self.biases[l - 1]);
                    let yb = y.map(|y| col(y, b));
                    let u = col_mut(&mut st.u[l], b);
                    for k in 0..u.len() {
                        let yk = yb.map_or(0.0, |y| y[k].as_f64());
                        let (i, s, bk) = (cur[k].as_f64(), stiff[k].as_f64(), bias[k].as_f64());
                        u[k] = T::lit(e.exact(i, s, bk, (bn, yk), u[k].as_f64()));
                    }
                }
                if inhib {
                    let (us, vs) = (&st.u[l], &mut st.v[l]);
                    for b in 0..us.ncols() {
                        let (u, v) = (col(us, b), col_mut(vs, b));
                        for (vk, &uk) in v.iter_mut().zip(u) {
                            *vk = T::lit((uk.as_f64() - p.beta) / p.alpha);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_roots_solve_the_cubic_on_the_right_branch() {
        for &(p, r) in &[
            (2.0, 0.3),
            (0.5, -4.0),
            (0.0, 1e-3),
            (-0.074, 0.0),
            (-0.074, 0.01),
            (-3.0, 1.0),
            (-3.0, -1.0),
            (1e-9, 0.0),
        ] {
            for cur in [-5.0, -0.01, 0.01, 5.0] {
                let u = cubic_root(p, r, cur);
                assert!((u * u * u + p * u - r).abs() < 1e-12, "p {p} r {r}: {u}");
                // A stable root: the energy ¼u⁴ + ½pu² − ru has a minimum there.
                assert!(
                    3.0 * u * u + p >= -1e-12,
                    "p {p} r {r} cur {cur}: unstable root {u}"
                );
            }
        }
        // p > 0 from far away: Newton's fast path or its fallback still lands on the root.
        for cur in [-1e6, 1e6, f64::MAX.sqrt()] {
            let u = cubic_root(0.3, 2.0, cur);
            assert!((u * u * u + 0.3 * u - 2.0).abs() < 1e-12, "{cur}: {u}");
        }
        // Bistable: the branch follows the current value's side.
        assert!(cubic_root(-3.0, 0.1, 1.0) > 1.0 && cubic_root(-3.0, 0.1, -1.0) < -1.0);
    }
}

impl<T: Real> LayeredNet<T> {
    /// [`Self::relax`] for [`super::Solver::RedBlack`]: at most `max_sweeps` sweeps,
    /// stopping once ‖∂Φ/∂s‖∞ ≤ `tol` (checked before each sweep only when `tol > 0`: a check
    /// costs a force evaluation). Returns the sweeps taken.
    pub(super) fn relax_blocks(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        max_sweeps: usize,
        tol: f64,
        par: Par,
    ) -> Result<usize> {
        self.model.block_sweep_supported()?;
        let mut taken = 0;
        for s in 0..max_sweeps {
            if tol > 0.0 {
                self.forces(st, ws, nudge, par);
                let r = self.force_norm(st, ws);
                if r <= tol {
                    break;
                }
                if r.is_nan() {
                    self.check_state(st, s)?;
                    return Err(Error::Diverged(format!("non-finite forces at sweep {s}")));
                }
            }
            self.block_sweep(st, ws, nudge, par);
            taken += 1;
            if s % 8 == 7 || s + 1 == max_sweeps {
                self.check_state(st, s)?;
            }
        }
        Ok(taken)
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod sweep_tests;
