//! The relaxation methods behind one interface, [`Relaxer`]: explicit Euler and Jacobi
//! steps, Jacobi with Anderson acceleration, exact red-black block sweeps, and Newton's method
//! on the graph view after a Jacobi guess. [`super::Solver`] names one; [`relaxer`] returns it.

use super::{anderson, BatchState, LayeredNet, Phase, Real, Solver, Workspace};
use crate::error::{Error, Result};
use faer::Par;

/// A method that relaxes a batch towards its equilibrium.
pub trait Relaxer<T: Real> {
    /// Relaxes `st` under `phase` (nudge, step, budget, tolerance); returns the steps taken.
    fn relax(
        &self,
        net: &LayeredNet<T>,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: &Phase<T>,
        par: Par,
    ) -> Result<usize>;
}

/// Explicit Euler or diagonally preconditioned (Jacobi) steps, as `phase.solver` says.
pub struct Stepping;

/// Jacobi steps with Anderson acceleration (memory `ws.anderson_memory`, per example).
pub struct Accelerated;

/// Exact layer-wise red-black sweeps (`layered::blocks`).
pub struct RedBlack;

/// Jacobi steps as a guess, then Newton's method per example on the f64 graph view.
pub struct Newton;

/// The relaxer `solver` names.
pub fn relaxer<T: Real>(solver: Solver) -> &'static dyn Relaxer<T> {
    match solver {
        Solver::Euler | Solver::Jacobi => &Stepping,
        Solver::Anderson => &Accelerated,
        Solver::RedBlack => &RedBlack,
        Solver::Newton => &Newton,
    }
}

impl<T: Real> Relaxer<T> for Stepping {
    fn relax(
        &self,
        net: &LayeredNet<T>,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: &Phase<T>,
        par: Par,
    ) -> Result<usize> {
        steps(net, st, ws, phase, par, None)
    }
}

impl<T: Real> Relaxer<T> for Accelerated {
    fn relax(
        &self,
        net: &LayeredNet<T>,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: &Phase<T>,
        par: Par,
    ) -> Result<usize> {
        let n = anderson::packed_len(&net.model.widths, net.model.has_inhibitor());
        let mut a = ws
            .anderson
            .take()
            .filter(|a| a.fits(ws.anderson_memory, n, ws.batch))
            .unwrap_or_else(|| anderson::Anderson::new(ws.anderson_memory, n, ws.batch));
        a.reset();
        let out = steps(net, st, ws, phase, par, Some(&mut a));
        ws.anderson = Some(a);
        out
    }
}

impl<T: Real> Relaxer<T> for RedBlack {
    fn relax(
        &self,
        net: &LayeredNet<T>,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: &Phase<T>,
        par: Par,
    ) -> Result<usize> {
        net.relax_blocks(st, ws, phase.nudge, phase.max_steps, phase.tol, par)
    }
}

impl<T: Real> Relaxer<T> for Newton {
    fn relax(
        &self,
        net: &LayeredNet<T>,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        phase: &Phase<T>,
        par: Par,
    ) -> Result<usize> {
        let taken = steps(net, st, ws, phase, par, None)?;
        net.newton_polish(st, phase.nudge)?;
        Ok(taken)
    }
}

/// The stepping loop shared by Euler, Jacobi, Anderson and Newton's guess: forces, the
/// tolerance test on them, one step (Anderson-mixed when `accel` is given), divergence checks.
fn steps<T: Real>(
    net: &LayeredNet<T>,
    st: &mut BatchState<T>,
    ws: &mut Workspace<T>,
    phase: &Phase<T>,
    par: Par,
    mut accel: Option<&mut anderson::Anderson<T>>,
) -> Result<usize> {
    let Phase {
        nudge,
        dt,
        max_steps,
        tol,
        solver,
    } = *phase;
    let with_v = net.model.has_inhibitor();
    let (mut taken, mut last) = (0, f64::INFINITY);
    for s in 0..max_steps {
        net.forces(st, ws, nudge, par);
        let r = if tol > 0.0 || accel.is_some() {
            net.force_norm(st, ws)
        } else {
            f64::INFINITY
        };
        if r <= tol {
            break;
        }
        if r.is_nan() {
            net.check_state(st, s)?;
            return Err(Error::Diverged(format!(
                "non-finite forces at relaxation step {s}"
            )));
        }
        if let Some(a) = accel.as_deref_mut() {
            // Safeguard: in the nonlinear transient the history can mislead; restart it
            // when the residual grows well above the best since the last restart.
            if r > 4.0 * last {
                a.reset();
                last = r;
            }
            last = last.min(r);
            a.before(st, with_v);
        }
        net.apply_step(st, ws, nudge, dt, solver);
        if let Some(a) = accel.as_deref_mut() {
            a.after(st, with_v);
        }
        taken += 1;
        if s % 8 == 7 || s + 1 == max_steps {
            net.check_state(st, s)?;
        }
    }
    Ok(taken)
}
