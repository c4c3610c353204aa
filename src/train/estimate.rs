//! Gradient estimators: what a training step uses as dC/dθ, the minibatch mean. EqProp (the
//! physics' local rule, one-sided or centered, as configured) and the implicit gradient (exact
//! at the true equilibrium, f64; for checks and small networks) are two implementations of one
//! interface, [`GradientEstimator`]; `training.estimator` picks one.

use super::config::{FreeStart, TrainConfig};
use super::shards::{Shards, Start};
use super::warm::FreeStates;
use crate::data::Split;
use crate::eqprop::implicit_gradient;
use crate::error::Result;
use crate::layered::{col, node_offsets, Grads, Kind, LayeredNet, Phase, Solver};
use crate::network::Cost;
use faer::{Mat, Par};
use serde::{Deserialize, Serialize};

/// What one minibatch's estimate reports besides the gradient (free phase, summed over it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Misclassified examples.
    pub errors: usize,
    /// Summed cost.
    pub cost: f64,
    /// Largest free-phase residual ‖∂Φ/∂s‖∞ (of the shards).
    pub residual: f64,
    /// Relaxation steps (force evaluations), summed over the shards.
    pub steps: usize,
    /// Shards (independently relaxed parts of the minibatch) these statistics cover.
    pub shards: usize,
}

impl BatchStats {
    /// These statistics followed by `other`'s (errors, costs, steps and shards add up; the
    /// larger residual). Shards, threads and processes all combine with this, in order, so
    /// that a sum is rounded the same way however the minibatch was split.
    pub fn merge(self, other: BatchStats) -> BatchStats {
        BatchStats {
            errors: self.errors + other.errors,
            cost: self.cost + other.cost,
            residual: self.residual.max(other.residual),
            steps: self.steps + other.steps,
            shards: self.shards + other.shards,
        }
    }

    /// Relaxation steps per shard (0 when none ran).
    pub fn steps_per_shard(&self) -> f64 {
        self.steps as f64 / self.shards.max(1) as f64
    }
}

/// Which estimator a run trains with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// Equilibrium propagation with the configured phases (`centered`, `beta`, steps).
    #[default]
    EqProp,
    /// The exact gradient by implicit differentiation at the true equilibrium, per example, in
    /// f64 (FHN with ε > 0: O((2 Σ n_l)³) per example, small networks only; Hopfield: the
    /// active-set solve, O(active units³)).
    Implicit,
}

/// A gradient estimator over minibatches.
pub trait GradientEstimator: Send {
    /// The estimate of the mean gradient over examples `idx` of `split`, written to `grads`
    /// (divided by the estimator's `mean_over`: the global minibatch when `idx` is one
    /// process's part of it).
    fn estimate(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        split: &Split,
        idx: &[usize],
        grads: &mut Grads<f32>,
    ) -> Result<BatchStats>;
    /// Call after the weights changed.
    fn weights_changed(&mut self, net: &LayeredNet<f32>);
    /// Hands back the persistent free states given to the estimator (None if it has none).
    fn take_free_states(&mut self) -> Option<FreeStates> {
        None
    }
}

/// EqProp on the sharded CPU relaxation (one shard per thread).
pub struct EqProp {
    shards: Shards,
    /// Where free phases start (`training.free_start` decides when built by [`estimator`]).
    free_start: FreeStart,
    /// Each training example's last free state (with [`FreeStart::Persistent`]).
    states: Option<FreeStates>,
}

impl EqProp {
    /// For minibatches of `batch` examples on `threads` shards.
    pub fn new(net: &LayeredNet<f32>, batch: usize, threads: usize) -> Self {
        Self {
            shards: Shards::new(net, batch, threads),
            free_start: FreeStart::Zero,
            states: None,
        }
    }

    /// The same for `batch` examples that are part of a minibatch of `mean_over` (data
    /// parallelism: each process estimates its part, the reducer adds the parts).
    pub fn part_of(net: &LayeredNet<f32>, batch: usize, threads: usize, mean_over: usize) -> Self {
        Self {
            shards: Shards::new(net, batch, threads).mean_over(mean_over),
            free_start: FreeStart::Zero,
            states: None,
        }
    }

    /// Free phases start at `start`; `states` (required for [`FreeStart::Persistent`], where
    /// they start at zero for an example without one) are indexed by training example.
    pub fn starting(mut self, start: FreeStart, states: Option<FreeStates>) -> Self {
        self.free_start = start;
        self.states = states;
        self
    }
}

