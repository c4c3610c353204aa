//! A minibatch split into per-thread shards. Examples are independent until the weight update,
//! so each shard relaxes on its own thread with single-threaded GEMMs: no synchronisation per
//! relaxation step (GEMM-level threading synchronises twice per layer and step and loses at
//! small batches; docs/PERFORMANCE.md). Results depend on the shard count, so a run is
//! reproducible for the same seed and thread count.

use super::config::TrainConfig;
use super::estimate::BatchStats;
use super::warm::FreeStates;
use crate::data::Split;
use crate::error::Result;
use crate::layered::{col, BatchState, Grads, LayeredNet, Nudge, Phase, Workspace};
use faer::{Mat, Par};
use rayon::prelude::*;

/// Reusable buffers of one shard: the three phase states, targets, labels and the workspace.
pub(super) struct Phases {
    pub free: BatchState<f32>,
    plus: BatchState<f32>,
    minus: BatchState<f32>,
    pub target: Mat<f32>,
    pub labels: Vec<u8>,
    pub ws: Workspace<f32>,
}

impl Phases {
    fn new(net: &LayeredNet<f32>, batch: usize) -> Self {
        let free = net.init_state(Mat::zeros(net.model.widths[0], batch));
        Self {
            plus: free.clone(),
            minus: free.clone(),
            free,
            target: Mat::zeros(*net.model.widths.last().unwrap(), batch),
            labels: vec![0; batch],
            ws: net.workspace(batch),
        }
    }

    fn batch(&self) -> usize {
        self.labels.len()
    }

    /// Loads examples `idx` of `split` into the clamped input and the targets; the hidden and
    /// output state is set by `start`.
    fn load(&mut self, cfg: &TrainConfig, split: &Split, idx: &[usize], start: Start) {
        let scale = (cfg.data.input_scale / 255.0) as f32;
        let t = &cfg.training;
        for (b, &i) in idx.iter().enumerate() {
            for (k, &p) in split.image(i).iter().enumerate() {
                self.free.u[0][(k, b)] = p as f32 * scale;
            }
            self.labels[b] = split.labels[i];
            for c in 0..self.target.nrows() {
                let on = c == split.labels[i] as usize;
                self.target[(c, b)] = if on { t.target_on } else { t.target_off } as f32;
            }
        }
        match start {
            Start::Zero => {
                for l in 1..self.free.u.len() {
                    self.free.u[l].fill(0.0);
                    self.free.v[l].fill(0.0);
                }
            }
            Start::Previous => {}
            Start::Stored(states) => {
                for (b, &i) in idx.iter().enumerate() {
                    states.restore(i, &mut self.free, b);
                }
            }
        }
    }

    /// Free phase of `steps` steps from the loaded state; returns the residual ‖∂Φ/∂s‖∞ and
    /// the steps taken.
    fn free_phase(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        steps: usize,
    ) -> Result<(f64, usize)> {
        let t = &cfg.training;
        net.prepare_input(&self.free, &mut self.ws, Par::Seq);
        let (st, ws) = (&mut self.free, &mut self.ws);
        ws.anderson_memory = t.anderson_memory;
        let dt = t.dt as f32;
        let taken = net.relax(
            st,
            ws,
            Phase {
                nudge: None,
                dt,
                max_steps: steps,
                tol: t.tolerance,
                solver: t.solver,
            },
            Par::Seq,
        )?;
        Ok((
            net.residual(&self.free, &mut self.ws, None, Par::Seq),
            taken,
        ))
    }

    /// The free phase's statistics: errors and summed cost of the free state, its residual and
    /// the steps taken.
    fn stats(&self, cfg: &TrainConfig, residual: f64, steps: usize) -> BatchStats {
        let (errors, cost) = self.score(cfg);
        BatchStats {
            errors,
            cost,
            residual,
            steps,
            shards: 1,
        }
    }

