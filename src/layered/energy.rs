//! The energies a layered network relaxes, as implementations of one interface. A model
//! defines only its terms: the activation ρ through which layers couple, the coupling's gain,
//! the local force of a unit, how a step moves its state, its residual, and the form of
//! ∂Φ/∂W. The forces (`forces.rs`), the relaxation (`relax.rs`) and the EqProp estimate
//! (`grad.rs`) are written once against [`Energy`]; [`super::Kind`] only picks the
//! implementation.

use super::elementwise::{jacobi_update, zip_update};
use super::{LayeredModel, Real, Solver};
use crate::model::Local;
use faer::{MatMut, MatRef};

/// The terms of an energy over layered states (docs/MODEL.md §5).
pub trait Energy<T: Real>: Copy + Sync {
    /// Whether ρ is the identity (the couplings then read the states directly).
    const LINEAR: bool;
    /// Whether ∂Φ/∂W is a co-content `c (a_j − b_k)²` (its square terms are added to the GEMM
    /// term `−2c b aᵀ`); otherwise it is the product `−ρ(u^{l+1}) ρ(u^l)ᵀ`.
    const CO_CONTENT: bool;
    /// The activation ρ through which layers couple.
    fn rho(x: T) -> T;
    /// The coupling current's gain c in `c (W^{l−1} ρ_{l−1} + W^{lT} ρ_{l+1})`.
    fn coupling_gain(&self) -> T;
    /// ∂Φ/∂u of one unit from its coupling current `g`, its state, its Laplacian diagonal
    /// and its bias.
    fn force(&self, g: T, u: T, v: T, diag: T, bias: T) -> T;
    /// One step of the activators of a layer from their forces `g` (step `dt`, `solver`;
    /// `stiffness` and `out_beta` feed the Jacobi preconditioner).
    fn step(&self, u: MatMut<T>, g: MatRef<T>, dt: T, solver: Solver, stiffness: &[T], out_beta: T);
    /// One component of the residual ‖∂Φ/∂s‖∞ (Hopfield: the projected gradient).
    fn residual(u: f64, g: f64) -> f64;
    /// The scale of ∂Φ/∂W's terms (`c` above).
    fn weight_gain(&self) -> T;
    /// The unit's state that minimises Φ given its neighbours (red-black sweeps, `blocks.rs`):
    /// `drive` is the coupling sum `W^{l−1}ρ_{l−1} + W^{lᵀ}ρ_{l+1}`, `stiffness` the solver's
    /// constant curvature of the unit, `nudge` = (β_n, y) at the output ((0, 0) elsewhere),
    /// `cur` the current state (it picks the branch where there are two minima).
    fn exact(&self, drive: f64, stiffness: f64, bias: f64, nudge: (f64, f64), cur: f64) -> f64;
}

/// Diffusive FitzHugh–Nagumo units: `Φ` of docs/MODEL.md §5 (conductances between
/// activators, a leak to ground, the FHN free energy).
#[derive(Clone, Copy, Debug)]
pub struct Fhn<T> {
    d_u: T,
    leak: T,
    tau_u: T,
    local: Local<T>,
    /// `(d_u, 1/α, β/α)` in f64 for [`Energy::exact`] (1/α, β/α zero without an inhibitor).
    cubic: (f64, f64, f64),
}

impl<T: Real> Fhn<T> {
    /// The FHN energy of `model`.
    pub fn new(model: &LayeredModel) -> Self {
        let p = model.fhn;
        let (cv, cb) = if model.has_inhibitor() {
            (1.0 / p.alpha, p.beta / p.alpha)
        } else {
            (0.0, 0.0)
        };
        Self {
            d_u: T::lit(p.d_u),
            leak: T::lit(model.leak),
            tau_u: T::lit(p.tau_u),
            local: p.local(),
            cubic: (p.d_u, cv, cb),
        }
    }
}

impl<T: Real> Energy<T> for Fhn<T> {
    const LINEAR: bool = true;
    const CO_CONTENT: bool = true;

    #[inline(always)]
    fn rho(x: T) -> T {
        x
    }

    fn coupling_gain(&self) -> T {
        -self.d_u
    }

    #[inline(always)]
    fn force(&self, g: T, u: T, v: T, diag: T, bias: T) -> T {
        g + (self.d_u * (diag + self.leak) * u - self.local.activator(u, v) - bias)
    }

