//! Loading the data a configuration names, and free-phase evaluation on a split.

use super::config::TrainConfig;
use super::estimate::BatchStats;
use super::reduce::part;
use super::shards::Shards;
use crate::data::{bundled_mnist_dir, load_mnist_dir, Dataset, Split};
use crate::error::Result;
use crate::layered::LayeredNet;
use serde::Serialize;

/// Error, cost and residual of the free phase on a split.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Evaluation {
    /// Fraction misclassified.
    pub error: f64,
    /// Mean cost.
    pub cost: f64,
    /// Mean end-of-phase residual.
    pub residual: f64,
}

/// Loads the data set a configuration names and checks that it fits the model.
pub fn load_data(cfg: &TrainConfig) -> Result<Dataset> {
    let d = load_dataset(cfg)?;
    cfg.check_data(&d)?;
    Ok(d)
}

/// Loads the data set a configuration names (its directory, validation split and limits)
/// without checking it against the model ([`TrainConfig::fit_to`] may adapt the model first).
pub fn load_dataset(cfg: &TrainConfig) -> Result<Dataset> {
    let dir = cfg.data.dir.clone().unwrap_or_else(bundled_mnist_dir);
    let mut d = load_mnist_dir(&dir, cfg.data.validation)?;
    if cfg.data.train_limit > 0 && cfg.data.train_limit < d.train.len() {
        d.train = d.train.slice(0..cfg.data.train_limit);
    }
    if cfg.data.eval_limit > 0 {
        d.val = d.val.slice(0..cfg.data.eval_limit.min(d.val.len()));
        d.test = d.test.slice(0..cfg.data.eval_limit.min(d.test.len()));
    }
    Ok(d)
}

/// Free-phase evaluation of `net` on `split` (`eval_steps` steps, `threads` shards per batch).
pub fn evaluate(
    net: &LayeredNet<f32>,
    cfg: &TrainConfig,
    split: &Split,
    threads: usize,
) -> Result<Evaluation> {
    let batches = evaluate_part(net, cfg, split, threads, 0, 1)?;
    Ok(Evaluation::from_batches(&batches, split.len()))
}

/// Process `rank` of `ranks`'s part ([`part`]) of every evaluation batch of `split`: the
/// statistics per batch (merge them across processes in rank order).
pub fn evaluate_part(
    net: &LayeredNet<f32>,
    cfg: &TrainConfig,
    split: &Split,
    threads: usize,
    rank: usize,
    ranks: usize,
) -> Result<Vec<BatchStats>> {
    let bs = cfg.training.eval_batch_size.min(split.len()).max(1);
    let mut sh: Option<Shards> = None;
    let all: Vec<usize> = (0..split.len()).collect();
    let mut out = Vec::with_capacity(all.len().div_ceil(bs));
    for chunk in all.chunks(bs) {
        let mine = &chunk[part(chunk.len(), rank, ranks)];
        if mine.is_empty() {
            out.push(BatchStats::default());
            continue;
        }
        let shards = match &mut sh {
            Some(s) if s.batch() == mine.len() => s,
            _ => sh.insert(Shards::new(net, mine.len(), threads)),
        };
        shards.load(cfg, split, mine);
        out.push(shards.evaluate(net, cfg, cfg.training.eval_steps)?);
    }
    Ok(out)
}

impl Evaluation {
    /// From the statistics of every batch of a split of `examples` (residual: the mean over
    /// batches of each batch's largest).
    pub fn from_batches(batches: &[BatchStats], examples: usize) -> Self {
        let total = batches.iter().fold((0usize, 0.0, 0.0), |(e, c, r), b| {
            (e + b.errors, c + b.cost, r + b.residual)
        });
        let n = examples.max(1) as f64;
        Evaluation {
            error: total.0 as f64 / n,
            cost: total.1 / n,
            residual: total.2 / batches.len().max(1) as f64,
        }
    }
}
