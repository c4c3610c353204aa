//! The residual FHN network as an MNIST classifier (docs/HAMILTONIAN.md §8.5): configuration,
//! parameters, encoding, loss and the heavy-ball step, shared by the echo trainer
//! (`echo_train`) and the steady-state EqProp trainer (`steady_train`).
//!
//! Model: u⁰ = u¹ = a·tanh(W_in x̂/a), x̂ = x/‖x‖ (a saturating input drive that keeps every
//! orbit below the cubic's escape threshold; p⁰ = 0: the input layer is an insulated end held
//! at the encoded image), v⁰ = v¹ = 0; the layer map to layer N; logits W_out u^N + b; squared
//! error to the one-hot target. Learned: every coupling G^i, W_in and the readout.

use super::echo::{EchoNet, Layers};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::FhnParams;
use faer::{Mat, Scale};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How the coupling and input gradients are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// Centered Hamiltonian echo (two reversed passes, ±η).
    Echo,
    /// The explicit reverse-mode adjoint (backpropagation through the layer map).
    Adjoint,
    /// Centered EqProp on the steady state of the same network (`steady_train`; the
    /// prediction is then read from the steady state, not from the forward pass).
    SteadyEqProp,
}

/// Everything that defines a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EchoConfig {
    /// Width m (nodes per layer).
    pub width: usize,
    /// Depth N (couplings; layers 0 … N).
    pub depth: usize,
    /// FHN parameters in Parra-Rivas form: δ (d_u = δ²), ε, α, β.
    pub fhn: [f64; 4],
    /// Standard deviation of (W_in x/‖x‖)'s entries at initialisation.
    pub input_gain: f64,
    /// Saturation a of the input drive: |u⁰| < a.
    pub input_bound: f64,
    /// Initial couplings: uniform in ±c/√m.
    pub coupling_init: f64,
    /// Couplings are kept in ±b/√m after every step (projected gradient descent: a circuit's
    /// conductances have a range; unbounded couplings open growing transverse modes and the
    /// orbits escape over the cubic's barrier).
    pub coupling_bound: f64,
    /// Gradient estimator.
    pub estimator: Estimator,
    /// Echo nudge η, relative to the largest ∂L/∂u of the batch.
    pub eta: f64,
    /// Epochs.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Learning rates: couplings, input encoding, readout.
    pub lrs: [f64; 3],
    /// Heavy-ball momentum.
    pub momentum: f64,
    /// Use the first `train_limit` training examples (0: all).
    pub train_limit: usize,
    /// Seed (initialisation and shuffling).
    pub seed: u64,
    /// Validation images (at most 100) on which, each epoch, the echo gradient is compared with
    /// EqProp on the network's steady state (Newton with the block sweep per image; 0: off).
    pub steady_probe: usize,
}

impl Default for EchoConfig {
    fn default() -> Self {
        Self {
            width: 64,
            depth: 12,
            fhn: [2.0, 0.01, 1.08, 0.0],
            input_gain: 0.1,
            input_bound: 0.5,
            coupling_init: 0.1,
            coupling_bound: 0.1,
            estimator: Estimator::Echo,
            eta: 1e-6,
            epochs: 5,
            batch_size: 50,
            lrs: [0.003, 0.003, 0.05],
            momentum: 0.9,
            train_limit: 0,
            seed: 1,
            steady_probe: 0,
        }
    }
}

/// The learned parameters.
#[derive(Clone, Debug)]
pub struct EchoModel {
    /// The network (couplings).
    pub net: EchoNet,
    /// Input encoding W_in (m × pixels).
    pub w_in: Mat<f64>,
    /// Readout W_out (classes × m).
    pub w_out: Mat<f64>,
    /// Readout bias.
    pub b_out: Mat<f64>,
    /// Saturation of the input drive.
    pub input_bound: f64,
}

