//! The step itself: relaxation phases, the gradient, the update, and evaluation.

use super::{load_split, BatchStats, Engine, Phases};
use crate::backend::{Backend, Gemm, LoadArgs, RelaxArgs, Slots, View};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::train::Evaluation;

/// Which of the state buffers a phase relaxes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Plus,
    Minus,
}

impl<B: Backend> Engine<B> {
    /// Layer `l` of an `N × batch` state.
    fn layer(&self, l: usize, batch: usize) -> View {
        View {
            off: self.off[l],
            rows: self.cfg.model.widths[l],
            cols: batch,
            ld: self.off[self.depth() + 1],
        }
    }

    fn relax_args(&self, nudge: f32, residual_only: bool) -> RelaxArgs {
        let (p, t) = (&self.cfg.model.fhn, &self.cfg.training);
        let has_v = p.eps != 0.0;
        let coupled_v = has_v && self.cfg.model.inhibitor_coupling;
        RelaxArgs {
            du: p.d_u as f32,
            leak: self.cfg.model.leak as f32,
            alpha_v: p.alpha as f32,
            beta_v: p.beta as f32,
            cv: if coupled_v {
                (p.d_v / p.eps) as f32
            } else {
                0.0
            },
            ku: t.dt as f32 / p.tau_u as f32,
            kv: t.dt as f32 * (p.eps / p.tau_v) as f32,
            nudge,
            jacobi: t.solver != crate::layered::Solver::Euler,
            has_v,
            coupled_v,
            residual_only,
        }
    }

    /// `cur_l ← c (W^{l−1} s_{l−1} + W^{lᵀ} s_{l+1})` for l = 2..=L, and `c W^{1ᵀ} s_2` for
    /// layer 1 (its input term is the drive).
    fn currents(&self, s: &B::Buf, cur: &mut B::Buf, batch: usize, c: f32) -> Result<()> {
        let (wd, depth) = (&self.cfg.model.widths, self.depth());
        for l in 1..=depth {
            let out = self.layer(l, batch);
            if l >= 2 {
                let g = Gemm {
                    ta: false,
                    tb: false,
                    alpha: c,
                    beta: 0.0,
                };
                let w = View::dense(wd[l], wd[l - 1]);
                self.be
                    .gemm(g, &self.w[l - 1], w, s, self.layer(l - 1, batch), cur, out)?;
            }
            if l < depth {
                let beta = if l >= 2 { 1.0 } else { 0.0 };
                let g = Gemm {
                    ta: true,
                    tb: false,
                    alpha: c,
                    beta,
                };
                let w = View::dense(wd[l + 1], wd[l]);
                self.be
                    .gemm(g, &self.w[l], w, s, self.layer(l + 1, batch), cur, out)?;
            }
        }
        Ok(())
    }

    /// `steps` relaxation steps of one state (then its residual when `residual`).
    fn relax(
        &self,
        p: &mut Phases<B>,
        which: State,
        steps: usize,
        nudge: f32,
        residual: bool,
    ) -> Result<()> {
        let (du, batch) = (self.cfg.model.fhn.d_u as f32, p.lay.batch);
        let Phases {
            u,
            v,
            plus,
            minus,
            cur,
            curv,
            drive,
            target,
            counter,
            stats,
            lay,
            ..
        } = p;
        let (u, v) = match which {
            State::Free => (u, v),
            State::Plus => {
                let [a, b] = plus;
                (a, b)
            }
            State::Minus => {
                let [a, b] = minus;
                (a, b)
            }
        };
        let total = steps + usize::from(residual);
        for s in 0..total {
            let a = self.relax_args(nudge, s == steps);
            self.currents(u, cur, batch, -du)?;
            if a.coupled_v {
                self.currents(v, curv, batch, a.cv)?;
            }
            let consts = [&self.diag, &self.bias, &*target, &*counter];
            self.be
                .relax(*lay, a, u, v, [cur, curv, drive], consts, stats, self.slots)?;
        }
        Ok(())
    }

    /// Loads batch `counter` and computes the input drive `−d_u W⁰ x`.
    fn load(&self, p: &mut Phases<B>) -> Result<()> {
        let (wd, t) = (&self.cfg.model.widths, &self.cfg.training);
        let a = LoadArgs {
            order_len: p.order_len,
            n_out: wd[self.depth()],
            on: t.target_on as f32,
            off: t.target_off as f32,
        };
        let data = [&p.images, &p.split_labels, &p.order, &p.counter];
        self.be.load(
            p.lay,
            a,
            data,
            &mut p.u,
            &mut p.v,
            &mut p.target,
            &mut p.labels,
        )?;
        let g = Gemm {
            ta: false,
            tb: false,
            alpha: -(self.cfg.model.fhn.d_u as f32),
            beta: 0.0,
        };
        let x = self.layer(0, p.lay.batch);
        let w = View::dense(wd[1], wd[0]);
        self.be.gemm(
            g,
            &self.w[0],
            w,
            &p.u,
            x,
            &mut p.drive,
            View::dense(wd[1], p.lay.batch),
        )
    }

