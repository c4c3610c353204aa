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
use crate::model::{FhnParams, Local};
use faer::sparse::{SparseColMat, Triplet};
use faer::Mat;

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

/// max |xᵢ|, or +∞ if any xᵢ is not finite (NaN included, unlike a plain `f64::max` fold).
pub fn max_abs<'a>(xs: impl IntoIterator<Item = &'a f64>) -> f64 {
    let mut m: f64 = 0.0;
    for x in xs {
        if !x.is_finite() {
            return f64::INFINITY;
        }
        m = m.max(x.abs());
    }
    m
}

/// Where a state is first not finite: `"u at node 3 = NaN"`, or `None` if all entries are.
pub fn first_non_finite(s: &State) -> Option<String> {
    let find = |name: &str, xs: &[f64]| {
        xs.iter()
            .position(|x| !x.is_finite())
            .map(|i| format!("{name} at node {i} = {}", xs[i]))
    };
    find("u", &s.u).or_else(|| find("v", &s.v))
}

/// A random connected test network: `n` nodes, activator graph with ~20% negative
/// conductances, positive inhibitor graph, currents in [−0.3, 0.3], node 0 clamped at (0.5, 0.1).
pub fn random_network(n: usize, seed: u64) -> FhnNetwork {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let g1 = Graph::random_connected(n, n, 0.2, &mut rng);
    let g2 = Graph::random_connected(n, n / 2, 0.0, &mut rng);
    let cur = (0..n).map(|_| rng.gen_range(-0.3..0.3)).collect();
    let clamps = vec![Clamp {
        node: 0,
        u: 0.5,
        v: 0.1,
    }];
    FhnNetwork::new(FhnParams::table1(), g1, g2, cur, clamps).expect("valid random network")
}

/// Result of the finite-difference check of the potential (check 1).
#[derive(Clone, Debug, serde::Serialize)]
pub struct EnergyReport {
    /// max over free variables of |FD − analytic| / (1 + |analytic|) for ∂Φ/∂(u, v).
    pub gradient_error: f64,
    /// max |f − Q∇F| / (1 + |f|) over nodes (f from the reaction terms, ∇F by differences).
    pub reaction_error: f64,
    /// max |velocity + diag(1/τ_u, −ε/τ_v) ∇Φ|: the dynamics are ∓∂Φ.
    pub velocity_error: f64,
}

