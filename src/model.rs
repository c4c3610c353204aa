//! The single FitzHugh–Nagumo unit: parameters, reaction terms and free energy.
//!
//! Conventions (docs/MODEL.md §1): per node an activator `u` and an inhibitor `v`,
//!
//! ```text
//! f(u, v) = ( u − u³ − v ,  ε (u − α v − β) )                     (paper §I, eq. 2)
//! F(u, v) = u²/2 − u⁴/4 − u v + α v²/2 + β v                     (corrected free energy)
//! f = Q ∇F,  Q = diag(1, −ε)                                      (paper eq. 2, Q corrected)
//! ```
//!
//! The paper prints F = ½αu² − ¼αu⁴ − uv + ½βv² and Q = diag(1, −1); that form is not
//! consistent with its own f (see docs/MODEL.md §1.2). Time constants `τ_u, τ_v` and
//! diffusion coefficients `d_u, d_v` complete the network model (paper eq. 6).

use crate::real::Real;
use serde::{Deserialize, Serialize};

/// Parameters of the diffusive FitzHugh–Nagumo model, shared by every node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhnParams {
    /// Time constant of the activator (τ₁ in the paper).
    pub tau_u: f64,
    /// Time constant of the inhibitor (τ₂).
    pub tau_v: f64,
    /// Activator diffusion coefficient d₁ (δ² in the Parra-Rivas form).
    pub d_u: f64,
    /// Inhibitor diffusion coefficient d₂ (1 in the Parra-Rivas form).
    pub d_v: f64,
    /// Inhibitor rate ε (> 0).
    pub eps: f64,
    /// Inhibitor self-decay α.
    pub alpha: f64,
    /// Inhibitor offset β (not the EqProp nudging strength).
    pub beta: f64,
}

impl FhnParams {
    /// The Parra-Rivas form `u_t = δ²Δu + u − u³ − v`, `v_t = Δv + ε(u − αv − β)` (paper §IV.A).
    pub fn parra_rivas(delta: f64, eps: f64, alpha: f64, beta: f64) -> Self {
        Self {
            tau_u: 1.0,
            tau_v: 1.0,
            d_u: delta * delta,
            d_v: 1.0,
            eps,
            alpha,
            beta,
        }
    }

    /// Table I of the paper: δ, ε, α, β = 0.75, 0.85, 1.08, 0.
    pub fn table1() -> Self {
        Self::parra_rivas(0.75, 0.85, 1.08, 0.0)
    }

    /// Checks that every parameter is finite and that time constants and ε are positive.
    pub fn validate(&self) -> crate::Result<()> {
        let all = [
            ("tau_u", self.tau_u),
            ("tau_v", self.tau_v),
            ("d_u", self.d_u),
            ("d_v", self.d_v),
            ("eps", self.eps),
            ("alpha", self.alpha),
            ("beta", self.beta),
        ];
        for (name, x) in all {
            if !x.is_finite() {
                return Err(crate::Error::Invalid(format!(
                    "parameter {name} is not finite ({x})"
                )));
            }
        }
        for (name, x) in [
            ("tau_u", self.tau_u),
            ("tau_v", self.tau_v),
            ("eps", self.eps),
        ] {
            if x <= 0.0 {
                return Err(crate::Error::Invalid(format!(
                    "parameter {name} must be > 0, got {x}"
                )));
            }
        }
        Ok(())
    }

    /// The local terms in the scalar type `T` (f32 for training, f64 for checks).
    pub fn local<T: Real>(&self) -> Local<T> {
        Local {
            eps: T::lit(self.eps),
            alpha: T::lit(self.alpha),
            beta: T::lit(self.beta),
            inhibitor_gain: T::lit(self.inhibitor_gain()),
        }
    }

    /// `d_v/ε`, the scale of the inhibitor's coupling term in Φ (paper eq. 6); 0 when ε = 0,
    /// where the inhibitor is switched off (the layered networks allow it).
    pub fn inhibitor_gain(&self) -> f64 {
        if self.eps == 0.0 {
            0.0
        } else {
            self.d_v / self.eps
        }
    }

    /// Reaction terms f(u, v) = (u − u³ − v, ε(u − αv − β)).
    #[inline]
    pub fn reaction(&self, u: f64, v: f64) -> (f64, f64) {
        let l = self.local::<f64>();
        (l.activator(u, v), l.eps * l.inhibitor(u, v))
    }

