//! The step itself: relaxation phases, the gradient, the update, and evaluation.

use super::{Engine, Phases};
use crate::backend::{Backend, Gemm, LoadArgs, RelaxArgs, Slots, View};
use crate::error::Result;

/// Which of the state buffers a phase relaxes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
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
                p.inhibitor_gain() as f32
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
    pub(super) fn relax(
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
    pub(super) fn load(&self, p: &mut Phases<B>) -> Result<()> {
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

    pub(super) fn score(&self, p: &mut Phases<B>) -> Result<()> {
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
    pub(super) fn train_step(&mut self, p: &mut Phases<B>, lr_scale: f64) -> Result<()> {
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
            vars.push((&plus[1], rv, (-0.5 * fhn.inhibitor_gain()) as f32, false));
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

    /// Heavy ball on every weight matrix (with the L2 weight decay; ratios into the batch's
    /// statistics) and the biases (no decay, as in `train::optim::heavy_ball`).
    fn update(&mut self, p: &mut Phases<B>, lr_scale: f64) -> Result<()> {
        let t = &self.cfg.training;
        let (mu, s, wd) = (t.momentum as f32, lr_scale as f32, t.weight_decay as f32);
        for l in 0..self.depth() {
            let n = self.be.len(&self.w[l]);
            let lr = t.lrs[l] as f32 * s;
            self.be.heavy_ball(
                &mut self.w[l],
                &self.gw[l],
                &mut self.mw[l],
                (0, n),
                (mu, lr, wd),
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
            (mu, blr, 0.0),
            None,
        )
    }
}