    /// (errors, summed cost) of the free state.
    fn score(&self, cfg: &TrainConfig) -> (usize, f64) {
        let out = self.free.u.last().unwrap();
        let mut errors = 0;
        let mut cost = 0.0;
        for (b, &y) in self.labels.iter().enumerate() {
            let guess = (0..out.nrows())
                .max_by(|&i, &j| out[(i, b)].total_cmp(&out[(j, b)]))
                .unwrap_or(0);
            errors += usize::from(guess != y as usize);
            for c in 0..out.nrows() {
                let d = (out[(c, b)] - self.target[(c, b)]) as f64;
                cost += cfg.training.cost_scale * d * d;
            }
        }
        (errors, cost)
    }

    /// Free phase, nudged phase(s) and the EqProp estimate added to `grads` with weight
    /// `1/denom`; returns the free phase's statistics (steps: of all phases).
    fn eqprop(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        grads: &mut Grads<f32>,
        denom: f32,
    ) -> Result<BatchStats> {
        let t = &cfg.training;
        let (residual, mut steps) = self.free_phase(net, cfg, t.free_steps)?;
        // Φ + β·C with C = cost_scale‖u − y‖²: the output force is 2·cost_scale·β·(u − y).
        let force = (2.0 * t.cost_scale * t.beta) as f32;
        let dt = t.dt as f32;
        let nudged = |state: &mut BatchState<f32>, ws: &mut Workspace<f32>, sign: f32| {
            state.clone_from(&self.free);
            let nudge = Nudge {
                target: &self.target,
                gain: sign * force,
            };
            let n = t.nudge_steps;
            net.relax(
                state,
                ws,
                Phase {
                    nudge: Some(nudge),
                    dt,
                    max_steps: n,
                    tol: t.nudge_tol(),
                    solver: t.solver,
                },
                Par::Seq,
            )
        };
        steps += nudged(&mut self.plus, &mut self.ws, 1.0)?;
        let reference = if t.centered {
            steps += nudged(&mut self.minus, &mut self.ws, -1.0)?;
            &self.minus
        } else {
            &self.free
        };
        let ws = &mut self.ws;
        net.accumulate_param_grad_difference(
            &self.plus,
            reference,
            ws,
            1.0 / denom,
            grads,
            Par::Seq,
        );
        Ok(self.stats(cfg, residual, steps))
    }
}

/// Where a loaded minibatch's free phase starts.
#[derive(Clone, Copy)]
pub(super) enum Start<'a> {
    /// Zero hidden and output state.
    Zero,
    /// Each shard's last free state.
    Previous,
    /// Each example's stored state.
    Stored(&'a FreeStates),
}

/// A minibatch as up to `threads` shards of nearly equal size ([`super::reduce::part`]).
pub(super) struct Shards {
    pub parts: Vec<Phases>,
    grads: Vec<Grads<f32>>,
    /// The estimate is a mean over this many examples (the whole minibatch when these shards
    /// hold one process's part of it).
    mean_over: usize,
}

impl Shards {
    pub fn new(net: &LayeredNet<f32>, batch: usize, threads: usize) -> Self {
        let n = threads.clamp(1, batch.max(1));
        let parts: Vec<Phases> = (0..n)
            .map(|i| Phases::new(net, super::reduce::part(batch, i, n).len()))
            .collect();
        let grads = parts.iter().map(|_| Grads::zeros_like(net)).collect();
        Self {
            parts,
            grads,
            mean_over: batch,
        }
    }

    /// The estimate divides by `examples` instead of this minibatch's size.
    pub fn mean_over(mut self, examples: usize) -> Self {
        self.mean_over = examples;
        self
    }

    /// Total examples.
    pub fn batch(&self) -> usize {
        self.parts.iter().map(Phases::batch).sum()
    }

    /// Loads examples `idx` (exactly [`Self::batch`] of them), in order, across the shards,
    /// with zero hidden and output state.
    pub fn load(&mut self, cfg: &TrainConfig, split: &Split, idx: &[usize]) {
        self.load_from(cfg, split, idx, Start::Zero);
    }

