//! The EqProp training step of a layered FHN network, written once against [`Backend`].
//!
//! Same algorithm as the `train` module's sharded CPU trainer (one shard): free phase from
//! zero, residual, score, nudged phases ±β from the free state, the co-content gradient in
//! difference form (docs/PERFORMANCE.md §5), heavy-ball update, Laplacian diagonal refresh.
//! Everything stays in the backend's memory for a whole epoch: the host uploads the epoch's
//! example order once and reads the per-batch statistics back when it asks for them.

use super::{Backend, Gemm, Layout, Slots, View};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::layered::{col, col_mut, Grads, Kind, LayeredNet, Solver};
use crate::train::config::TrainConfig;
use std::sync::Arc;

/// Statistics of one training batch, read back from the backend.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats {
    /// Misclassified examples of the free phase.
    pub errors: f64,
    /// Summed cost of the free phase.
    pub cost: f64,
    /// Free-phase residual ‖∂Φ/∂s‖∞.
    pub residual: f64,
    /// ‖ΔW^l‖/‖W^l‖ per weight layer.
    pub ratios: Vec<f64>,
}

/// Buffers of one batch size: states of the three phases, currents, targets, statistics and
/// the split on the device.
struct Phases<B: Backend> {
    lay: Layout,
    u: B::Buf,
    v: B::Buf,
    plus: [B::Buf; 2],
    minus: [B::Buf; 2],
    cur: B::Buf,
    curv: B::Buf,
    drive: B::Buf,
    target: B::Buf,
    labels: B::Buf,
    delta: B::Buf,
    sum: B::Buf,
    rdot: B::Buf,
    counter: B::Buf,
    stats: B::Buf,
    /// (name, examples) of the split whose images and labels are loaded.
    split: Option<(String, usize)>,
    images: B::Buf,
    split_labels: B::Buf,
    order: B::Buf,
    order_len: usize,
}

/// A layered FHN network and its optimiser state in a backend's memory.
pub struct Engine<B: Backend> {
    be: Arc<B>,
    cfg: TrainConfig,
    off: Vec<usize>,
    w: Vec<B::Buf>,
    mw: Vec<B::Buf>,
    gw: Vec<B::Buf>,
    bias: B::Buf,
    mb: B::Buf,
    gb: B::Buf,
    diag: B::Buf,
    ones: B::Buf,
    norms: B::Buf,
    slots: Slots,
    train: Option<Phases<B>>,
    eval: Option<Phases<B>>,
    /// Recorded training step and the learning-rate scale it was recorded with.
    graph: Option<(f64, B::Graph)>,
}

impl<B: Backend> Engine<B> {
    /// Copies `net` and its momentum into the backend. Supports FHN networks with the Euler
    /// or Jacobi solver and fixed step counts (tolerance and nudge tolerance 0).
    pub fn new(
        be: Arc<B>,
        cfg: &TrainConfig,
        net: &LayeredNet<f32>,
        m: &Grads<f32>,
    ) -> Result<Self> {
        let t = &cfg.training;
        if cfg.model.kind != Kind::Fhn
            || !matches!(t.solver, Solver::Euler | Solver::Jacobi)
            || t.tolerance != 0.0
            || t.nudge_tol() != 0.0
            || t.free_start != crate::train::config::FreeStart::Zero
        {
            return Err(Error::Invalid(format!(
                "{} runs kind = \"fhn\" with solver euler or jacobi, tolerance 0 and free_start zero (got {:?}, {:?}, tolerance {} / nudged {}, {:?})",
                be.describe(),
                cfg.model.kind,
                t.solver,
                t.tolerance,
                t.nudge_tol(),
                t.free_start
            )));
        }
        let widths = &cfg.model.widths;
        let mut off = vec![0];
        for &n in widths {
            off.push(off.last().unwrap() + n);
        }
        let rows = *off.last().unwrap();
        let depth = widths.len() - 1;
        let zeros = |n: usize| be.zeros(n);
        let per_layer = || {
            (0..depth)
                .map(|l| zeros(widths[l] * widths[l + 1]))
                .collect::<Result<Vec<_>>>()
        };
        let mut e = Self {
            cfg: cfg.clone(),
            w: per_layer()?,
            mw: per_layer()?,
            gw: per_layer()?,
            bias: zeros(rows)?,
            mb: zeros(rows)?,
            gb: zeros(rows)?,
            diag: zeros(rows)?,
            ones: zeros(*widths.iter().max().unwrap())?,
            norms: zeros(2)?,
            slots: Slots {
                stride: Slots::RATIOS + depth,
            },
            off,
            train: None,
            eval: None,
            graph: None,
            be,
        };
        let n = e.be.len(&e.ones);
        e.be.fill(&mut e.ones, 0, n, 1.0)?;
        e.set(net, m)?;
        Ok(e)
    }

    fn depth(&self) -> usize {
        self.w.len()
    }

    /// Uploads weights, biases and momentum (and refreshes the diagonal).
    pub fn set(&mut self, net: &LayeredNet<f32>, m: &Grads<f32>) -> Result<()> {
        let dense = |w: &faer::Mat<f32>| -> Vec<f32> {
            (0..w.ncols())
                .flat_map(|j| col(w, j).iter().copied())
                .collect()
        };
        let off = self.off.clone();
        let stacked = |b: &[Vec<f32>]| -> Vec<f32> {
            let mut out = vec![0.0; *off.last().unwrap()];
            for (l, x) in b.iter().enumerate() {
                out[off[l + 1]..off[l + 2]].copy_from_slice(x);
            }
            out
        };
        for l in 0..self.depth() {
            self.be.upload(&dense(&net.weights[l]), &mut self.w[l])?;
            self.be.upload(&dense(&m.w[l]), &mut self.mw[l])?;
        }
        let (b, mb) = (stacked(&net.biases), stacked(&m.b));
        self.be.upload(&b, &mut self.bias)?;
        self.be.upload(&mb, &mut self.mb)?;
        self.graph = None;
        self.refresh_diagonal()
    }

