//! Linear stability of a steady state: the largest real part of the eigenvalues of the
//! dynamics' Jacobian `J = −diag(1/τ_u, −ε/τ_v) H` (docs/MODEL.md §2). Newton finds any critical
//! point of Φ, saddles and the centre of a limit cycle included; this says which one it found.
//!
//! The eigenvalues are computed densely (J is not symmetric), so only up to
//! [`DENSE_LIMIT`] free nodes; above that the stability is reported as unknown.

use crate::error::{Error, Result};
use crate::network::{FhnNetwork, State};
use serde::Serialize;

/// Most free nodes for which [`stability`] computes the eigenvalues (a 2·600 = 1200 square
/// non-symmetric eigenproblem: about a second).
pub const DENSE_LIMIT: usize = 600;

/// A steady state counts as stable when max Re λ < −[`MARGIN`] (rounding makes a marginal
/// state's rate ±1e-15; such a state is reported as not stable).
pub const MARGIN: f64 = 1e-9;

/// Largest real part of the dynamics' Jacobian eigenvalues (< 0: linearly stable).
pub fn max_growth_rate(net: &FhnNetwork, s: &State) -> Result<f64> {
    let ev = net
        .jacobian_dense(s)
        .eigenvalues()
        .map_err(|e| Error::Invalid(format!("eigenvalue solver failed: {e:?}")))?;
    Ok(ev.iter().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max))
}

/// Linear stability of a steady state.
#[derive(Clone, Debug, Serialize)]
pub struct Stability {
    /// Largest real part of the Jacobian's eigenvalues; `None` when not computed (too many
    /// free nodes) or when there is no free node.
    pub max_growth_rate: Option<f64>,
    /// `Some(true)`: max Re λ < −[`MARGIN`]; `Some(false)`: unstable or marginal; `None`:
    /// unknown (more than [`DENSE_LIMIT`] free nodes).
    pub stable: Option<bool>,
    /// One line for people: the verdict and why.
    pub verdict: String,
}

/// Classifies the steady state `s` of `net` (see [`Stability`]).
pub fn stability(net: &FhnNetwork, s: &State) -> Result<Stability> {
    let nf = net.free_nodes().len();
    if nf == 0 {
        return Ok(Stability {
            max_growth_rate: None,
            stable: Some(true),
            verdict: "stable (every node is clamped)".into(),
        });
    }
    if nf > DENSE_LIMIT {
        return Ok(Stability {
            max_growth_rate: None,
            stable: None,
            verdict: format!(
                "stability not checked: {nf} free nodes > {DENSE_LIMIT} (dense eigenvalues)"
            ),
        });
    }
    let m = max_growth_rate(net, s)?;
    let (stable, verdict) = if m < -MARGIN {
        (true, format!("stable: max Re λ(J) = {m:.4e}"))
    } else if m <= MARGIN {
        (
            false,
            format!("marginal: max Re λ(J) = {m:.1e} (linear analysis inconclusive)"),
        )
    } else {
        (
            false,
            format!("UNSTABLE: max Re λ(J) = {m:+.4e} > 0 (a saddle or the centre of an oscillation; the dynamics leave it)"),
        )
    };
    Ok(Stability {
        max_growth_rate: Some(m),
        stable: Some(stable),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::random_network;
    use crate::solvers::steady_state;

    #[test]
    fn the_random_test_network_settles_to_a_stable_state() {
        let net = random_network(30, 2);
        let mut s = net.initial_state();
        steady_state(&net, &mut s, None, 1e-12).unwrap();
        let st = stability(&net, &s).unwrap();
        assert_eq!(st.stable, Some(true), "{st:?}");
        assert!(st.max_growth_rate.unwrap() < 0.0);
    }

    #[test]
    fn the_zero_state_of_a_bistable_unit_is_a_saddle() {
        use crate::graph::Graph;
        use crate::model::FhnParams;
        // Table I: u = 0 is a saddle (trace 0.082 > 0, det −0.068 < 0) between two stable states.
        let net = FhnNetwork::new(
            FhnParams::table1(),
            Graph::empty(1),
            Graph::empty(1),
            vec![0.0],
            vec![],
        )
        .unwrap();
        let s = net.initial_state();
        assert_eq!(net.residual(&s, None), 0.0);
        let st = stability(&net, &s).unwrap();
        assert_eq!(st.stable, Some(false), "{st:?}");
        assert!(st.verdict.starts_with("UNSTABLE"), "{st:?}");
    }
}
