//! Loading the data a configuration names, and free-phase evaluation on a split.

use super::config::TrainConfig;
use super::estimate::BatchStats;
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
    let bs = cfg.training.eval_batch_size.min(split.len()).max(1);
    let mut sh = Shards::new(net, bs, threads);
    let (mut errors, mut cost, mut res, mut batches) = (0usize, 0.0, 0.0, 0usize);
    let all: Vec<usize> = (0..split.len()).collect();
    for chunk in all.chunks(bs) {
        if chunk.len() != sh.batch() {
            sh = Shards::new(net, chunk.len(), threads);
        }
        sh.load(cfg, split, chunk);
        let BatchStats {
            errors: e,
            cost: c,
            residual: r,
        } = sh.evaluate(net, cfg, cfg.training.eval_steps)?;
        errors += e;
        cost += c;
        res += r;
        batches += 1;
    }
    let n = split.len().max(1) as f64;
    Ok(Evaluation {
        error: errors as f64 / n,
        cost: cost / n,
        residual: res / batches.max(1) as f64,
    })
}
