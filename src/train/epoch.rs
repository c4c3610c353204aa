//! The epoch loop of [`Trainer`]: minibatches, evaluation, the checkpoint and the outputs of
//! each epoch; `fit` runs the remaining epochs. Also the benchmark's and cross-checks' steps.

use super::eval::evaluate_part;
use super::run_dir::summarise;
use super::shards::Shards;
use super::{checkpoint, optim, probe, reduce, EpochMetrics, Evaluation, Progress};
use super::{RunSummary, Trainer};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::layered::col;
use checkpoint::Checkpoint;
use faer::Mat;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use std::time::Instant;

impl Trainer {
    /// Trains one epoch; returns its metrics (also appended to `metrics.jsonl`).
    pub fn run_epoch(&mut self) -> Result<EpochMetrics> {
        let epoch = self.epoch + 1;
        let bs = self.cfg.training.batch_size.min(self.data.train.len());
        let mut order: Vec<usize> = (0..self.data.train.len()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            self.cfg
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64),
        );
        order.shuffle(&mut rng);
        self.epoch_train = self.shifted_train(epoch)?;
        if self.device.is_some() {
            return self.run_epoch_device(epoch, &order);
        }
        let batches = order.len() / bs;
        let states = self.take_free_states()?;
        let mut est = self.estimator(bs, states);
        let mut ratios = vec![0.0; self.net.weights.len()];
        let (mut errors, mut cost, mut residual, mut seen) = (0usize, 0.0, 0.0, 0usize);
        let mut relax_steps = 0.0;
        let start = Instant::now();
        for k in 0..batches {
            let idx = &order[k * bs..(k + 1) * bs];
            let stats = self
                .train_batch(&mut *est, idx, &mut ratios)
                .map_err(|e| match e {
                    Error::Diverged(m) => Error::Diverged(format!("epoch {epoch}, batch {k}: {m}")),
                    e => e,
                })?;
            if self.net.weights.iter().any(|w| {
                (0..w.ncols())
                    .into_par_iter()
                    .any(|j| col(w, j).iter().any(|x| !x.is_finite()))
            }) {
                let msg = format!("epoch {epoch}, batch {k}: non-finite weights after the update");
                // Every process applied the same update: all stop here, together.
                return Err(match self.reducer.place().1 {
                    1 => Error::Diverged(msg),
                    ranks => Error::Distributed(format!("all {ranks} ranks: divergence: {msg}")),
                });
            }
            errors += stats.errors;
            cost += stats.cost;
            residual += stats.residual;
            relax_steps += stats.steps_per_shard();
            seen += bs;
            let p = Progress {
                epoch,
                seen,
                total: batches * bs,
                train_error: errors as f64 / seen as f64,
                residual: residual / (k + 1) as f64,
                seconds: start.elapsed().as_secs_f64(),
            };
            self.progress(&p, (k + 1) % (batches / 10).max(1) == 0 && k + 1 < batches)?;
        }
        let secs = start.elapsed().as_secs_f64();
        self.free_states = est.take_free_states();
        let val = self.evaluate_split(false)?;
        let test = self.evaluate_split(true)?;
        let m = EpochMetrics {
            epoch,
            train_error: errors as f64 / seen.max(1) as f64,
            train_cost: cost / seen.max(1) as f64,
            val_error: val.error,
            val_cost: val.cost,
            test_error: test.error,
            free_residual: residual / batches.max(1) as f64,
            eval_residual: val.residual,
            weight_norms: self.net.weights.iter().map(optim::frobenius).collect(),
            update_ratios: ratios.iter().map(|r| r / batches.max(1) as f64).collect(),
            train_seconds: secs,
            examples_per_second: seen as f64 / secs,
            relax_steps: relax_steps / batches.max(1) as f64,
            // The probe's figures are the leader's to report.
            gradient_quality: if self.is_leader() {
                self.probe()?
            } else {
                None
            },
        };
        self.epoch = epoch;
        self.lr_scale = self.cfg.training.lr_scale_after(epoch, self.lr_scale);
        self.commit_epoch(&m)?;
        Ok(m)
    }

    /// The training images of `epoch` translated by up to `data.shift` pixels, drawn from the
    /// seed and the epoch alone (None: no shift).
    pub(super) fn shifted_train(&self, epoch: usize) -> Result<Option<Split>> {
        let max = self.cfg.data.shift;
        let seed = (self.cfg.seed ^ 0x5348_4946_5453).wrapping_mul(1_000_033);
        (max > 0)
            .then(|| {
                self.data
                    .train
                    .shifted(max, seed.wrapping_add(epoch as u64))
            })
            .transpose()
    }

    /// The persistent free states for the next epoch. An epoch that stopped early (an error,
    /// an observer's stop) kept them: they come back from the last epoch's file (or zero).
    fn take_free_states(&mut self) -> Result<Option<super::warm::FreeStates>> {
        let lost = self.free_states.is_none()
            && self.cfg.training.free_start == super::config::FreeStart::Persistent;
        if !lost {
            return Ok(self.free_states.take());
        }
        let n = self.data.train.len();
        let (states, note) = super::warm::open(&self.cfg, &self.dir, self.epoch, n)?;
        if let Some(note) = note {
            self.log(&note)?;
        }
        Ok(states)
    }

    /// The free-phase evaluation on the validation (or test) split, each process evaluating
    /// its part of every batch.
    pub(super) fn evaluate_split(&mut self, test: bool) -> Result<Evaluation> {
        let (rank, ranks) = self.reducer.place();
        let split = if test {
            &self.data.test
        } else {
            &self.data.val
        };
        let local = evaluate_part(&self.net, &self.cfg, split, self.threads, rank, ranks);
        let all = self.reducer.gather(local)?;
        Ok(Evaluation::from_batches(
            &reduce::merge_in_order(&all)?,
            split.len(),
        ))
    }

    /// Gradient quality on the first `probe_examples` training examples (None when 0).
    pub(super) fn probe(&self) -> Result<Option<probe::GradientQuality>> {
        let n = self.cfg.training.probe_examples.min(self.data.train.len());
        if n == 0 {
            return Ok(None);
        }
        let idx: Vec<usize> = (0..n).collect();
        probe::gradient_quality(&self.net, &self.cfg, &self.data.train, &idx).map(Some)
    }

    /// The run's current state as a checkpoint (configuration, network, optimizer buffers).
    pub fn snapshot(&self) -> Checkpoint {
        Checkpoint {
            config: self.cfg.clone(),
            epoch: self.epoch,
            lr_scale: self.lr_scale,
            net: self.net.clone(),
            optim: self.state.clone(),
        }
    }

    /// Persists an epoch: checkpoint first (atomic), then its log line, then the observers
    /// (metrics.jsonl, figures). A follower writes nothing.
    pub(super) fn commit_epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        if !self.is_leader() {
            return Ok(());
        }
        let ck = self.snapshot();
        if let Some(s) = &self.free_states {
            s.save(&self.dir.join(super::warm::FILE), ck.epoch)?;
        }
        if m.val_error < self.best_val {
            self.best_val = m.val_error;
            checkpoint::save(&self.dir.join("best.safetensors"), &ck)?;
        }
        checkpoint::save(&self.dir.join("checkpoint.safetensors"), &ck)?;
        self.saved_epoch = Some(ck.epoch);
        self.log(&format!(
            "epoch {:>3}: train {:.2}% val {:.2}% test {:.2}% | cost {:.4} | residual free {:.2e} eval {:.2e} | {:.1} steps/update | {:.0} ex/s | ‖ΔW‖/‖W‖ {:?}",
            m.epoch,
            100.0 * m.train_error,
            100.0 * m.val_error,
            100.0 * m.test_error,
            m.train_cost,
            m.free_residual,
            m.eval_residual,
            m.relax_steps,
            m.examples_per_second,
            m.update_ratios.iter().map(|r| format!("{r:.1e}")).collect::<Vec<_>>()
        ))?;
        self.observers.iter_mut().try_for_each(|o| o.epoch(m))
    }

    /// Runs `batches` training steps on the first examples (no evaluation, no checkpoint) and
    /// returns (seconds, FLOPs per example): the benchmark's unit of work.
    pub fn time_steps(&mut self, batches: usize) -> Result<(f64, f64)> {
        self.epoch_train = None; // outside an epoch the images are unshifted
        if self.device.is_some() {
            return self.time_steps_device(batches);
        }
        let bs = self.cfg.training.batch_size;
        let mut est = self.estimator(bs, None);
        let mut ratios = vec![0.0; self.net.weights.len()];
        let n = self.data.train.len();
        let start = Instant::now();
        for k in 0..batches {
            let idx: Vec<usize> = (0..bs).map(|i| (k * bs + i) % n).collect();
            self.train_batch(&mut *est, &idx, &mut ratios)?;
        }
        let t = &self.cfg.training;
        let phases = if t.centered { 2 } else { 1 };
        let flops = self
            .net
            .step_flops(t.free_steps + 1 + phases * t.nudge_steps, 2);
        Ok((start.elapsed().as_secs_f64(), flops))
    }

    /// One training step on examples `idx` of the training split; returns the clamped input
    /// and the targets it used (n_0 × B, n_L × B), for cross-checks with other implementations.
    pub fn step_on(&mut self, idx: &[usize]) -> Result<(Mat<f32>, Mat<f32>)> {
        self.epoch_train = None; // outside an epoch the images are unshifted
        let mut sh = Shards::new(&self.net, idx.len(), self.threads);
        sh.load(&self.cfg, &self.data.train, idx);
        if self.device.is_some() {
            self.step_on_device(idx)?;
            return Ok(sh.inputs_and_targets());
        }
        let mut est = self.estimator(idx.len(), None);
        let mut ratios = vec![0.0; self.net.weights.len()];
        self.train_batch(&mut *est, idx, &mut ratios)?;
        Ok(sh.inputs_and_targets())
    }

    /// "2 thread(s)", or "2 processes × 1 thread(s)" for a data-parallel job.
    fn describe_cpu(&self, threads: usize) -> String {
        match self.reducer.place().1 {
            1 => format!("{threads} thread(s)"),
            ranks => format!("{ranks} processes × {threads} thread(s)"),
        }
    }

    /// A follower's training: the remaining epochs, in step with the leader (which writes).
    pub fn follow(&mut self) -> Result<()> {
        while self.epoch < self.cfg.training.epochs {
            self.run_epoch()?;
        }
        Ok(())
    }

    /// Trains the remaining epochs and writes `results.json` (the leader of a data-parallel
    /// job; a follower runs [`Trainer::follow`]).
    pub fn fit(&mut self, threads: usize) -> Result<RunSummary> {
        if !self.is_leader() {
            return Err(Error::Invalid(
                "a follower writes no run: train it with Trainer::follow".into(),
            ));
        }
        self.log(&format!(
            "run {} ({}), widths {:?}, {} train / {} val / {} test examples, {}, starting after epoch {}",
            self.dir.display(),
            self.cfg.name,
            self.cfg.model.widths,
            self.data.train.len(),
            self.data.val.len(),
            self.data.test.len(),
            match &self.device {
                Some(d) => d.describe(),
                None => self.describe_cpu(threads),
            },
            self.epoch
        ))?;
        while self.epoch < self.cfg.training.epochs {
            if let Err(e) = self.run_epoch() {
                let on_disk = match self.saved_epoch {
                    Some(k) => format!(
                        "{} holds epoch {k}; --resume continues from it",
                        self.dir.join("checkpoint.safetensors").display()
                    ),
                    None => "no checkpoint was written".into(),
                };
                self.log(&format!("stopped: {e}; {on_disk}"))?;
                return Err(e);
            }
        }
        let device = match &self.device {
            Some(d) => d.describe(),
            None if self.reducer.place().1 == 1 => "cpu".into(),
            None => format!("cpu, {} processes", self.reducer.place().1),
        };
        let summary = summarise(&self.dir, &self.cfg, threads, &device)?;
        let body = serde_json::to_vec_pretty(&summary).expect("summary serialises");
        crate::io::write_atomic(&self.dir.join("results.json"), &body)?;
        Ok(summary)
    }
}
