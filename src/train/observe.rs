//! The outputs of the training loop as observers: the run folder's files, the progress bar and
//! the echo on stderr are each one [`Observer`]; a library caller (Python, a sweep) adds its
//! own with [`super::Trainer::add_observer`] to receive log lines, progress and each epoch's
//! metrics, and can stop training between batches.

use super::run_dir::{append_metrics, plot_curves, EpochMetrics};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

/// Where an epoch stands after a batch (or a chunk of batches on a device).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Epoch being trained (1-based).
    pub epoch: usize,
    /// Training examples seen in this epoch.
    pub seen: usize,
    /// Training examples in this epoch.
    pub total: usize,
    /// Running training error (fraction).
    pub train_error: f64,
    /// Mean free-phase residual so far.
    pub residual: f64,
    /// Training seconds in this epoch so far.
    pub seconds: f64,
}

impl Progress {
    /// The line `log.txt` records every tenth of an epoch when no progress bar is shown.
    pub fn line(&self) -> String {
        format!(
            "  epoch {}: {}/{} examples, {:.0} ex/s, running train error {:.2}%, residual {:.1e}",
            self.epoch,
            self.seen,
            self.total,
            self.seen as f64 / self.seconds,
            100.0 * self.train_error,
            self.residual
        )
    }
}

/// Whether training goes on after an observer has seen a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop between batches: the epoch is abandoned and the last checkpoint stays as it is;
    /// the trainer's weights in memory are mid-epoch (and, on a device, still there), so
    /// continue from the checkpoint (`--resume`), not with the same trainer.
    Stop,
}

/// One output of the training loop; every method defaults to doing nothing.
pub trait Observer: Send {
    /// A line of the run's log.
    fn log(&mut self, _line: &str) -> Result<()> {
        Ok(())
    }
    /// Progress within an epoch.
    fn progress(&mut self, _p: &Progress) -> Result<Flow> {
        Ok(Flow::Continue)
    }
    /// A finished epoch, after its checkpoint is on disk.
    fn epoch(&mut self, _m: &EpochMetrics) -> Result<()> {
        Ok(())
    }
    /// Whether this observer shows progress live (then progress lines are not logged).
    fn live(&self) -> bool {
        false
    }
}

/// The run folder's records: `log.txt`, `metrics.jsonl` and `curves.png`.
pub struct RunFiles {
    /// Run folder.
    pub dir: PathBuf,
}

impl Observer for RunFiles {
    fn log(&mut self, line: &str) -> Result<()> {
        let p = self.dir.join("log.txt");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        writeln!(f, "{line}").map_err(|e| Error::io(&p, e))
    }

    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        append_metrics(&self.dir, m)?;
        plot_curves(&self.dir)
    }
}

/// Every log line also on stderr (the command-line tool's choice).
pub struct Echo;

impl Observer for Echo {
    fn log(&mut self, line: &str) -> Result<()> {
        // The log file is the record; a closed stderr must not stop training.
        let _ = writeln!(std::io::stderr(), "{line}");
        Ok(())
    }
}

/// A progress bar on stderr while an epoch trains (hidden when stderr is not a terminal).
#[derive(Default)]
pub struct ProgressBar {
    bar: Option<(usize, indicatif::ProgressBar)>,
}

impl ProgressBar {
    fn start(epoch: usize, total: usize) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {rate} eta {eta} {msg}",
            )
            .expect("template")
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} examples/s", s.per_sec());
                },
            )
            .progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        bar
    }
}

impl Observer for ProgressBar {
    fn progress(&mut self, p: &Progress) -> Result<Flow> {
        if self.bar.as_ref().is_none_or(|(e, _)| *e != p.epoch) {
            self.bar = Some((p.epoch, Self::start(p.epoch, p.total)));
        }
        let (_, bar) = self.bar.as_ref().expect("just set");
        bar.set_position(p.seen as u64);
        bar.set_message(format!(
            "err {:.2}% res {:.1e}",
            100.0 * p.train_error,
            p.residual
        ));
        if p.seen >= p.total {
            bar.finish_and_clear();
        }
        Ok(Flow::Continue)
    }

    fn live(&self) -> bool {
        !indicatif::ProgressDrawTarget::stderr().is_hidden()
    }
}