    /// Downloads weights, biases and momentum into `net` and `m`.
    pub fn get(&self, net: &mut LayeredNet<f32>, m: &mut Grads<f32>) -> Result<()> {
        let rows = self.off[self.depth() + 1];
        let mut buf = vec![0.0; rows];
        for l in 0..self.depth() {
            for (src, dst) in [
                (&self.w[l], &mut net.weights[l]),
                (&self.mw[l], &mut m.w[l]),
            ] {
                let mut flat = vec![0.0; dst.nrows() * dst.ncols()];
                self.be.download(src, &mut flat)?;
                for j in 0..dst.ncols() {
                    let n = dst.nrows();
                    col_mut(dst, j).copy_from_slice(&flat[j * n..(j + 1) * n]);
                }
            }
        }
        for (src, dst) in [(&self.bias, &mut net.biases), (&self.mb, &mut m.b)] {
            self.be.download(src, &mut buf)?;
            for (l, b) in dst.iter_mut().enumerate() {
                b.copy_from_slice(&buf[self.off[l + 1]..self.off[l + 2]]);
            }
        }
        Ok(())
    }

    /// `diag_l = rowsum(W^{l−1}) + colsum(W^l)` by products with a vector of ones.
    fn refresh_diagonal(&mut self) -> Result<()> {
        let (wd, rows, depth) = (
            &self.cfg.model.widths,
            self.off[self.depth() + 1],
            self.depth(),
        );
        for l in 1..=depth {
            let dv = View {
                off: self.off[l],
                rows: wd[l],
                cols: 1,
                ld: rows,
            };
            let g = |beta, ta| Gemm {
                ta,
                tb: false,
                alpha: 1.0,
                beta,
            };
            let w = View::dense(wd[l], wd[l - 1]);
            self.be.gemm(
                g(0.0, false),
                &self.w[l - 1],
                w,
                &self.ones,
                View::dense(wd[l - 1], 1),
                &mut self.diag,
                dv,
            )?;
            if l < depth {
                let w = View::dense(wd[l + 1], wd[l]);
                self.be.gemm(
                    g(1.0, true),
                    &self.w[l],
                    w,
                    &self.ones,
                    View::dense(wd[l + 1], 1),
                    &mut self.diag,
                    dv,
                )?;
            }
        }
        Ok(())
    }

    fn phases(&self, batch: usize, capacity: usize) -> Result<Phases<B>> {
        let wd = &self.cfg.model.widths;
        let rows = self.off[self.depth() + 1];
        let lay = Layout {
            rows,
            first: wd[0],
            out_first: self.off[self.depth()],
            n1: wd[1],
            batch,
        };
        let be = &self.be;
        let st = || be.zeros(rows * batch);
        Ok(Phases {
            lay,
            u: st()?,
            v: st()?,
            plus: [st()?, st()?],
            minus: [st()?, st()?],
            cur: st()?,
            curv: st()?,
            drive: be.zeros(wd[1] * batch)?,
            target: be.zeros(wd[self.depth()] * batch)?,
            labels: be.zeros(batch)?,
            delta: st()?,
            sum: st()?,
            rdot: be.zeros(rows)?,
            counter: be.zeros(1)?,
            stats: be.zeros(capacity.max(1) * self.slots.stride)?,
            split: None,
            images: be.zeros(1)?,
            split_labels: be.zeros(1)?,
            order: be.zeros(1)?,
            order_len: 0,
        })
    }
}

/// Loads `split` (pre-scaled pixels) and `order` into `p`; a split already there is kept.
fn load_split<B: Backend>(
    be: &B,
    p: &mut Phases<B>,
    name: &str,
    split: &Split,
    scale: f32,
    order: &[usize],
) -> Result<()> {
    if split.len() >= 1 << 24 {
        return Err(Error::Invalid(
            "device training takes at most 2²⁴ examples".into(),
        ));
    }
    if p.split.as_ref() != Some(&(name.to_string(), split.len())) {
        let px: Vec<f32> = split.images.iter().map(|&x| x as f32 * scale).collect();
        p.images = be.zeros(px.len().max(1))?;
        be.upload(&px, &mut p.images)?;
        let lab: Vec<f32> = split.labels.iter().map(|&x| x as f32).collect();
        p.split_labels = be.zeros(lab.len().max(1))?;
        be.upload(&lab, &mut p.split_labels)?;
        p.split = Some((name.to_string(), split.len()));
    }
    let ord: Vec<f32> = order.iter().map(|&i| i as f32).collect();
    if be.len(&p.order) < ord.len() {
        p.order = be.zeros(ord.len())?;
    }
    be.upload(&ord, &mut p.order)?;
    p.order_len = ord.len();
    be.fill(&mut p.counter, 0, 1, 0.0)?;
    let n = be.len(&p.stats);
    be.fill(&mut p.stats, 0, n, 0.0)
}

mod epoch;
mod step;