    /// Free energy F(u, v) = u²/2 − u⁴/4 − uv + αv²/2 + βv, with f = diag(1, −ε)∇F.
    #[inline]
    pub fn free_energy(&self, u: f64, v: f64) -> f64 {
        self.local::<f64>().free_energy(u, v)
    }

    /// ∇F = (∂F/∂u, ∂F/∂v) = (u − u³ − v, −u + αv + β).
    #[inline]
    pub fn free_energy_grad(&self, u: f64, v: f64) -> (f64, f64) {
        let l = self.local::<f64>();
        (l.activator(u, v), -l.inhibitor(u, v))
    }

    /// Homogeneous steady states (u₀, v₀): roots of αu³ + (1 − α)u − β = 0, v₀ = (u₀ − β)/α
    /// (for α = 0: u₀ = β, v₀ = u₀ − u₀³). Sorted by u₀.
    pub fn homogeneous_states(&self) -> Vec<(f64, f64)> {
        let (a, b) = (self.alpha, self.beta);
        if a == 0.0 {
            return vec![(b, b - b * b * b)];
        }
        let p = |u: f64| a * u * u * u + (1.0 - a) * u - b;
        let roots = real_roots(p, -4.0, 4.0, 8000);
        let l = self.local::<f64>();
        roots
            .into_iter()
            .map(|u| (u, l.activator(u, 0.0)))
            .collect()
    }

    /// Growth rate (largest real part) of the Laplacian mode with eigenvalue `q ≥ 0` around
    /// the homogeneous state `u0`: eigenvalues of
    /// `[[(a − d_u q)/τ_u, −1/τ_u], [ε/τ_v, −(εα + d_v q)/τ_v]]`, a = 1 − 3u₀².
    pub fn mode_growth_rate(&self, u0: f64, q: f64) -> f64 {
        let a = Local::<f64>::slope(u0);
        let j11 = (a - self.d_u * q) / self.tau_u;
        let j12 = -1.0 / self.tau_u;
        let j21 = self.eps / self.tau_v;
        let j22 = -(self.eps * self.alpha + self.d_v * q) / self.tau_v;
        let tr = j11 + j22;
        let det = j11 * j22 - j12 * j21;
        let disc = tr * tr / 4.0 - det;
        if disc >= 0.0 {
            tr / 2.0 + disc.sqrt()
        } else {
            tr / 2.0
        }
    }
}

/// The FHN local terms (paper eq. 2, docs/MODEL.md §1), written once, generic over f32/f64:
/// the graph model, the layered networks, the CPU backend and the Hamiltonian recursions all
/// call these. Other forms of the same physics: the CUDA kernels (`backend/kernels.cu`, CUDA
/// C), the Jacobi preconditioner's diagonal `d_u(diag + g₀) − 1 + 3u²` (the −1 folded into a
/// per-node constant, `layered/elementwise.rs`, `backend/host.rs`) and the red-black solver's
/// cubic for u given its neighbours (`layered/blocks.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Local<T> {
    /// Inhibitor rate ε.
    pub eps: T,
    /// Inhibitor self-decay α.
    pub alpha: T,
    /// Inhibitor offset β.
    pub beta: T,
    /// `d_v/ε` ([`FhnParams::inhibitor_gain`]; 0 when ε = 0).
    pub inhibitor_gain: T,
}

impl<T: Real> Local<T> {
    /// The activator's reaction `f_u = u − u³ − v = ∂F/∂u`.
    #[inline(always)]
    pub fn activator(self, u: T, v: T) -> T {
        u - u * u * u - v
    }

    /// The inhibitor's reaction without its rate, `f_v/ε = u − αv − β = −∂F/∂v`.
    #[inline(always)]
    pub fn inhibitor(self, u: T, v: T) -> T {
        u - self.alpha * v - self.beta
    }

    /// `∂f_u/∂u = 1 − 3u²` (the local term of the Jacobian).
    #[inline(always)]
    pub fn slope(u: T) -> T {
        T::one() - T::lit(3.0) * u * u
    }

    /// Free energy F(u, v) = u²/2 − u⁴/4 − uv + αv²/2 + βv.
    #[inline(always)]
    pub fn free_energy(self, u: T, v: T) -> T {
        let u2 = u * u;
        T::lit(0.5) * u2 - T::lit(0.25) * u2 * u2 - u * v
            + T::lit(0.5) * self.alpha * v * v
            + self.beta * v
    }
}