impl GradientEstimator for EqProp {
    fn estimate(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        split: &Split,
        idx: &[usize],
        grads: &mut Grads<f32>,
    ) -> Result<BatchStats> {
        let start = match (self.free_start, &self.states) {
            (FreeStart::Previous, _) => Start::Previous,
            (FreeStart::Persistent, Some(s)) => Start::Stored(s),
            _ => Start::Zero,
        };
        self.shards.load_from(cfg, split, idx, start);
        let stats = self.shards.eqprop(net, cfg, grads)?;
        if let Some(s) = self.states.as_mut() {
            self.shards.keep(idx, s);
        }
        Ok(stats)
    }

    fn weights_changed(&mut self, net: &LayeredNet<f32>) {
        self.shards.refresh(net);
    }

    fn take_free_states(&mut self) -> Option<FreeStates> {
        self.states.take()
    }
}

/// The implicit (exact) gradient; the configured free phase still runs for the statistics.
pub struct Implicit {
    shards: Shards,
    /// The examples of the whole minibatch (see [`EqProp::part_of`]).
    mean_over: usize,
}

impl Implicit {
    /// For `batch` examples, part of a minibatch of `mean_over`, on `threads` shards (the free
    /// phase only).
    pub fn part_of(net: &LayeredNet<f32>, batch: usize, threads: usize, mean_over: usize) -> Self {
        Self {
            shards: Shards::new(net, batch, threads),
            mean_over,
        }
    }
}

impl GradientEstimator for Implicit {
    fn estimate(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        split: &Split,
        idx: &[usize],
        grads: &mut Grads<f32>,
    ) -> Result<BatchStats> {
        self.shards.load(cfg, split, idx);
        let stats = self.shards.evaluate(net, cfg, cfg.training.free_steps)?;
        let (x, y) = self.shards.inputs_and_targets();
        let (exact, _) = exact_gradient(net, cfg, &x, &y)?;
        // The mean over this part, weighted by its share of the minibatch.
        let share = x.ncols() as f64 / self.mean_over.max(1) as f64;
        for (g, e) in grads.w.iter_mut().zip(&exact.w) {
            *g = Mat::from_fn(e.nrows(), e.ncols(), |i, j| (share * e[(i, j)]) as f32);
        }
        for (g, e) in grads.b.iter_mut().zip(&exact.b) {
            g.iter_mut()
                .zip(e)
                .for_each(|(g, &e)| *g = (share * e) as f32);
        }
        Ok(stats)
    }

    fn weights_changed(&mut self, net: &LayeredNet<f32>) {
        self.shards.refresh(net);
    }
}

/// The estimator `cfg` asks for, for `batch` examples on `threads` shards, part of a minibatch
/// of `mean_over` examples (= `batch` on one process), given the persistent free `states`
/// when `training.free_start = "persistent"`.
pub fn estimator(
    cfg: &TrainConfig,
    net: &LayeredNet<f32>,
    batch: usize,
    threads: usize,
    mean_over: usize,
    states: Option<FreeStates>,
) -> Box<dyn GradientEstimator> {
    match cfg.training.estimator {
        Estimator::EqProp => Box::new(
            EqProp::part_of(net, batch, threads, mean_over)
                .starting(cfg.training.free_start, states),
        ),
        Estimator::Implicit => Box::new(Implicit::part_of(net, batch, threads, mean_over)),
    }
}

/// Steps of the converging free phase before the Newton polish.
const SETTLE_STEPS: usize = 20_000;