/// One epoch's figures.
#[derive(Clone, Debug, Serialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Training error and mean loss over the epoch (running).
    pub train_error: f64,
    /// Mean loss over the epoch.
    pub train_loss: f64,
    /// Validation error at the end of the epoch.
    pub val_error: f64,
    /// Test error at the end of the epoch.
    pub test_error: f64,
    /// Training wall time of the epoch (s).
    pub seconds: f64,
    /// Per coupling layer, on the probe batch (100 validation images): cosine of the echo gradient with the adjoint.
    pub echo_vs_adjoint: Vec<f64>,
    /// Largest |u| on the probe batch's trajectory (the orbit's distance from escape).
    pub probe_max_u: f64,
    /// Per coupling layer, mean over `steady_probe` images: cosine of the echo gradient with
    /// the centered-EqProp gradient of the steady state (layer 0 clamped to the same encoded
    /// input, same loss); `Err` text when a steady state was not found.
    pub echo_vs_steady: Option<std::result::Result<Vec<f64>, String>>,
    /// Training examples skipped because their steady state (or a nudged one) was not found
    /// (EqProp on the steady state only; the echo never skips). They count as training errors
    /// and are left out of the loss.
    pub skipped: usize,
}

/// Images as unit-norm columns (the encoding fixes each input's energy, so that no image
/// starts an orbit past the escape threshold).
pub(super) fn pixels(split: &Split, idx: &[usize]) -> Mat<f64> {
    let norms: Vec<f64> = idx
        .iter()
        .map(|&i| {
            split
                .image(i)
                .iter()
                .map(|&p| (p as f64).powi(2))
                .sum::<f64>()
                .sqrt()
                .max(1.0)
        })
        .collect();
    Mat::from_fn(split.pixels, idx.len(), |r, c| {
        split.image(idx[c])[r] as f64 / norms[c]
    })
}

impl EchoModel {
    /// A fresh model for `pixels` inputs and `classes` outputs.
    pub fn new(cfg: &EchoConfig, pixels: usize, classes: usize) -> Result<Self> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
        let m = cfg.width;
        let mut uniform = |s: f64| s * (2.0 * rng.gen::<f64>() - 1.0);
        let g = cfg.coupling_init / (m as f64).sqrt();
        let coupling = (0..cfg.depth)
            .map(|_| Mat::from_fn(m, m, |_, _| uniform(g)))
            .collect();
        let [delta, eps, alpha, beta] = cfg.fhn;
        let net = EchoNet::new(FhnParams::parra_rivas(delta, eps, alpha, beta), coupling)?;
        // Uniform entries: each u⁰_k = Σ_p W_kp x_p with ‖x‖ = 1 has standard deviation ~gain.
        let a = cfg.input_gain * 3f64.sqrt();
        let w_in = Mat::from_fn(m, pixels, |_, _| uniform(a));
        let w_out = Mat::from_fn(classes, m, |_, _| uniform(1.0 / (m as f64).sqrt()));
        Ok(Self {
            net,
            w_in,
            w_out,
            b_out: Mat::zeros(classes, 1),
            input_bound: cfg.input_bound,
        })
    }

    /// The encoded input u⁰ = a·tanh(W_in x/a) of a batch.
    pub fn encode(&self, x: &Mat<f64>) -> Mat<f64> {
        let (a, pre) = (self.input_bound, &self.w_in * x);
        Mat::from_fn(pre.nrows(), pre.ncols(), |r, c| {
            a * (pre[(r, c)] / a).tanh()
        })
    }

    /// Forward pass of a batch (pixels × batch): the layers and the logits.
    pub fn forward(&self, x: &Mat<f64>) -> Result<(Layers<f64>, Mat<f64>)> {
        let u0 = self.encode(x);
        let z = Mat::zeros(u0.nrows(), u0.ncols());
        let layers = self.net.forward(&u0, &z, &z, &z)?;
        let mut logits = &self.w_out * layers.u.last().expect("layer N");
        for c in 0..logits.ncols() {
            for r in 0..logits.nrows() {
                logits[(r, c)] += self.b_out[(r, 0)];
            }
        }
        Ok((layers, logits))
    }

    /// Errors of a split, in batches of 500.
    pub fn error(&self, split: &Split) -> Result<f64> {
        let mut wrong = 0;
        for start in (0..split.len()).step_by(500) {
            let idx: Vec<usize> = (start..(start + 500).min(split.len())).collect();
            let (_, logits) = self.forward(&pixels(split, &idx))?;
            wrong += idx
                .iter()
                .enumerate()
                .filter(|(c, &i)| argmax(&logits, *c) != split.labels[i] as usize)
                .count();
        }
        Ok(wrong as f64 / split.len().max(1) as f64)
    }
}

pub(super) fn argmax(m: &Mat<f64>, c: usize) -> usize {
    (0..m.nrows()).fold(0, |b, r| if m[(r, c)] > m[(b, c)] { r } else { b })
}

