//! A diffusive FHN network on two weighted graphs, and its mini-max potential Φ.
//!
//! State s = (u, v) ∈ ℝⁿ × ℝⁿ. With L₁, L₂ the (positive semi-definite) Laplacians of the
//! activator and inhibitor graphs and I the injected activator currents (docs/MODEL.md §2):
//!
//! ```text
//! Φ(u, v) = ½ d_u uᵀL₁u − (d_v / 2ε) vᵀL₂v − Σᵢ F(uᵢ, vᵢ) − Iᵀu
//! τ_u u_t = −∂Φ/∂u = −d_u L₁u + u − u³ − v + I                 (paper eq. 6, Δ = −L)
//! τ_v v_t = +ε ∂Φ/∂v = −d_v L₂v + ε(u − αv − β)
//! ```
//!
//! The activator descends Φ, the inhibitor ascends it (Yanagida's mini-max); steady states are
//! exactly the critical points of Φ, and the Hessian of Φ is symmetric, which is the
//! self-adjointness of paper eq. 9–10. Clamped nodes are voltage sources: their (u, v) are held.
//!
//! Parameters θ = (activator conductances, inhibitor conductances, currents), in that order:
//! ∂Φ/∂g₁ₑ = ½ d_u (u_a − u_b)², ∂Φ/∂g₂ₑ = −(d_v/2ε)(v_a − v_b)², ∂Φ/∂I_k = −u_k.

use crate::graph::{Csr, Graph};
use crate::model::FhnParams;

/// A node held at fixed (u, v): a voltage source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp {
    /// Node index.
    pub node: usize,
    /// Activator value.
    pub u: f64,
    /// Inhibitor value.
    pub v: f64,
}

/// Quadratic cost C = ½ Σ_o (u_o − y_o)² on output activators.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    /// Output nodes.
    pub outputs: Vec<usize>,
    /// Targets, one per output node.
    pub targets: Vec<f64>,
}

impl Cost {
    /// Value of the cost at activators `u`.
    pub fn value(&self, u: &[f64]) -> f64 {
        self.outputs
            .iter()
            .zip(&self.targets)
            .map(|(&o, &y)| 0.5 * (u[o] - y).powi(2))
            .sum()
    }
}

/// Network state: activators and inhibitors of every node (clamped ones included).
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Activators.
    pub u: Vec<f64>,
    /// Inhibitors.
    pub v: Vec<f64>,
}