    fn score(&self, p: &mut Phases<B>) -> Result<()> {
        let cs = self.cfg.training.cost_scale as f32;
        self.be.score(
            p.lay,
            cs,
            &p.u,
            &p.target,
            &p.labels,
            &p.counter,
            &mut p.stats,
            self.slots,
        )
    }

    /// One training batch, entirely on the backend.
    fn train_step(&mut self, p: &mut Phases<B>, lr_scale: f64) -> Result<()> {
        let t = self.cfg.training.clone();
        self.load(p)?;
        self.relax(p, State::Free, t.free_steps, 0.0, true)?;
        self.score(p)?;
        let force = (2.0 * t.cost_scale * t.beta) as f32;
        self.be.copy(&p.u, &mut p.plus[0])?;
        self.be.copy(&p.v, &mut p.plus[1])?;
        self.relax(p, State::Plus, t.nudge_steps, force, false)?;
        if t.centered {
            self.be.copy(&p.u, &mut p.minus[0])?;
            self.be.copy(&p.v, &mut p.minus[1])?;
            self.relax(p, State::Minus, t.nudge_steps, -force, false)?;
        }
        self.gradient(p)?;
        self.update(p, lr_scale)?;
        self.refresh_diagonal()?;
        self.be.advance(&mut p.counter)
    }

    /// `g = (∂Φ/∂θ(s⁺) − ∂Φ/∂θ(s_ref)) / (B β (2 if centered))` in difference form.
    fn gradient(&mut self, p: &mut Phases<B>) -> Result<()> {
        let (t, fhn, batch) = (&self.cfg.training, self.cfg.model.fhn, p.lay.batch);
        let denom = batch as f32 * t.beta as f32 * if t.centered { 2.0 } else { 1.0 };
        let c = 1.0 / denom;
        let rows = p.lay.rows;
        let Phases {
            u,
            v,
            plus,
            minus,
            delta,
            sum,
            rdot,
            ..
        } = p;
        let (ru, rv) = if t.centered {
            (&minus[0], &minus[1])
        } else {
            (&*u, &*v)
        };
        let mut vars = vec![(&plus[0], ru, (0.5 * fhn.d_u) as f32, true)];
        if fhn.eps != 0.0 && self.cfg.model.inhibitor_coupling {
            vars.push((&plus[1], rv, (-0.5 * fhn.d_v / fhn.eps) as f32, false));
        }
        let wd = self.cfg.model.widths.clone();
        let all = View {
            off: 0,
            rows,
            cols: batch,
            ld: rows,
        };
        for (k, (sp, sm, scale, activator)) in vars.into_iter().enumerate() {
            self.be.diff_sum(sp, sm, delta, sum)?;
            self.be.row_dot(delta, sum, all, rdot, 0)?;
            for l in 0..self.depth() {
                let (va, vb) = (self.layer(l, batch), self.layer(l + 1, batch));
                let g = View::dense(wd[l + 1], wd[l]);
                let beta = if k == 0 { 0.0 } else { 1.0 };
                let gm = |beta| Gemm {
                    ta: false,
                    tb: true,
                    alpha: -c * scale,
                    beta,
                };
                self.be
                    .gemm(gm(beta), delta, vb, sum, va, &mut self.gw[l], g)?;
                self.be
                    .gemm(gm(1.0), sum, vb, delta, va, &mut self.gw[l], g)?;
                self.be.add_outer(
                    &mut self.gw[l],
                    g,
                    rdot,
                    self.off[l],
                    self.off[l + 1],
                    c * scale,
                )?;
            }
            if activator {
                let first = wd[0];
                self.be.fill(&mut self.gb, 0, rows, 0.0)?;
                let free = View {
                    off: first,
                    rows: rows - first,
                    cols: batch,
                    ld: rows,
                };
                self.be.row_sum(delta, free, -c, &mut self.gb, first)?;
            }
        }
        Ok(())
    }

    /// Heavy ball on every weight matrix (ratios into the batch's statistics) and the biases.
    fn update(&mut self, p: &mut Phases<B>, lr_scale: f64) -> Result<()> {
        let t = &self.cfg.training;
        let (mu, s) = (t.momentum as f32, lr_scale as f32);
        for l in 0..self.depth() {
            let n = self.be.len(&self.w[l]);
            let lr = t.lrs[l] as f32 * s;
            self.be.heavy_ball(
                &mut self.w[l],
                &self.gw[l],
                &mut self.mw[l],
                (0, n),
                mu,
                lr,
                Some(&mut self.norms),
            )?;
            self.be.ratio(
                &mut self.norms,
                &p.counter,
                &mut p.stats,
                self.slots,
                Slots::RATIOS + l,
            )?;
        }
        let (first, rows) = (p.lay.first, p.lay.rows);
        let blr = t.bias_lr as f32 * s;
        self.be.heavy_ball(
            &mut self.bias,
            &self.gb,
            &mut self.mb,
            (first, rows - first),
            mu,
            blr,
            None,
        )
    }

    /// Starts an epoch on `split` in `order` (uploads the split once); returns the number of
    /// full batches.
    pub fn start_epoch(&mut self, split: &Split, order: &[usize]) -> Result<usize> {
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
        load_split(&*self.be, p, "train", split, scale, &order[..batches * bs])?;
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