/// Squared error ½‖logits − one-hot‖² (bounded targets: unlike cross-entropy it does not
/// reward ever larger orbits, which escape): (summed loss, wrong count, ∂L/∂logits / batch).
pub(super) fn squared_error(logits: &Mat<f64>, labels: &[usize]) -> (f64, usize, Mat<f64>) {
    let (k, b) = (logits.nrows(), logits.ncols());
    let d = Mat::from_fn(k, b, |r, c| logits[(r, c)] - f64::from(r == labels[c]));
    let wrong = (0..b).filter(|&c| argmax(logits, c) != labels[c]).count();
    (0.5 * d.squared_norm_l2(), wrong, d * Scale(1.0 / b as f64))
}

/// Heavy-ball velocities of every parameter and the step that applies a gradient.
pub(super) struct Velocity {
    coupling: Vec<Mat<f64>>,
    w_in: Mat<f64>,
    w_out: Mat<f64>,
    b_out: Mat<f64>,
}

impl Velocity {
    pub(super) fn new(model: &EchoModel) -> Self {
        let zeros = |m: &Mat<f64>| Mat::zeros(m.nrows(), m.ncols());
        Self {
            coupling: model.net.coupling.iter().map(zeros).collect(),
            w_in: zeros(&model.w_in),
            w_out: zeros(&model.w_out),
            b_out: zeros(&model.b_out),
        }
    }

    /// One heavy-ball step: couplings (then kept within the bound), the encoding when its
    /// gradient is given, and the readout from ∂L/∂logits `dz` and the output layer `top`.
    pub(super) fn step(
        &mut self,
        model: &mut EchoModel,
        cfg: &EchoConfig,
        coupling: &[Mat<f64>],
        w_in: Option<Mat<f64>>,
        dz: &Mat<f64>,
        top: &Mat<f64>,
    ) {
        let [lr_g, lr_in, lr_out] = cfg.lrs;
        let mu = Scale(cfg.momentum);
        let bound = cfg.coupling_bound / (cfg.width as f64).sqrt();
        for ((gi, vi), di) in model
            .net
            .coupling
            .iter_mut()
            .zip(&mut self.coupling)
            .zip(coupling)
        {
            *vi = &*vi * mu - di * Scale(lr_g);
            *gi += &*vi;
            for c in 0..gi.ncols() {
                for r in 0..gi.nrows() {
                    if gi[(r, c)].abs() > bound {
                        // Projected onto the bound; its velocity no longer pushes outwards.
                        gi[(r, c)] = gi[(r, c)].clamp(-bound, bound);
                        vi[(r, c)] = 0.0;
                    }
                }
            }
        }
        if let Some(d) = w_in {
            self.w_in = &self.w_in * mu - d * Scale(lr_in);
            model.w_in += &self.w_in;
        }
        self.w_out = &self.w_out * mu - dz * top.transpose() * Scale(lr_out);
        model.w_out += &self.w_out;
        let db = Mat::from_fn(dz.nrows(), 1, |r, _| {
            (0..dz.ncols()).map(|c| dz[(r, c)]).sum::<f64>()
        });
        self.b_out = &self.b_out * mu - db * Scale(lr_out);
        model.b_out += &self.b_out;
    }
}

/// The training examples a run uses (the first `train_limit`, 0: all), reshuffled every epoch
/// by Fisher–Yates from the run's seed.
pub(super) struct EpochOrder {
    order: Vec<usize>,
    rng: rand::rngs::StdRng,
}

impl EpochOrder {
    /// The examples of `train` that `cfg` uses; an error when there are none or the batch is 0.
    pub(super) fn new(cfg: &EchoConfig, train: &Split) -> Result<Self> {
        let n = match cfg.train_limit {
            0 => train.len(),
            k => k.min(train.len()),
        };
        if n == 0 || cfg.batch_size == 0 {
            return Err(Error::Invalid(
                "no training examples or zero batch size".into(),
            ));
        }
        Ok(Self {
            order: (0..n).collect(),
            rng: rand::rngs::StdRng::seed_from_u64(cfg.seed ^ 0x5eed),
        })
    }

    /// How many examples an epoch visits.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The next epoch's order.
    pub(super) fn shuffled(&mut self) -> &[usize] {
        for i in (1..self.order.len()).rev() {
            self.order.swap(i, self.rng.gen_range(0..=i));
        }
        &self.order
    }
}