    /// [`Self::load`] with the free phase starting at `start`.
    pub fn load_from(&mut self, cfg: &TrainConfig, split: &Split, idx: &[usize], start: Start) {
        assert_eq!(idx.len(), self.batch(), "minibatch size");
        let mut rest = idx;
        for p in self.parts.iter_mut() {
            let (mine, tail) = rest.split_at(p.batch());
            p.load(cfg, split, mine, start);
            rest = tail;
        }
    }

    /// Stores the free states of examples `idx` (as loaded) in `states`.
    pub fn keep(&self, idx: &[usize], states: &mut FreeStates) {
        let mut rest = idx;
        for p in &self.parts {
            let (mine, tail) = rest.split_at(p.batch());
            for (b, &i) in mine.iter().enumerate() {
                states.keep(i, &p.free, b);
            }
            rest = tail;
        }
    }

    /// Free phase of `steps` steps on every shard in parallel.
    pub fn evaluate(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        steps: usize,
    ) -> Result<BatchStats> {
        let out: Vec<Result<BatchStats>> = self
            .parts
            .par_iter_mut()
            .map(|p| {
                let (r, taken) = p.free_phase(net, cfg, steps)?;
                Ok(p.stats(cfg, r, taken))
            })
            .collect();
        combine(out)
    }

    /// One EqProp estimate of the mean gradient over the minibatch, written to `total`.
    pub fn eqprop(
        &mut self,
        net: &LayeredNet<f32>,
        cfg: &TrainConfig,
        total: &mut Grads<f32>,
    ) -> Result<BatchStats> {
        let t = &cfg.training;
        let denom = self.mean_over as f32 * t.beta as f32 * if t.centered { 2.0 } else { 1.0 };
        let out: Vec<Result<BatchStats>> = self
            .parts
            .par_iter_mut()
            .zip(self.grads.par_iter_mut())
            .map(|(p, g)| {
                g.clear();
                p.eqprop(net, cfg, g, denom)
            })
            .collect();
        let stats = combine(out)?;
        // The shards' sum, in shard order for every entry; columns in parallel.
        for (l, t) in total.w.iter_mut().enumerate() {
            t.as_mut()
                .par_col_iter_mut()
                .enumerate()
                .with_min_len(16)
                .for_each(|(j, c)| {
                    let tj = c.try_as_col_major_mut().expect("contiguous").as_slice_mut();
                    tj.fill(0.0);
                    for g in &self.grads {
                        tj.iter_mut()
                            .zip(col(&g.w[l], j))
                            .for_each(|(x, y)| *x += y);
                    }
                });
        }
        for (l, t) in total.b.iter_mut().enumerate() {
            t.fill(0.0);
            for g in &self.grads {
                t.iter_mut().zip(&g.b[l]).for_each(|(x, y)| *x += y);
            }
        }
        Ok(stats)
    }

    /// Call after changing the weights (the diagonal is computed once and copied).
    pub fn refresh(&mut self, net: &LayeredNet<f32>) {
        if let Some((first, rest)) = self.parts.split_first_mut() {
            net.refresh_diagonal(&mut first.ws);
            for p in rest {
                p.ws.copy_diagonal_from(&first.ws);
            }
        }
    }

    /// Clamped input and targets of the whole minibatch (n_0 × B, n_L × B).
    pub fn inputs_and_targets(&self) -> (Mat<f32>, Mat<f32>) {
        let cat = |f: &dyn Fn(&Phases) -> &Mat<f32>| {
            let rows = f(&self.parts[0]).nrows();
            let mut out = Mat::zeros(rows, self.batch());
            let mut j0 = 0;
            for p in &self.parts {
                let m = f(p);
                for j in 0..m.ncols() {
                    for i in 0..rows {
                        out[(i, j0 + j)] = m[(i, j)];
                    }
                }
                j0 += m.ncols();
            }
            out
        };
        (cat(&|p| &p.free.u[0]), cat(&|p| &p.target))
    }
}

/// The shards' statistics merged in order; the first error wins.
fn combine(out: Vec<Result<BatchStats>>) -> Result<BatchStats> {
    out.into_iter()
        .try_fold(BatchStats::default(), |s, x| Ok(s.merge(x?)))
}