impl State {
    /// All-zero state of `n` nodes.
    pub fn zeros(n: usize) -> Self {
        Self {
            u: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// A FitzHugh–Nagumo network: parameters, two graphs, currents, clamps.
#[derive(Clone, Debug)]
pub struct FhnNetwork {
    /// Shared FHN parameters.
    pub params: FhnParams,
    /// Activator coupling graph (L₁).
    pub activator: Graph,
    /// Inhibitor coupling graph (L₂).
    pub inhibitor: Graph,
    /// Injected activator current per node.
    pub current: Vec<f64>,
    /// Clamped nodes.
    pub clamps: Vec<Clamp>,
    l1: Csr,
    l2: Csr,
    free: Vec<usize>,
}

impl FhnNetwork {
    /// Assembles and validates a network.
    pub fn new(
        params: FhnParams,
        activator: Graph,
        inhibitor: Graph,
        current: Vec<f64>,
        clamps: Vec<Clamp>,
    ) -> crate::Result<Self> {
        params.validate()?;
        let n = activator.n;
        if n == 0 {
            return Err(crate::Error::Invalid("the network has no nodes".into()));
        }
        if inhibitor.n != n || current.len() != n {
            return Err(crate::Error::Invalid(format!(
                "size mismatch: activator graph {n} nodes, inhibitor graph {}, currents {}",
                inhibitor.n,
                current.len()
            )));
        }
        if let Some(i) = current.iter().position(|c| !c.is_finite()) {
            return Err(crate::Error::Invalid(format!(
                "current at node {i} is not finite"
            )));
        }
        let mut clamped = vec![false; n];
        for c in &clamps {
            if c.node >= n {
                return Err(crate::Error::Invalid(format!(
                    "clamp names node {} outside 0..{n}",
                    c.node
                )));
            }
            if clamped[c.node] {
                return Err(crate::Error::Invalid(format!(
                    "node {} is clamped twice",
                    c.node
                )));
            }
            if !c.u.is_finite() || !c.v.is_finite() {
                return Err(crate::Error::Invalid(format!(
                    "clamp at node {} is not finite",
                    c.node
                )));
            }
            clamped[c.node] = true;
        }
        let free = (0..n).filter(|&i| !clamped[i]).collect();
        Ok(Self {
            l1: activator.laplacian(),
            l2: inhibitor.laplacian(),
            params,
            activator,
            inhibitor,
            current,
            clamps,
            free,
        })
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.activator.n
    }

    /// Indices of the free (non-clamped) nodes, ascending.
    pub fn free_nodes(&self) -> &[usize] {
        &self.free
    }

    /// Number of parameters θ = (g₁, g₂, I).
    pub fn n_params(&self) -> usize {
        self.activator.edges.len() + self.inhibitor.edges.len() + self.n()
    }

    /// Parameter vector θ = (g₁, g₂, I).
    pub fn params_vec(&self) -> Vec<f64> {
        let g1 = self.activator.edges.iter().map(|e| e.g);
        let g2 = self.inhibitor.edges.iter().map(|e| e.g);
        g1.chain(g2).chain(self.current.iter().copied()).collect()
    }

    /// A copy with parameter vector θ.
    pub fn with_params(&self, theta: &[f64]) -> Self {
        let mut net = self.clone();
        let (m1, m2) = (net.activator.edges.len(), net.inhibitor.edges.len());
        for (e, &g) in net.activator.edges.iter_mut().zip(&theta[..m1]) {
            e.g = g;
        }
        for (e, &g) in net.inhibitor.edges.iter_mut().zip(&theta[m1..m1 + m2]) {
            e.g = g;
        }
        net.current.copy_from_slice(&theta[m1 + m2..]);
        net.l1 = net.activator.laplacian();
        net.l2 = net.inhibitor.laplacian();
        net
    }

    /// A state with clamps applied and zeros elsewhere.
    pub fn initial_state(&self) -> State {
        let mut s = State::zeros(self.n());
        self.apply_clamps(&mut s);
        s
    }

    /// Writes the clamped values into `s`.
    pub fn apply_clamps(&self, s: &mut State) {
        for c in &self.clamps {
            s.u[c.node] = c.u;
            s.v[c.node] = c.v;
        }
    }

    /// The potential Φ (plus β·C when nudged).
    pub fn potential(&self, s: &State, nudge: Option<(&Cost, f64)>) -> f64 {
        let p = &self.params;
        let (mut lu, mut lv) = (vec![0.0; self.n()], vec![0.0; self.n()]);
        self.l1.mul_vec(&s.u, &mut lu);
        self.l2.mul_vec(&s.v, &mut lv);
        let mut phi = 0.0;
        for i in 0..self.n() {
            phi += 0.5 * p.d_u * s.u[i] * lu[i] - 0.5 * p.inhibitor_gain() * s.v[i] * lv[i];
            phi -= p.free_energy(s.u[i], s.v[i]) + self.current[i] * s.u[i];
        }
        phi + nudge.map_or(0.0, |(c, b)| b * c.value(&s.u))
    }

    /// Gradient (∂Φ/∂u, ∂Φ/∂v) (+ β ∂C/∂u when nudged); zero at clamped nodes.
    pub fn gradient(&self, s: &State, nudge: Option<(&Cost, f64)>) -> (Vec<f64>, Vec<f64>) {
        let (mut gu, mut gv) = (vec![0.0; self.n()], vec![0.0; self.n()]);
        self.gradient_into(s, nudge, &mut gu, &mut gv);
        (gu, gv)
    }

    /// [`Self::gradient`] into caller-owned buffers (no allocation: the time-stepping path).
    pub fn gradient_into(
        &self,
        s: &State,
        nudge: Option<(&Cost, f64)>,
        gu: &mut [f64],
        gv: &mut [f64],
    ) {
        let p = &self.params;
        self.l1.mul_vec(&s.u, gu);
        self.l2.mul_vec(&s.v, gv);
        let (cu, cv) = (p.d_u, -p.inhibitor_gain());
        for i in 0..self.n() {
            let (fu, fv) = p.free_energy_grad(s.u[i], s.v[i]);
            gu[i] = cu * gu[i] - fu - self.current[i];
            gv[i] = cv * gv[i] - fv;
        }
        if let Some((c, b)) = nudge {
            for (&o, &y) in c.outputs.iter().zip(&c.targets) {
                gu[o] += b * (s.u[o] - y);
            }
        }
        for c in &self.clamps {
            gu[c.node] = 0.0;
            gv[c.node] = 0.0;
        }
    }

    /// Time derivative into buffers: (u_t, v_t) = (−∂Φ/∂u / τ_u, ε ∂Φ/∂v / τ_v).
    pub fn velocity_into(
        &self,
        s: &State,
        nudge: Option<(&Cost, f64)>,
        du: &mut [f64],
        dv: &mut [f64],
    ) {
        let p = &self.params;
        self.gradient_into(s, nudge, du, dv);
        let (ku, kv) = (-1.0 / p.tau_u, p.eps / p.tau_v);
        du.iter_mut().for_each(|x| *x *= ku);
        dv.iter_mut().for_each(|x| *x *= kv);
    }

    /// Time derivative (u_t, v_t) = (−∂Φ/∂u / τ_u, ε ∂Φ/∂v / τ_v).
    pub fn velocity(&self, s: &State, nudge: Option<(&Cost, f64)>) -> (Vec<f64>, Vec<f64>) {
        let (mut du, mut dv) = (vec![0.0; self.n()], vec![0.0; self.n()]);
        self.velocity_into(s, nudge, &mut du, &mut dv);
        (du, dv)
    }

    /// Steady-state residual ‖∂Φ/∂(u, v)‖∞ over free nodes; +∞ as soon as one entry is not
    /// finite (`f64::max` would silently drop a NaN and report a non-finite state as converged).
    pub fn residual(&self, s: &State, nudge: Option<(&Cost, f64)>) -> f64 {
        let (gu, gv) = self.gradient(s, nudge);
        max_abs(gu.iter().chain(&gv))
    }

    /// Euclidean norm ‖∂Φ/∂(u, v)‖₂ over free nodes (+∞ if not finite): the merit function of
    /// Newton's line search, for which the Newton step is always a descent direction.
    pub fn residual_l2(&self, s: &State, nudge: Option<(&Cost, f64)>) -> f64 {
        let (gu, gv) = self.gradient(s, nudge);
        let r = gu.iter().chain(&gv).map(|x| x * x).sum::<f64>().sqrt();
        if r.is_finite() {
            r
        } else {
            f64::INFINITY
        }
    }

    /// Scatters a free-variable vector (u_free, v_free) to full-length (u, v) vectors.
    pub fn scatter(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let nf = self.free.len();
        let (mut u, mut v) = (vec![0.0; self.n()], vec![0.0; self.n()]);
        for (k, &i) in self.free.iter().enumerate() {
            u[i] = x[k];
            v[i] = x[nf + k];
        }
        (u, v)
    }

    /// Gathers full-length (u, v) vectors into a free-variable vector (u_free, v_free).
    pub fn gather(&self, u: &[f64], v: &[f64]) -> Vec<f64> {
        let fu = self.free.iter().map(|&i| u[i]);
        let fv = self.free.iter().map(|&i| v[i]);
        fu.chain(fv).collect()
    }
}

mod checks;
mod derivatives;
pub use checks::{check_energy, first_non_finite, max_abs, random_network, EnergyReport};

#[cfg(test)]
pub(crate) mod tests;
