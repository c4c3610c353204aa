//! Relaxation of a batch to its equilibrium: explicit Euler, Jacobi, Anderson, red-black and
//! Newton steps, the divergence checks and the residual ‖∂Φ/∂s‖∞.

use super::elementwise::{col, col_mut, zip_update};
use super::energy::{with_energy, Energy};
use super::relaxer::relaxer;
use super::{node_offsets, BatchState, LayeredNet, Nudge, Real, Solver, Workspace};
use crate::error::{Error, Result};
use faer::Par;

/// One relaxation phase: what [`LayeredNet::relax`] minimises and how far.
#[derive(Clone, Copy)]
pub struct Phase<'a, T: Real> {
    /// The cost's force (None: the free phase).
    pub nudge: Option<Nudge<'a, T>>,
    /// Step size (unused by red-black sweeps; Newton takes its Jacobi guess steps with it).
    pub dt: T,
    /// Most steps (sweeps) taken.
    pub max_steps: usize,
    /// Stop once ‖∂Φ/∂s‖∞ ≤ tol (0: run all steps).
    pub tol: f64,
    /// The method.
    pub solver: Solver,
}

impl<T: Real> LayeredNet<T> {
    /// One relaxation step of size `dt` (computes the forces first).
    ///
    /// [`Solver::Euler`]: `u ← u − dt/τ_u · ∂Φ/∂u`, `v ← v + dt ε/τ_v · ∂Φ/∂v` (paper §III).
    /// [`Solver::Jacobi`]: the activator step is divided by `1 + dt/τ_u · max(0, h)`, with
    /// `h = d_u(diag + g₀) + 3u² − 1 (+ β at the output)` the diagonal of ∂²Φ/∂u²: a diagonally
    /// preconditioned (semi-implicit) step with the same fixed points that stays stable where
    /// Euler explodes on stiff nodes.
    pub fn step(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        solver: Solver,
        par: Par,
    ) {
        if solver == Solver::RedBlack && self.model.block_sweep_supported().is_ok() {
            return self.block_sweep(st, ws, nudge, par);
        }
        self.forces(st, ws, nudge, par);
        self.apply_step(st, ws, nudge, dt, solver);
    }

    /// The update of [`Self::step`] from the forces already in `ws`.
    pub(super) fn apply_step(
        &self,
        st: &mut BatchState<T>,
        ws: &Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        solver: Solver,
    ) {
        let p = self.model.fhn;
        let kv = dt * T::lit(p.eps / p.tau_v);
        let inhib = self.model.has_inhibitor();
        let nl = self.layers();
        for l in 1..nl {
            let (u, g) = (st.u[l].as_mut(), ws.gu[l].as_ref());
            let out_beta = nudge
                .filter(|_| l + 1 == nl)
                .map_or(T::zero(), |n| n.gain.max(T::zero()));
            let stiffness = &ws.stiffness[l];
            with_energy!(&self.model, e => e.step(u, g, dt, solver, stiffness, out_beta));
            if inhib {
                zip_update(st.v[l].as_mut(), ws.gv[l].as_ref(), kv, None);
            }
        }
    }

    /// At most `phase.max_steps` steps of `phase.solver`, stopping once ‖∂Φ/∂s‖∞ ≤ `phase.tol`
    /// (read off each step's own forces, so the test costs no extra force evaluation; `tol = 0`
    /// runs all steps). Non-finite or runaway states (|u| > 1e6) are reported with the step and
    /// the layer. Returns the number of force evaluations (steps) taken; call
    /// [`Self::residual`] for ‖∂Φ/∂s‖∞ afterwards. The method is a [`Relaxer`](super::relaxer::Relaxer)
    /// (`layered::relaxer`), picked by `phase.solver`.
    pub fn relax(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: Phase<T>,
        par: Par,
    ) -> Result<usize> {
        relaxer::<T>(phase.solver).relax(self, st, ws, &phase, par)
    }

