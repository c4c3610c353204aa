//! What hardware would do to a trained network: its conductances (the weights) quantised to k
//! bits, perturbed by device mismatch, or restricted to passive (positive) devices; each
//! variant evaluated like the trained model. Currents (biases) and the leak are left exact.

use crate::data::Split;
use crate::layered::LayeredNet;
use crate::train::config::TrainConfig;
use crate::train::evaluate;
use crate::Result;
use faer::Mat;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// One variant of the network and its error.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HardwareRow {
    /// `exact`, `bits`, `mismatch` or `passive`.
    pub variant: String,
    /// Bits per conductance (sign included) for `bits`.
    pub bits: Option<u32>,
    /// Relative standard deviation of the mismatch.
    pub sigma: Option<f64>,
    /// Mismatch draw (its seed).
    pub draw: Option<u64>,
    /// Error on the split.
    pub error: f64,
    /// Mean free-phase residual of the evaluation.
    pub residual: f64,
    /// Negative conductances left in the network (each an active element in the circuit).
    pub negative_conductances: usize,
}

fn map_weights(net: &LayeredNet<f32>, mut f: impl FnMut(usize, f32) -> f32) -> LayeredNet<f32> {
    let mut out = net.clone();
    for (l, w) in out.weights.iter_mut().enumerate() {
        *w = Mat::from_fn(w.nrows(), w.ncols(), |i, j| f(l, w[(i, j)]));
    }
    out
}

/// Signed k-bit conductances (k ≥ 2): per weight layer, 2^(k−1) − 1 evenly spaced magnitudes up
/// to the layer's largest |w|, each weight rounded to the nearest (k = 2: {−m, 0, +m}).
pub fn quantise(net: &LayeredNet<f32>, bits: u32) -> LayeredNet<f32> {
    let levels = ((1u64 << (bits.clamp(2, 31) - 1)) - 1) as f32;
    let max: Vec<f32> = net
        .weights
        .iter()
        .map(|w| {
            let mut m = 0f32;
            for j in 0..w.ncols() {
                for i in 0..w.nrows() {
                    m = m.max(w[(i, j)].abs());
                }
            }
            m
        })
        .collect();
    map_weights(net, |l, x| {
        if max[l] == 0.0 {
            return 0.0;
        }
        (x / max[l] * levels).round() / levels * max[l]
    })
}

/// Device mismatch: every conductance multiplied by 1 + σz, z ~ N(0, 1), independently.
pub fn mismatch(net: &LayeredNet<f32>, sigma: f64, seed: u64) -> LayeredNet<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    map_weights(net, |_, x| {
        let z: f64 = StandardNormal.sample(&mut rng);
        (x as f64 * (1.0 + sigma * z)) as f32
    })
}

/// Passive devices only: negative conductances removed (set to 0).
pub fn passive(net: &LayeredNet<f32>) -> LayeredNet<f32> {
    map_weights(net, |_, x| x.max(0.0))
}

/// Negative conductances of a network (the active elements its circuit needs).
pub fn negative_count(net: &LayeredNet<f32>) -> usize {
    net.weights
        .iter()
        .map(|w| {
            let mut n = 0;
            for j in 0..w.ncols() {
                for i in 0..w.nrows() {
                    n += usize::from(w[(i, j)] < 0.0);
                }
            }
            n
        })
        .sum()
}

/// Which variants a study evaluates.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Bits per conductance, one variant each.
    pub bits: Vec<u32>,
    /// Mismatch levels σ.
    pub sigmas: Vec<f64>,
    /// Mismatch draws per σ.
    pub draws: u64,
}

/// The study: the exact network, k-bit conductances for each of `plan.bits`, `plan.draws`
/// mismatch draws for each of `plan.sigmas`, and the passive network, each evaluated on `split`
/// like the trained model (`cfg`'s free phase). `progress` sees each row as it is done.
pub fn study(
    net: &LayeredNet<f32>,
    cfg: &TrainConfig,
    split: &Split,
    threads: usize,
    plan: &Plan,
    mut progress: impl FnMut(&HardwareRow),
) -> Result<Vec<HardwareRow>> {
    let mut rows = Vec::new();
    let mut run = |variant: &str, v: LayeredNet<f32>, bits, sigma, draw| -> Result<()> {
        let e = evaluate(&v, cfg, split, threads)?;
        let row = HardwareRow {
            variant: variant.into(),
            bits,
            sigma,
            draw,
            error: e.error,
            residual: e.residual,
            negative_conductances: negative_count(&v),
        };
        progress(&row);
        rows.push(row);
        Ok(())
    };
    run("exact", net.clone(), None, None, None)?;
    for &k in &plan.bits {
        run("bits", quantise(net, k), Some(k), None, None)?;
    }
    for &s in &plan.sigmas {
        for d in 0..plan.draws {
            run("mismatch", mismatch(net, s, d), None, Some(s), Some(d))?;
        }
    }
    run("passive", passive(net), None, None, None)?;
    Ok(rows)
}
