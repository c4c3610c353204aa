//! Checks and test fixtures of the graph model: Φ against finite differences, finiteness, and a
//! random test network.

use super::{Clamp, Cost, FhnNetwork, State};
use crate::graph::Graph;
use crate::model::FhnParams;

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