/// Real roots of a continuous function on [lo, hi] by a sign-change scan plus bisection;
/// a double root that touches zero on a grid point is also reported.
fn real_roots(p: impl Fn(f64) -> f64, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let h = (hi - lo) / n as f64;
    let mut roots: Vec<f64> = Vec::new();
    for i in 0..n {
        let (mut a, mut b) = (lo + i as f64 * h, lo + (i + 1) as f64 * h);
        let (mut pa, pb) = (p(a), p(b));
        if pa == 0.0 {
            roots.push(a);
            continue;
        }
        if pa * pb > 0.0 {
            continue;
        }
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            let pm = p(m);
            if pm == 0.0 || (b - a) < 1e-16 {
                a = m;
                b = m;
                break;
            }
            if pa * pm < 0.0 {
                b = m;
            } else {
                a = m;
                pa = pm;
            }
        }
        roots.push(0.5 * (a + b));
    }
    roots.dedup_by(|x, y| (*x - *y).abs() < 1e-9);
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_terms_are_the_derivatives_of_f_in_f32_and_f64() {
        let p = FhnParams::parra_rivas(0.6, 0.7, 1.3, 0.2);
        let (l, l32) = (p.local::<f64>(), p.local::<f32>());
        let h = 1e-6;
        for &(u, v) in &[(0.3, -0.2), (-1.1, 0.4), (0.0, 0.9), (1.7, -1.3)] {
            let du = (l.free_energy(u + h, v) - l.free_energy(u - h, v)) / (2.0 * h);
            let dv = (l.free_energy(u, v + h) - l.free_energy(u, v - h)) / (2.0 * h);
            let dslope = (l.activator(u + h, v) - l.activator(u - h, v)) / (2.0 * h);
            assert!((l.activator(u, v) - du).abs() < 1e-7, "∂F/∂u at {u}, {v}");
            assert!((l.inhibitor(u, v) + dv).abs() < 1e-7, "−∂F/∂v at {u}, {v}");
            assert!(
                (Local::<f64>::slope(u) - dslope).abs() < 1e-6,
                "slope at {u}"
            );
            let (a32, b32) = (
                l32.activator(u as f32, v as f32),
                l32.inhibitor(u as f32, v as f32),
            );
            assert!((a32 as f64 - l.activator(u, v)).abs() < 1e-5);
            assert!((b32 as f64 - l.inhibitor(u, v)).abs() < 1e-5);
        }
        assert_eq!(p.inhibitor_gain(), p.d_v / p.eps);
        let off = FhnParams { eps: 0.0, ..p };
        assert_eq!(off.inhibitor_gain(), 0.0);
        assert_eq!(off.local::<f32>().inhibitor_gain, 0.0);
    }

    #[test]
    fn reaction_is_q_times_grad_f() {
        let p = FhnParams::parra_rivas(0.6, 0.7, 1.3, 0.2);
        for &(u, v) in &[(0.3, -0.2), (-1.1, 0.4), (0.0, 0.9)] {
            let h = 1e-6;
            let fu = (p.free_energy(u + h, v) - p.free_energy(u - h, v)) / (2.0 * h);
            let fv = (p.free_energy(u, v + h) - p.free_energy(u, v - h)) / (2.0 * h);
            let (ru, rv) = p.reaction(u, v);
            assert!((ru - fu).abs() <= 1e-7 * (1.0 + ru.abs()), "{ru} vs {fu}");
            assert!(
                (rv + p.eps * fv).abs() <= 1e-7 * (1.0 + rv.abs()),
                "{rv} vs {}",
                -p.eps * fv
            );
        }
    }

    #[test]
    fn table1_homogeneous_states_match_linear_analysis() {
        let st = FhnParams::table1().homogeneous_states();
        assert_eq!(st.len(), 3);
        assert!((st[2].0 - 0.27217).abs() < 1e-5, "{st:?}");
        assert!((st[2].1 - 0.25201).abs() < 1e-5, "{st:?}");
        assert!(st[1].0.abs() < 1e-12);
        for (u, v) in st {
            let (fu, fv) = FhnParams::table1().reaction(u, v);
            assert!(fu.abs() < 1e-12 && fv.abs() < 1e-12);
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let mut p = FhnParams::table1();
        p.eps = 0.0;
        assert!(p.validate().is_err());
        p.eps = f64::NAN;
        assert!(p.validate().unwrap_err().to_string().contains("eps"));
    }
}