    /// Newton polishing of every example of the batch on the f64 graph view.
    pub(super) fn newton_polish(
        &self,
        st: &mut BatchState<T>,
        nudge: Option<Nudge<T>>,
    ) -> Result<()> {
        let net64 = self.to_f64();
        let off = node_offsets(&self.model.widths);
        let last = self.layers() - 1;
        for b in 0..st.u[0].ncols() {
            let x: Vec<f64> = col(&st.u[0], b).iter().map(|v| v.as_f64()).collect();
            let g = net64.as_graph(&x)?;
            let mut s = g.initial_state();
            for l in 1..self.layers() {
                for (k, (&u, &v)) in col(&st.u[l], b).iter().zip(col(&st.v[l], b)).enumerate() {
                    s.u[off[l] + k] = u.as_f64();
                    s.v[off[l] + k] = v.as_f64();
                }
            }
            let cost = nudge.map(|n| crate::network::Cost {
                outputs: (0..self.model.widths[last])
                    .map(|k| off[last] + k)
                    .collect(),
                targets: col(n.target, b).iter().map(|v| v.as_f64()).collect(),
            });
            let beta = nudge.map_or(0.0, |n| n.gain.as_f64());
            crate::solvers::newton(&g, &mut s, cost.as_ref().map(|c| (c, beta)), 1e-10, 50)?;
            for l in 1..self.layers() {
                for k in 0..self.model.widths[l] {
                    col_mut(&mut st.u[l], b)[k] = T::lit(s.u[off[l] + k]);
                    col_mut(&mut st.v[l], b)[k] = T::lit(s.v[off[l] + k]);
                }
            }
        }
        Ok(())
    }

    pub(super) fn check_state(&self, st: &BatchState<T>, step: usize) -> Result<()> {
        let limit = T::lit(1e6);
        for l in 1..self.layers() {
            let all =
                (0..st.u[l].ncols()).flat_map(|b| col(&st.u[l], b).iter().chain(col(&st.v[l], b)));
            let bad = all.copied().find(|x| x.is_nan() || x.abs() > limit);
            if let Some(x) = bad {
                return Err(Error::Diverged(format!(
                    "state {} at relaxation step {step}, layer {l}",
                    x.as_f64()
                )));
            }
        }
        Ok(())
    }

    /// Residual ‖∂Φ/∂s‖∞ (for Hopfield: the projected gradient |u − clip(u − ∂E/∂u)|).
    pub fn residual(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) -> f64 {
        self.forces(st, ws, nudge, par);
        self.force_norm(st, ws)
    }

    /// [`Self::residual`] from the forces already in `ws`; NaN when any force is NaN (a plain
    /// `max` fold would drop it and report a broken state as converged).
    pub(super) fn force_norm(&self, st: &BatchState<T>, ws: &Workspace<T>) -> f64 {
        with_energy!(&self.model, e => self.force_norm_of(&e, st, ws))
    }

    fn force_norm_of<E: Energy<T>>(&self, _e: &E, st: &BatchState<T>, ws: &Workspace<T>) -> f64 {
        let max = |m: f64, x: f64| {
            if m.is_nan() || x.is_nan() || x > m {
                if m.is_nan() {
                    m
                } else {
                    x
                }
            } else {
                m
            }
        };
        let mut r: f64 = 0.0;
        for l in 1..self.layers() {
            for j in 0..st.u[l].ncols() {
                let (u, g) = (col(&st.u[l], j), col(&ws.gu[l], j));
                r = u
                    .iter()
                    .zip(g)
                    .fold(r, |m, (&u, &g)| max(m, E::residual(u.as_f64(), g.as_f64())));
                if self.model.has_inhibitor() {
                    r = col(&ws.gv[l], j)
                        .iter()
                        .fold(r, |m, &x| max(m, x.as_f64().abs()));
                }
            }
        }
        r
    }
}
