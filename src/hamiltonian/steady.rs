//! The [`EchoNet`] as a graph network, and the steady-state (boundary-value) problem whose
//! solution the initial-value map reproduces: layer 0 clamped to the input, layers 1 … N free,
//! layer N a free end. EqProp and implicit differentiation of that steady state give the
//! gradient of a different function of θ than the echo (docs/HAMILTONIAN.md §8.4).

use super::blocktri::layer_block_solve;
use super::echo::EchoNet;
use crate::eqprop::{eqprop_gradient_with, implicit_gradient_with};
use crate::error::Result;
use crate::graph::{Edge, Graph};
use crate::network::{Clamp, Cost, FhnNetwork, State};
use crate::solvers::{dopri45, newton_with, AdaptiveOptions, STEPPING_TOL, STEPPING_T_MAX};
use faer::Mat;

impl EchoNet {
    /// Layers 0 … N as a graph (node k of layer i is `i·m + k`): unit path edges in both graphs,
    /// every G^i_kj as an activator edge of conductance G^i_kj/d_u (zeros included), no ghost nodes (free ends). With
    /// `input = Some((u⁰, v⁰))` layer 0 is clamped to it.
    pub fn as_graph(&self, input: Option<(&[f64], &[f64])>) -> Result<FhnNetwork> {
        let (m, n) = (self.width(), self.depth());
        let nodes = (n + 1) * m;
        let path: Vec<Edge> = (0..n)
            .flat_map(|i| {
                (0..m).map(move |k| Edge {
                    a: i * m + k,
                    b: (i + 1) * m + k,
                    g: 1.0,
                })
            })
            .collect();
        let mut act = path.clone();
        for (i, g) in self.coupling.iter().enumerate() {
            for k in 0..m {
                for j in 0..m {
                    act.push(Edge {
                        a: i * m + j,
                        b: (i + 1) * m + k,
                        g: g[(k, j)] / self.params.d_u,
                    });
                }
            }
        }
        let clamps = input.map_or(vec![], |(u, v)| {
            (0..m)
                .map(|k| Clamp {
                    node: k,
                    u: u[k],
                    v: v[k],
                })
                .collect()
        });
        FhnNetwork::new(
            self.params,
            Graph::new(nodes, act)?,
            Graph::new(nodes, path)?,
            vec![0.0; nodes],
            clamps,
        )
    }

    /// Per-coupling gradients from a graph-edge gradient vector (edge order of
    /// [`Self::as_graph`]; dΦ/dG = dΦ/dg / d_u).
    pub fn coupling_from_edges(&self, edge_grad: &[f64]) -> Vec<Mat<f64>> {
        let (m, n) = (self.width(), self.depth());
        (0..n)
            .map(|i| {
                let at = n * m + i * m * m;
                Mat::from_fn(m, m, |k, j| edge_grad[at + k * m + j] / self.params.d_u)
            })
            .collect()
    }
}

/// One example's steady-state problem and its gradients (quadratic cost ½‖u^N − y‖²).
pub struct SteadyComparison {
    /// The steady state (layers 0 … N, graph node order).
    pub state: State,
    /// dC/dG of the steady state by implicit differentiation.
    pub implicit: Vec<Mat<f64>>,
    /// Centered EqProp estimate of the same.
    pub eqprop: Vec<Mat<f64>>,
}

/// The steady state of the network with layer 0 clamped to `input`: Newton from `guess` (graph
/// node order; tolerance 1e-12) and, when that fails, the network's own relaxation in time
/// (what a physical network does) from `guess`, then Newton again. Returns the graph and state.
pub fn solve_steady(
    net: &EchoNet,
    input: (&[f64], &[f64]),
    guess: State,
) -> Result<(FhnNetwork, State)> {
    let graph = net.as_graph(Some(input))?;
    let mut state = guess;
    graph.apply_clamps(&mut state);
    let mut relaxed = state.clone();
    let (m, n) = (net.width(), net.depth());
    // Free layers 1 … N: the block sweep, O(N (2m)³) per Newton step.
    let solve = |g: &FhnNetwork, st: &State, nu: Option<(&Cost, f64)>, r: &[f64]| {
        layer_block_solve(n, m, g, st, nu, r)
    };
    if newton_with(&graph, &mut state, None, 1e-12, 60, &solve).is_err() {
        let opts = AdaptiveOptions {
            rtol: 1e-6,
            atol: 1e-9,
            stop_residual: STEPPING_TOL,
            max_steps: 20_000,
        };
        dopri45(&graph, &mut relaxed, None, STEPPING_T_MAX, opts, |_, _| {})?;
        state = relaxed;
        newton_with(&graph, &mut state, None, 1e-12, 60, &solve)?;
    }
    Ok((graph, state))
}

/// Centered EqProp (β) of the clamped-input network at its free steady state `state`, for the
/// cost ½‖u^N − y‖²: per-coupling gradients.
pub fn steady_eqprop(
    net: &EchoNet,
    graph: &FhnNetwork,
    state: &State,
    y: Vec<f64>,
    beta: f64,
) -> Result<Vec<Mat<f64>>> {
    let (m, n) = (net.width(), net.depth());
    let cost = Cost {
        outputs: (n * m..(n + 1) * m).collect(),
        targets: y,
    };
    let g = eqprop_gradient_with(
        graph,
        state,
        &cost,
        beta,
        true,
        &|g: &FhnNetwork, st: &State, nu: Option<(&Cost, f64)>, r: &[f64]| {
            layer_block_solve(n, m, g, st, nu, r)
        },
    )?;
    Ok(net.coupling_from_edges(&g))
}

/// [`solve_steady`], then the implicit and centered-EqProp (`beta`) coupling gradients for the
/// targets `targets(u^N)` on layer N (a function of the free state's output, so that u^N − y
/// can be any loss's ∂L/∂u^N there).
pub fn steady_gradients(
    net: &EchoNet,
    input: (&[f64], &[f64]),
    guess: State,
    targets: impl Fn(&[f64]) -> Vec<f64>,
    beta: f64,
) -> Result<SteadyComparison> {
    let (m, n) = (net.width(), net.depth());
    let (graph, state) = solve_steady(net, input, guess)?;
    let y = targets(&state.u[n * m..]);
    let cost = Cost {
        outputs: (n * m..(n + 1) * m).collect(),
        targets: y.clone(),
    };
    let implicit = net.coupling_from_edges(&implicit_gradient_with(
        &graph,
        &state,
        &cost,
        &|g: &FhnNetwork, st: &State, nu: Option<(&Cost, f64)>, r: &[f64]| {
            layer_block_solve(n, m, g, st, nu, r)
        },
    )?);
    let eqprop = steady_eqprop(net, &graph, &state, y, beta)?;
    Ok(SteadyComparison {
        state,
        implicit,
        eqprop,
    })
}
