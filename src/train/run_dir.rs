//! The run folder: its lock, `metrics.jsonl`, `results.json` and `curves.png`.

use super::config::TrainConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// An exclusive lock on a run folder (`.lock`, an OS file lock): two `fhn train` processes
/// never write the same folder. The OS releases it when the process ends, even on `kill -9`.
pub struct RunLock {
    _file: File,
    dir: PathBuf,
}

impl RunLock {
    /// Takes the lock of `dir` (created if needed), or fails at once if another process holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        Self::try_acquire(dir)?.ok_or_else(|| {
            Error::Invalid(format!(
                "{} is in use by another training process (lock {})",
                dir.display(),
                dir.join(".lock").display()
            ))
        })
    }

    /// Takes the lock of `dir` (created if needed); `None` when another process holds it.
    pub fn try_acquire(dir: &Path) -> Result<Option<Self>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let p = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self {
                _file: file,
                dir: dir.into(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&p, e)),
        }
    }

    /// The locked folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Metrics of one epoch (one line of `metrics.jsonl`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Training error of the free phase during the epoch (before each update).
    pub train_error: f64,
    /// Mean training cost ½‖u_L − y‖²·2·cost_scale at the free state.
    pub train_cost: f64,
    /// Validation error.
    pub val_error: f64,
    /// Validation cost.
    pub val_cost: f64,
    /// Test error.
    pub test_error: f64,
    /// Mean free-phase residual ‖∂Φ/∂s‖∞ at the end of the free phase (training batches).
    pub free_residual: f64,
    /// Mean free-phase residual at evaluation (validation batches).
    pub eval_residual: f64,
    /// Frobenius norm of each weight matrix at the end of the epoch.
    pub weight_norms: Vec<f64>,
    /// Mean ‖ΔW^l‖/‖W^l‖ per update over the epoch.
    pub update_ratios: Vec<f64>,
    /// Wall time of the epoch's training part (s).
    pub train_seconds: f64,
    /// Training examples per second.
    pub examples_per_second: f64,
    /// Mean relaxation steps (force evaluations) per update, all phases together.
    #[serde(default)]
    pub relax_steps: f64,
    /// Gradient quality on the probe batch after the epoch (`training.probe_examples` > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_quality: Option<super::probe::GradientQuality>,
}

/// Final summary of a run (`results.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// Preset/config name.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Epochs completed.
    pub epochs: usize,
    /// Epoch with the lowest validation error (selected on validation only).
    pub best_epoch: usize,
    /// Validation error at the best epoch.
    pub best_val_error: f64,
    /// Test error at the best epoch (reported, never used for selection).
    pub test_error_at_best: f64,
    /// Test error after the last epoch.
    pub final_test_error: f64,
    /// Total training wall time (s).
    pub train_seconds: f64,
    /// Mean training examples per second.
    pub examples_per_second: f64,
    /// Threads used (by the CPU trainer; one host thread drives a device).
    pub threads: usize,
    /// Where the last session's steps ran: "cpu", or the device (`fhn train --device`).
    #[serde(default)]
    pub device: String,
    /// Architecture widths.
    pub widths: Vec<usize>,
}

/// Keeps the lines of `metrics.jsonl` of epochs ≤ `epoch` byte for byte (a resumed run never
/// rewrites what an earlier process wrote); returns the kept epochs' metrics.
pub fn keep_metrics_through(dir: &Path, epoch: usize) -> Result<Vec<EpochMetrics>> {
    let p = dir.join("metrics.jsonl");
    let old = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let mut text = String::new();
    let mut kept = Vec::new();
    for line in old.lines() {
        if let Ok(m) = serde_json::from_str::<EpochMetrics>(line) {
            if m.epoch <= epoch {
                text.push_str(line);
                text.push('\n');
                kept.push(m);
            }
        }
    }
    if text != old {
        crate::io::write_atomic(&p, text.as_bytes())?;
    }
    Ok(kept)
}

/// Appends one epoch's line to `metrics.jsonl`.
pub fn append_metrics(dir: &Path, m: &EpochMetrics) -> Result<()> {
    use std::io::Write;
    let p = dir.join("metrics.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    let line = serde_json::to_string(m).map_err(|e| Error::Invalid(e.to_string()))?;
    writeln!(f, "{line}").map_err(|e| Error::io(&p, e))
}

/// Reads `metrics.jsonl` of a run folder.
pub fn read_metrics(dir: &Path) -> Result<Vec<EpochMetrics>> {
    let p = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Parse {
                path: p.clone(),
                line: Some(i + 1),
                msg: e.to_string(),
            })
        })
        .collect()
}

/// The summary of the epochs recorded in `dir/metrics.jsonl`.
pub fn summarise(
    dir: &Path,
    cfg: &TrainConfig,
    threads: usize,
    device: &str,
) -> Result<RunSummary> {
    let ms = read_metrics(dir)?;
    let best = ms
        .iter()
        .min_by(|a, b| a.val_error.total_cmp(&b.val_error))
        .ok_or_else(|| Error::Invalid("no epochs recorded".into()))?;
    let secs: f64 = ms.iter().map(|m| m.train_seconds).sum();
    let n: f64 = ms
        .iter()
        .map(|m| m.examples_per_second * m.train_seconds)
        .sum();
    Ok(RunSummary {
        name: cfg.name.clone(),
        seed: cfg.seed,
        epochs: ms.len(),
        best_epoch: best.epoch,
        best_val_error: best.val_error,
        test_error_at_best: best.test_error,
        final_test_error: ms.last().map_or(f64::NAN, |m| m.test_error),
        train_seconds: secs,
        examples_per_second: n / secs.max(1e-12),
        threads,
        device: device.into(),
        widths: cfg.model.widths.clone(),
    })
}

/// Writes `curves.png` (train/validation/test error in percent per epoch, log axis) from
/// `metrics.jsonl`.
pub fn plot_curves(dir: &Path) -> Result<()> {
    let ms = read_metrics(dir)?;
    let s = |label: &str, f: fn(&EpochMetrics) -> f64| crate::plot::Series {
        label: label.into(),
        points: ms.iter().map(|m| (m.epoch as f64, 100.0 * f(m))).collect(),
    };
    let series = [
        s("train", |m| m.train_error),
        s("validation", |m| m.val_error),
        s("test", |m| m.test_error),
    ];
    crate::plot::line_plot(
        &dir.join("curves.png"),
        "EqProp learning curves",
        "epoch",
        "error (%)",
        &series,
        true,
    )?;
    // Per weight layer, the cosine of the trainer's estimate with the exact gradient.
    let layers = ms
        .iter()
        .find_map(|m| m.gradient_quality.as_ref())
        .map(|q| q.cosine.len());
    let Some(n) = layers else { return Ok(()) };
    let series: Vec<crate::plot::Series> = (0..n)
        .map(|l| crate::plot::Series {
            label: format!("W{l}"),
            points: ms
                .iter()
                .filter_map(|m| {
                    m.gradient_quality
                        .as_ref()
                        .map(|q| (m.epoch as f64, q.cosine[l]))
                })
                .filter(|(_, c)| c.is_finite())
                .collect(),
        })
        .collect();
    // An undefined cosine (a zero exact gradient) is left out; with none defined, no figure.
    if series.iter().all(|s| s.points.is_empty()) {
        return Ok(());
    }
    crate::plot::line_plot(
        &dir.join("gradient_quality.png"),
        "EqProp estimate vs exact gradient (probe batch)",
        "epoch",
        "cosine",
        &series,
        false,
    )
}