/// The exact gradient of the mean cost `cost_scale‖u_L − y‖²` over the columns of `x` (inputs,
/// n_0 × B) and `y` (targets) at the true equilibria, in f64. FHN (ε > 0): Jacobi to 1e-9,
/// Newton-polished, then implicit differentiation on the graph view. Hopfield: exact
/// red-black sweeps to the fixed point, then the active-set solve
/// ([`LayeredNet::hopfield_implicit_gradient`]). Both start from rest: where the energy has
/// several minima this is the equilibrium a free phase from zero reaches. Returns it with the
/// largest residual of the equilibria. The model is `net`'s; `cfg` gives the cost.
pub fn exact_gradient(
    net: &LayeredNet<f32>,
    cfg: &TrainConfig,
    x: &Mat<f32>,
    y: &Mat<f32>,
) -> Result<(Grads<f64>, f64)> {
    let w = &net.model.widths;
    let last = w.len() - 1;
    if x.nrows() != w[0] || y.nrows() != w[last] || y.ncols() != x.ncols() {
        return Err(crate::Error::Invalid(format!(
            "inputs {}×{} and targets {}×{} for a {w:?} network",
            x.nrows(),
            x.ncols(),
            y.nrows(),
            y.ncols()
        )));
    }
    let net64 = net.to_f64();
    let scale = 2.0 * cfg.training.cost_scale / x.ncols() as f64;
    if net.model.kind == Kind::Hopfield {
        return hopfield_exact_gradient(&net64, x, y, scale);
    }
    let off = node_offsets(w);
    let mut exact = Grads::zeros_like(&net64);
    let mut worst: f64 = 0.0;
    for b in 0..x.ncols() {
        let xb = Mat::from_fn(x.nrows(), 1, |i, _| x[(i, b)] as f64);
        let mut ws = net64.workspace(1);
        let mut st = net64.init_state(xb.clone());
        net64.prepare_input(&st, &mut ws, Par::Seq);
        let dt = 0.5; // Jacobi: stable at 0.5 for our settings and the paper's alike
        let newton = Solver::Newton;
        net64.relax(
            &mut st,
            &mut ws,
            Phase {
                nudge: None,
                dt,
                max_steps: SETTLE_STEPS,
                tol: 1e-9,
                solver: newton,
            },
            Par::Seq,
        )?;
        worst = worst.max(net64.residual(&st, &mut ws, None, Par::Seq));
        let g = net64.as_graph(col(&xb, 0))?;
        let mut s = g.initial_state();
        for l in 1..w.len() {
            for k in 0..w[l] {
                s.u[off[l] + k] = st.u[l][(k, 0)];
                s.v[off[l] + k] = st.v[l][(k, 0)];
            }
        }
        let cost = Cost {
            outputs: (0..w[last]).map(|k| off[last] + k).collect(),
            targets: (0..w[last]).map(|k| y[(k, b)] as f64).collect(),
        };
        // The graph's parameters: activator edges (the weights column by column, then leak
        // edges), inhibitor edges (the weights again when coupled), one current per node.
        let full = implicit_gradient(&g, &s, &cost);
        let weights: usize = net.weights.iter().map(|m| m.nrows() * m.ncols()).sum();
        let (n_act, n_inh) = (g.activator.edges.len(), g.inhibitor.edges.len());
        let mut at = 0;
        for e in exact.w.iter_mut() {
            let rows = e.nrows();
            for j in 0..e.ncols() {
                for i in 0..rows {
                    let k = at + j * rows + i;
                    let inh = if n_inh > 0 { full[n_act + k] } else { 0.0 };
                    e[(i, j)] += scale * (full[k] + inh);
                }
            }
            at += e.nrows() * e.ncols();
        }
        debug_assert!(at == weights);
        for (l, e) in exact.b.iter_mut().enumerate() {
            for (k, e) in e.iter_mut().enumerate() {
                *e += scale * full[n_act + n_inh + off[l + 1] + k];
            }
        }
    }
    Ok((exact, worst))
}

/// [`exact_gradient`] of a Hopfield network: the whole batch swept to its fixed point (each
/// red-black sweep sets a layer to its exact minimiser), then one active-set solve per example,
/// each scaled by `scale`.
fn hopfield_exact_gradient(
    net: &LayeredNet<f64>,
    x: &Mat<f32>,
    y: &Mat<f32>,
    scale: f64,
) -> Result<(Grads<f64>, f64)> {
    let last = net.model.widths.len() - 1;
    let batch = x.ncols();
    let xb = Mat::from_fn(x.nrows(), batch, |i, j| x[(i, j)] as f64);
    let mut ws = net.workspace(batch);
    let mut st = net.init_state(xb);
    net.prepare_input(&st, &mut ws, Par::Seq);
    let phase = Phase {
        nudge: None,
        dt: 1.0,
        max_steps: SETTLE_STEPS,
        tol: 1e-12,
        solver: Solver::RedBlack,
    };
    let sweeps = net.relax(&mut st, &mut ws, phase, Par::Seq)?;
    let worst = net.residual(&st, &mut ws, None, Par::Seq);
    // The active-set gradient is exact only at a fixed point.
    if !worst.is_finite() || worst > 1e-9 {
        return Err(crate::Error::NotConverged {
            what: "red-black sweeps to the Hopfield fixed point".into(),
            residual: worst,
            iterations: sweeps,
            tol: 1e-9,
        });
    }
    let mut exact = Grads::zeros_like(net);
    for b in 0..batch {
        let dcu: Vec<f64> = (0..net.model.widths[last])
            .map(|k| st.u[last][(k, b)].clamp(0.0, 1.0) - y[(k, b)] as f64)
            .collect();
        net.hopfield_implicit_gradient(&st, b, &dcu, scale, &mut exact)?;
    }
    Ok((exact, worst))
}