    fn step(
        &self,
        u: MatMut<T>,
        g: MatRef<T>,
        dt: T,
        solver: Solver,
        stiffness: &[T],
        out_beta: T,
    ) {
        let ku = dt / self.tau_u;
        match solver {
            Solver::Euler => zip_update(u, g, -ku, None),
            _ => jacobi_update(u, g, ku, stiffness, out_beta),
        }
    }

    #[inline(always)]
    fn residual(_u: f64, g: f64) -> f64 {
        g.abs()
    }

    fn weight_gain(&self) -> T {
        T::lit(0.5) * self.d_u
    }

    /// With the local inhibitor at its equilibrium `v = (u − β)/α` (v ≡ 0 when ε = 0),
    /// ∂Φ/∂u = 0 is the cubic `u³ + p u − r = 0`, `p = stiffness + 1/α + β_n`,
    /// `r = d_u I + b + β/α + β_n y` (docs/MODEL.md §5).
    fn exact(&self, drive: f64, stiffness: f64, bias: f64, nudge: (f64, f64), cur: f64) -> f64 {
        let ((d_u, cv, cb), (bn, y)) = (self.cubic, nudge);
        let p = stiffness + cv + bn;
        let r = d_u * drive + bias + cb + bn * y;
        super::blocks::cubic_root(p, r, cur)
    }
}

/// The Scellier–Bengio Hopfield energy `E = ½Σu² − Σ ρ(u^{l+1})ᵀW^l ρ(u^l) − Σ bᵀρ(u)` with
/// the hard sigmoid ρ = clip(·, 0, 1); states live in [0, 1].
#[derive(Clone, Copy, Debug, Default)]
pub struct Hopfield;

impl<T: Real> Energy<T> for Hopfield {
    const LINEAR: bool = false;
    const CO_CONTENT: bool = false;

    #[inline(always)]
    fn rho(x: T) -> T {
        x.max(T::zero()).min(T::one())
    }

    fn coupling_gain(&self) -> T {
        -T::one()
    }

    #[inline(always)]
    fn force(&self, g: T, u: T, _v: T, _diag: T, bias: T) -> T {
        let on = if u >= T::zero() && u <= T::one() {
            T::one()
        } else {
            T::zero()
        };
        u + on * (g - bias)
    }

    fn step(&self, u: MatMut<T>, g: MatRef<T>, dt: T, _: Solver, _: &[T], _: T) {
        zip_update(u, g, -dt, Some((T::zero(), T::one())));
    }

    #[inline(always)]
    fn residual(u: f64, g: f64) -> f64 {
        (u - (u - g).clamp(0.0, 1.0)).abs()
    }

    fn weight_gain(&self) -> T {
        // E = −Σ ρᵀWρ: the minus sign of the GEMM term is already E's.
        T::lit(0.5)
    }

    /// On [0, 1] the unit's energy is `½a u² − r u`, `a = 1 + β_n`, `r = I + b + β_n y`: its
    /// minimiser is `clip(r / a, 0, 1)` when a > 0. When a < 0 (a concave energy, β_n < −1)
    /// both ends are minima: the one on `cur`'s side of the maximum r/a, where descent from
    /// `cur` goes; when a = 0 (β_n = −1, the −β phase of β = 1, cost_scale ½) the energy is
    /// linear and the end is 1 if r > 0, else 0.
    fn exact(&self, drive: f64, _: f64, bias: f64, nudge: (f64, f64), cur: f64) -> f64 {
        let (bn, y) = nudge;
        let (a, r) = (1.0 + bn, drive + bias + bn * y);
        let high = if a > 0.0 {
            return (r / a).clamp(0.0, 1.0);
        } else if a < 0.0 {
            cur > r / a
        } else {
            r > 0.0
        };
        if high {
            1.0
        } else {
            0.0
        }
    }
}

/// Runs `$body` with `$e` bound to the energy of `$model` (one dispatch per call; the loops
/// inside are compiled once per energy).
macro_rules! with_energy {
    ($model:expr, $e:ident => $body:expr) => {
        match $model.kind {
            $crate::layered::Kind::Fhn => {
                let $e = $crate::layered::energy::Fhn::new($model);
                $body
            }
            $crate::layered::Kind::Hopfield => {
                let $e = $crate::layered::energy::Hopfield;
                $body
            }
        }
    };
}
pub(crate) use with_energy;
