//! The engine's public face: epochs of training batches (recorded and replayed), their
//! statistics, and evaluation on a split.

use super::step::State;
use super::{load_split, BatchStats, Engine, Phases};
use crate::backend::{Backend, Slots};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::train::Evaluation;

impl<B: Backend> Engine<B> {
    /// Starts an epoch on `split` in `order`; returns the number of full batches. The split is
    /// uploaded when its `name` (or length) differs from the last epoch's: a split with other
    /// images (the epoch's translated images, `data.shift`) needs another name.
    pub fn start_epoch(&mut self, name: &str, split: &Split, order: &[usize]) -> Result<usize> {
        let bs = self.cfg.training.batch_size.min(split.len()).max(1);
        let batches = order.len() / bs;
        let fits = self.train.as_ref().is_some_and(|p| {
            p.lay.batch == bs && self.be.len(&p.stats) >= batches * self.slots.stride
        });
        if !fits {
            // Room for at least 64 batches, so that short timing runs share one recording.
            self.train = Some(self.phases(bs, batches.max(64))?);
            self.graph = None;
        }
        let scale = (self.cfg.data.input_scale / 255.0) as f32;
        let p = self.train.as_mut().expect("just set");
        if p.split.as_ref() != Some(&(name.to_string(), split.len())) {
            // Other images go to new buffers: a recorded epoch would replay on the old ones.
            self.graph = None;
        }
        load_split(&*self.be, p, name, split, scale, &order[..batches * bs])?;
        Ok(batches)
    }

    /// Runs the next `n` training batches of the epoch. The first batch after a change of
    /// `lr_scale` runs directly; the backend may record it and replay the rest.
    pub fn train_batches(&mut self, n: usize, lr_scale: f64) -> Result<()> {
        let mut p = self
            .train
            .take()
            .ok_or_else(|| Error::Invalid("train_batches before start_epoch".into()))?;
        let out = self.train_batches_on(&mut p, n, lr_scale);
        self.train = Some(p);
        out
    }

    fn train_batches_on(&mut self, p: &mut Phases<B>, n: usize, lr_scale: f64) -> Result<()> {
        let mut left = n;
        if left > 0 && self.graph.as_ref().is_none_or(|g| g.0 != lr_scale) {
            self.graph = None;
            self.train_step(p, lr_scale)?;
            left -= 1;
            let be = self.be.clone();
            if left > 0 {
                if let Some(g) = be.record(&mut || self.train_step(p, lr_scale))? {
                    self.graph = Some((lr_scale, g));
                }
            }
        }
        for _ in 0..left {
            match &self.graph {
                Some((_, g)) => self.be.replay(g)?,
                None => self.train_step(p, lr_scale)?,
            }
        }
        Ok(())
    }

    /// Statistics of training batches `range` of the current epoch (waits for them).
    pub fn batch_stats(&self, range: std::ops::Range<usize>) -> Result<Vec<BatchStats>> {
        let p = self
            .train
            .as_ref()
            .ok_or_else(|| Error::Invalid("no epoch started".into()))?;
        read_stats(&*self.be, p, self.slots, range)
    }

    /// Free-phase evaluation on `split` (`eval_steps` steps), named so that a split already
    /// on the device is not uploaded again.
    pub fn evaluate(&mut self, name: &str, split: &Split) -> Result<Evaluation> {
        let n = split.len();
        let bs = self.cfg.training.eval_batch_size.min(n).max(1);
        let batches = n.div_ceil(bs);
        let fits = self.eval.as_ref().is_some_and(|p| {
            p.lay.batch == bs && self.be.len(&p.stats) >= batches * self.slots.stride
        });
        let mut p = match self.eval.take() {
            Some(p) if fits => p,
            _ => self.phases(bs, batches)?,
        };
        let order: Vec<usize> = (0..n).collect();
        let scale = (self.cfg.data.input_scale / 255.0) as f32;
        load_split(&*self.be, &mut p, name, split, scale, &order)?;
        let steps = self.cfg.training.eval_steps;
        let out = (|| {
            for _ in 0..batches {
                self.load(&mut p)?;
                self.relax(&mut p, State::Free, steps, 0.0, true)?;
                self.score(&mut p)?;
                self.be.advance(&mut p.counter)?;
            }
            read_stats(&*self.be, &p, self.slots, 0..batches)
        })();
        self.eval = Some(p);
        let rows = out?;
        let nf = n.max(1) as f64;
        let residual = rows.iter().map(|r| r.residual).sum::<f64>() / batches.max(1) as f64;
        if !residual.is_finite() {
            return Err(Error::Diverged(format!(
                "evaluation on {name}: non-finite residual"
            )));
        }
        Ok(Evaluation {
            error: rows.iter().map(|r| r.errors).sum::<f64>() / nf,
            cost: rows.iter().map(|r| r.cost).sum::<f64>() / nf,
            residual,
        })
    }

    /// The backend in words.
    pub fn describe(&self) -> String {
        self.be.describe()
    }
}

fn read_stats<B: Backend>(
    be: &B,
    p: &Phases<B>,
    slots: Slots,
    range: std::ops::Range<usize>,
) -> Result<Vec<BatchStats>> {
    let s = slots.stride;
    if range.end * s > be.len(&p.stats) {
        return Err(Error::Invalid(format!(
            "batch statistics {range:?} beyond the epoch"
        )));
    }
    let mut all = vec![0.0f32; range.end * s];
    be.download(&p.stats, &mut all)?;
    Ok(range
        .map(|k| {
            let r = &all[k * s..(k + 1) * s];
            BatchStats {
                errors: r[Slots::ERRORS] as f64,
                cost: r[Slots::COST] as f64,
                residual: r[Slots::RESIDUAL] as f64,
                ratios: r[Slots::RATIOS..].iter().map(|&x| x as f64).collect(),
            }
        })
        .collect())
}