/// Check 1: ∂Φ by central differences (step 1e-5) vs the analytic gradient, f = Q∇F, and the
/// dynamics (u_t, v_t) = (−∂Φ/∂u/τ_u, ε∂Φ/∂v/τ_v), at state `s` with an optional nudge.
pub fn check_energy(net: &FhnNetwork, s: &State, nudge: Option<(&Cost, f64)>) -> EnergyReport {
    let (gu, gv) = net.gradient(s, nudge);
    let h = 1e-5;
    let mut gradient_error: f64 = 0.0;
    for &i in net.free_nodes() {
        for which in 0..2 {
            let shifted = |d: f64| {
                let mut t = s.clone();
                if which == 0 {
                    t.u[i] += d;
                } else {
                    t.v[i] += d;
                }
                net.potential(&t, nudge)
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            let an = if which == 0 { gu[i] } else { gv[i] };
            gradient_error = gradient_error.max((fd - an).abs() / (1.0 + an.abs()));
        }
    }
    let p = &net.params;
    let mut reaction_error: f64 = 0.0;
    for i in 0..net.n() {
        let (u, v) = (s.u[i], s.v[i]);
        let fu = (p.free_energy(u + h, v) - p.free_energy(u - h, v)) / (2.0 * h);
        let fv = (p.free_energy(u, v + h) - p.free_energy(u, v - h)) / (2.0 * h);
        let (ru, rv) = p.reaction(u, v);
        reaction_error = reaction_error
            .max((ru - fu).abs() / (1.0 + ru.abs()))
            .max((rv + p.eps * fv).abs() / (1.0 + rv.abs()));
    }
    let (du, dv) = net.velocity(s, nudge);
    let velocity_error = net.free_nodes().iter().fold(0.0f64, |m, &i| {
        m.max((du[i] + gu[i] / p.tau_u).abs())
            .max((dv[i] - p.eps * gv[i] / p.tau_v).abs())
    });
    EnergyReport {
        gradient_error,
        reaction_error,
        velocity_error,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graph::Graph;
    use rand::{Rng, SeedableRng};

    pub use super::random_network;

    fn random_state(net: &FhnNetwork, seed: u64) -> State {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut s = State {
            u: (0..net.n()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            v: (0..net.n()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        };
        net.apply_clamps(&mut s);
        s
    }

    /// Check 1: the dynamics equal ∓∂Φ by finite differences, and f = Q∇F (relative ≤ 1e-7).
    #[test]
    fn gradient_matches_finite_differences_of_phi() {
        let net = random_network(20, 3);
        let s = random_state(&net, 4);
        let cost = Cost {
            outputs: vec![5, 7],
            targets: vec![0.3, -0.2],
        };
        let r = check_energy(&net, &s, Some((&cost, 0.7)));
        assert!(r.gradient_error <= 1e-7, "{r:?}");
        assert!(r.reaction_error <= 1e-7, "{r:?}");
        assert!(r.velocity_error <= 1e-14, "{r:?}");
    }

    #[test]
    fn hessian_matches_finite_differences_and_is_symmetric() {
        let net = random_network(15, 5);
        let s = random_state(&net, 6);
        let h = net.hessian_dense(&s, None);
        assert!((&h - h.transpose()).norm_max() == 0.0);
        let x0 = net.gather(&s.u, &s.v);
        let eps = 1e-6;
        for k in 0..x0.len() {
            let mut xp = x0.clone();
            xp[k] += eps;
            let mut xm = x0.clone();
            xm[k] -= eps;
            let grad_at = |x: &[f64]| {
                let (mut u, mut v) = net.scatter(x);
                let mut st = State {
                    u: std::mem::take(&mut u),
                    v: std::mem::take(&mut v),
                };
                net.apply_clamps(&mut st);
                let (gu, gv) = net.gradient(&st, None);
                net.gather(&gu, &gv)
            };
            let (gp, gm) = (grad_at(&xp), grad_at(&xm));
            for r in 0..x0.len() {
                let fd = (gp[r] - gm[r]) / (2.0 * eps);
                assert!(
                    (fd - h[(r, k)]).abs() < 1e-6,
                    "H[{r},{k}] {} vs {fd}",
                    h[(r, k)]
                );
            }
        }
        let sp = net.hessian_sparse(&s, None).to_dense();
        assert!((&sp - &h).norm_max() < 1e-15);
    }

    #[test]
    fn param_gradient_matches_finite_differences() {
        let net = random_network(10, 8);
        let s = random_state(&net, 9);
        let an = net.param_gradient(&s);
        let th = net.params_vec();
        for k in 0..th.len() {
            let (mut tp, mut tm) = (th.clone(), th.clone());
            tp[k] += 1e-6;
            tm[k] -= 1e-6;
            let fd = (net.with_params(&tp).potential(&s, None)
                - net.with_params(&tm).potential(&s, None))
                / 2e-6;
            assert!(
                (fd - an[k]).abs() < 1e-7 * (1.0 + an[k].abs()),
                "θ{k}: {fd} vs {}",
                an[k]
            );
        }
    }

    #[test]
    fn rejects_bad_networks() {
        let p = FhnParams::table1();
        let g = Graph::path(3, 1.0);
        let err = FhnNetwork::new(p, g.clone(), g.clone(), vec![0.0; 2], vec![]).unwrap_err();
        assert!(err.to_string().contains("size mismatch"));
        let clamp = Clamp {
            node: 5,
            u: 0.0,
            v: 0.0,
        };
        let err = FhnNetwork::new(p, g.clone(), g.clone(), vec![0.0; 3], vec![clamp]).unwrap_err();
        assert!(err.to_string().contains("outside"));
        let err = FhnNetwork::new(p, Graph::empty(0), Graph::empty(0), vec![], vec![]).unwrap_err();
        assert!(err.to_string().contains("no nodes"));
    }
}
