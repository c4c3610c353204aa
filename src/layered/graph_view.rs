//! The layered FHN network as a general graph network (the same physics, one implementation
//! of the potential): used to prove that the batched GEMM code and [`crate::network`] agree.

use super::{Kind, LayeredNet, Phase, Solver};
use crate::error::{Error, Result};
use crate::graph::{Edge, Graph};
use crate::network::{Clamp, FhnNetwork, State};
use faer::{Mat, Par};

/// Node numbering of the graph view: layer `l`, neuron `k` ↦ `offset[l] + k`; the ground node
/// (present when the leak is non-zero) is last.
pub fn node_offsets(widths: &[usize]) -> Vec<usize> {
    let mut off = vec![0];
    for w in widths {
        off.push(off.last().unwrap() + w);
    }
    off
}

impl LayeredNet<f64> {
    /// The graph network of one example with input `x` (FHN kind, ε > 0). Edge order: the
    /// entries of W⁰, W¹, … in column-major order (then the leak edges).
    pub fn as_graph(&self, x: &[f64]) -> Result<FhnNetwork> {
        if self.model.kind != Kind::Fhn || self.model.fhn.eps == 0.0 {
            return Err(Error::Invalid(
                "graph view needs the FHN kind with ε > 0".into(),
            ));
        }
        let w = &self.model.widths;
        let off = node_offsets(w);
        let n_layers = off[w.len()];
        let leak = self.model.leak != 0.0;
        let n = n_layers + usize::from(leak);
        let mut edges = Vec::new();
        for (l, m) in self.weights.iter().enumerate() {
            for j in 0..m.ncols() {
                for k in 0..m.nrows() {
                    edges.push(Edge {
                        a: off[l] + j,
                        b: off[l + 1] + k,
                        g: m[(k, j)],
                    });
                }
            }
        }
        let inhibitor = if self.model.inhibitor_coupling {
            edges.clone()
        } else {
            vec![]
        };
        if leak {
            for i in off[1]..n_layers {
                edges.push(Edge {
                    a: i,
                    b: n_layers,
                    g: self.model.leak,
                });
            }
        }
        let mut current = vec![0.0; n];
        for (l, b) in self.biases.iter().enumerate() {
            current[off[l + 1]..off[l + 2]].copy_from_slice(b);
        }
        let mut clamps: Vec<Clamp> = x
            .iter()
            .enumerate()
            .map(|(k, &u)| Clamp { node: k, u, v: 0.0 })
            .collect();
        if leak {
            clamps.push(Clamp {
                node: n_layers,
                u: 0.0,
                v: 0.0,
            });
        }
        FhnNetwork::new(
            self.model.fhn,
            Graph::new(n, edges)?,
            Graph::new(n, inhibitor)?,
            current,
            clamps,
        )
    }

    /// The free state this network computes for one input `x` (`steps` steps of `solver` with
    /// step `dt` from rest), as a state of [`Self::as_graph`]'s network (same numbering, inputs
    /// clamped, the leak's ground node at 0): where Newton on the graph view starts, so that it
    /// finds the equilibrium the layered model itself reaches when there are several.
    pub fn relaxed_graph_state(
        &self,
        x: &[f64],
        solver: Solver,
        dt: f64,
        steps: usize,
    ) -> Result<State> {
        let w = &self.model.widths;
        if x.len() != w[0] {
            return Err(Error::Invalid(format!(
                "the input has {} values, the network {} inputs",
                x.len(),
                w[0]
            )));
        }
        let mut st = self.init_state(Mat::from_fn(x.len(), 1, |i, _| x[i]));
        let mut ws = self.workspace(1);
        let phase = Phase {
            nudge: None,
            dt,
            max_steps: steps.max(1),
            tol: 0.0,
            solver,
        };
        self.prepare_input(&st, &mut ws, Par::Seq);
        self.relax(&mut st, &mut ws, phase, Par::Seq)?;
        let off = node_offsets(w);
        let mut s = State::zeros(off[w.len()] + usize::from(self.model.leak != 0.0));
        s.u[..w[0]].copy_from_slice(x);
        for l in 1..w.len() {
            for k in 0..w[l] {
                s.u[off[l] + k] = st.u[l][(k, 0)];
                s.v[off[l] + k] = st.v[l][(k, 0)];
            }
        }
        Ok(s)
    }
}
