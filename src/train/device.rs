//! Training on a backend engine (`--device host|cuda`): the same epoch, metrics and run folder
//! as the sharded CPU trainer, with the steps run by [`crate::backend::Engine`]. The engine
//! keeps weights and momentum for the whole epoch; the trainer reads the per-batch statistics
//! every [`CHUNK`] batches (progress, divergence) and the weights at the end of the epoch.

use super::{optim, EpochMetrics, Progress, Trainer};
use crate::backend::{BatchStats, DeviceKind};
use crate::error::{Error, Result};
use std::time::Instant;

/// Batches run between two reads of the statistics.
const CHUNK: usize = 25;

impl Trainer {
    /// Runs the steps on `kind` from now on (the weights and momentum move to the engine;
    /// [`DeviceKind::Cpu`] returns to the sharded trainer).
    pub fn use_device(&mut self, kind: DeviceKind) -> Result<()> {
        if let Some(d) = &self.device {
            d.get(&mut self.net, &mut self.state.first)?;
        }
        self.device = kind.engine(&self.cfg, &self.net, &self.state.first)?;
        if let Err(e) = self.check_parts() {
            self.device = None;
            return Err(e);
        }
        Ok(())
    }

    pub(super) fn run_epoch_device(
        &mut self,
        epoch: usize,
        order: &[usize],
    ) -> Result<EpochMetrics> {
        let mut dev = self.device.take().expect("called with a device");
        let out = self.device_epoch(&mut *dev, epoch, order);
        self.device = Some(dev);
        let m = out?;
        self.epoch = epoch;
        self.lr_scale = self.cfg.training.lr_scale_after(epoch, self.lr_scale);
        self.commit_epoch(&m)?;
        Ok(m)
    }

    fn device_epoch(
        &mut self,
        dev: &mut dyn crate::backend::Device,
        epoch: usize,
        order: &[usize],
    ) -> Result<EpochMetrics> {
        let bs = self.cfg.training.batch_size.min(self.data.train.len());
        let batches = match &self.epoch_train {
            Some(shifted) => dev.start_epoch(&format!("train, epoch {epoch}"), shifted, order)?,
            None => dev.start_epoch("train", &self.data.train, order)?,
        };
        let start = Instant::now();
        let mut rows: Vec<BatchStats> = Vec::with_capacity(batches);
        let mut logged = 0;
        while rows.len() < batches {
            let k = rows.len();
            let n = CHUNK.min(batches - k);
            dev.train_batches(n, self.lr_scale)?;
            let new = dev.batch_stats(k..k + n)?;
            if let Some(j) = new
                .iter()
                .position(|r| !r.residual.is_finite() || r.ratios.iter().any(|x| !x.is_finite()))
            {
                return Err(Error::Diverged(format!(
                    "epoch {epoch}, batch {}: non-finite free-phase residual or weights after the update",
                    k + j
                )));
            }
            rows.extend(new);
            let seen = rows.len() * bs;
            let errors: f64 = rows.iter().map(|r| r.errors).sum();
            let residual = rows.iter().map(|r| r.residual).sum::<f64>() / rows.len() as f64;
            let tenth = rows.len() * 10 / batches > logged && rows.len() < batches;
            logged = rows.len() * 10 / batches;
            let p = Progress {
                epoch,
                seen,
                total: batches * bs,
                train_error: errors / seen as f64,
                residual,
                seconds: start.elapsed().as_secs_f64(),
            };
            self.progress(&p, tenth)?;
        }
        let secs = start.elapsed().as_secs_f64();
        dev.get(&mut self.net, &mut self.state.first)?;
        let val = dev.evaluate("val", &self.data.val)?;
        let test = dev.evaluate("test", &self.data.test)?;
        let t = &self.cfg.training;
        let seen = (batches * bs).max(1) as f64;
        let nb = batches.max(1) as f64;
        let depth = self.net.weights.len();
        let m = EpochMetrics {
            epoch,
            train_error: rows.iter().map(|r| r.errors).sum::<f64>() / seen,
            train_cost: rows.iter().map(|r| r.cost).sum::<f64>() / seen,
            val_error: val.error,
            val_cost: val.cost,
            test_error: test.error,
            free_residual: rows.iter().map(|r| r.residual).sum::<f64>() / nb,
            eval_residual: val.residual,
            weight_norms: self.net.weights.iter().map(optim::frobenius).collect(),
            update_ratios: (0..depth)
                .map(|l| rows.iter().map(|r| r.ratios[l]).sum::<f64>() / nb)
                .collect(),
            train_seconds: secs,
            examples_per_second: seen / secs,
            relax_steps: (t.free_steps + t.nudge_steps * if t.centered { 2 } else { 1 }) as f64,
            gradient_quality: self.probe()?,
        };
        Ok(m)
    }

    /// [`Trainer::time_steps`] on the engine (waits for the last batch before stopping the clock).
    pub(super) fn time_steps_device(&mut self, batches: usize) -> Result<(f64, f64)> {
        let t = &self.cfg.training;
        let phases = if t.centered { 2 } else { 1 };
        let flops = self
            .net
            .step_flops(t.free_steps + 1 + phases * t.nudge_steps, 2);
        let (bs, n) = (t.batch_size, self.data.train.len());
        let order: Vec<usize> = (0..batches * bs).map(|i| i % n).collect();
        let dev = self.device.as_mut().expect("called with a device");
        if batches == 0 {
            return Ok((0.0, flops));
        }
        dev.start_epoch("train", &self.data.train, &order)?;
        let start = Instant::now();
        {
            dev.train_batches(batches, self.lr_scale)?;
            dev.batch_stats(batches - 1..batches)?;
        }
        Ok((start.elapsed().as_secs_f64(), flops))
    }

    /// One step on examples `idx` on the engine; the weights come back to `self.net`.
    pub(super) fn step_on_device(&mut self, idx: &[usize]) -> Result<()> {
        let dev = self.device.as_mut().expect("called with a device");
        if idx.len() != self.cfg.training.batch_size {
            return Err(Error::Invalid(
                "step_on: one batch of training.batch_size examples".into(),
            ));
        }
        dev.start_epoch("train", &self.data.train, idx)?;
        dev.train_batches(1, self.lr_scale)?;
        dev.get(&mut self.net, &mut self.state.first)
    }
}
