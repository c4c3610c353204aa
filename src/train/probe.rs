//! Gradient quality: the EqProp estimate the trainer actually uses (its configuration, f32,
//! its step counts and β) against the exact gradient of the same cost at the true equilibrium
//! (the free phase run to convergence in f64, then implicit differentiation: on the graph view
//! for FHN, by the active-set solve for Hopfield), per weight layer, on a fixed batch. It says
//! whether the phases carry the error signal to each layer: the paper preset's unconverged
//! phases do not.

use super::config::TrainConfig;
use super::estimate::exact_gradient;
use super::shards::Shards;
use crate::data::Split;
use crate::eqprop::{cosine, relative_error};
use crate::error::{Error, Result};
use crate::layered::{col, Grads, LayeredNet};
use faer::Mat;
use serde::{Deserialize, Serialize};

/// Per weight layer, the trainer's estimate against the exact gradient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientQuality {
    /// Cosine per weight matrix (NaN, `null` in JSON, where the exact gradient is zero: e.g.
    /// a Hopfield layer whose units are all clipped).
    #[serde(deserialize_with = "nan_for_null")]
    pub cosine: Vec<f64>,
    /// ‖g − g*‖/‖g*‖ per weight matrix (NaN where the exact gradient is zero).
    #[serde(deserialize_with = "nan_for_null")]
    pub relative_error: Vec<f64>,
    /// ‖g*‖ per weight matrix (the exact gradient's size).
    pub exact_norm: Vec<f64>,
    /// Largest residual ‖∂Φ/∂s‖∞ of the equilibria (FHN: Newton-polished, ≤ 1e-10 when Newton
    /// converged; Hopfield: red-black sweeps, at most 1e-9 or the probe is an error).
    pub equilibrium_residual: f64,
    /// Examples of the probe batch.
    pub examples: usize,
}

/// Reads JSON's `null` (how serde_json writes NaN) back as NaN.
fn nan_for_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    let v: Vec<Option<f64>> = Vec::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// Gradient quality of `net` under `cfg` on examples `idx` of `split` (FHN with ε > 0, whose
/// graph view needs a dynamic inhibitor, or Hopfield).
pub fn gradient_quality(
    net: &LayeredNet<f32>,
    cfg: &TrainConfig,
    split: &Split,
    idx: &[usize],
) -> Result<GradientQuality> {
    if idx.is_empty() || idx.iter().any(|&i| i >= split.len()) {
        return Err(Error::Invalid(format!(
            "probe examples {idx:?} outside a split of {}",
            split.len()
        )));
    }
    // The estimate exactly as a training step computes it (one shard).
    let mut sh = Shards::new(net, idx.len(), 1);
    sh.load(cfg, split, idx);
    let mut est = Grads::zeros_like(net);
    sh.eqprop(net, cfg, &mut est)?;
    let (x, y) = sh.inputs_and_targets();
    // The exact gradient of the same cost, cost_scale‖u_L − y‖² averaged over the batch.
    let (exact, worst) = exact_gradient(net, cfg, &x, &y)?;
    let flat = |m: &Mat<f32>| -> Vec<f64> {
        (0..m.ncols())
            .flat_map(|j| col(m, j).iter().map(|&v| v as f64))
            .collect()
    };
    let flat64 =
        |m: &Mat<f64>| -> Vec<f64> { (0..m.ncols()).flat_map(|j| col(m, j).to_vec()).collect() };
    let mut q = GradientQuality {
        cosine: vec![],
        relative_error: vec![],
        exact_norm: vec![],
        equilibrium_residual: worst,
        examples: idx.len(),
    };
    for (g, e) in est.w.iter().zip(&exact.w) {
        let (g, e) = (flat(g), &flat64(e));
        q.cosine.push(cosine(&g, e));
        q.relative_error.push(relative_error(&g, e));
        q.exact_norm
            .push(e.iter().map(|v| v * v).sum::<f64>().sqrt());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::tests::{small_config, synthetic_split};

    /// Converged phases and a small β: the trainer's estimate is the exact gradient. The
    /// paper-like short Euler phases in a deeper net: the estimate of the first layer is the
    /// worst (the nudge has not reached it), which is what the probe exists to show.
    #[test]
    fn the_probe_sees_exact_and_truncated_estimates() {
        let split = synthetic_split(6, 16, 3, 7);
        let mut cfg = small_config();
        cfg.training.beta = 0.02;
        cfg.training.free_steps = 4000;
        cfg.training.nudge_steps = 4000;
        cfg.training.tolerance = 2e-6;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let net = LayeredNet::<f32>::random(cfg.model.clone(), 1.0, true, &mut rng).unwrap();
        let q = gradient_quality(&net, &cfg, &split, &[0, 1, 2, 3]).unwrap();
        assert!(q.equilibrium_residual < 1e-9, "{q:?}");
        for l in 0..2 {
            assert!(q.cosine[l] > 0.999 && q.relative_error[l] < 0.03, "{q:?}");
        }
        let mut short = cfg.clone();
        short.model.widths = vec![16, 8, 8, 3];
        short.training.lrs = vec![0.1; 3];
        short.training.solver = crate::layered::Solver::Euler;
        short.training.dt = 0.1;
        short.training.free_steps = 10;
        short.training.nudge_steps = 3;
        short.training.tolerance = 0.0;
        short.training.beta = 0.5;
        let net = LayeredNet::<f32>::random(short.model.clone(), 1.0, true, &mut rng).unwrap();
        let q = gradient_quality(&net, &short, &split, &[0, 1, 2, 3]).unwrap();
        assert!(q.cosine[0] < 0.9 && q.cosine[0] < q.cosine[2], "{q:?}");
    }

    /// A two-hidden-layer Hopfield network with converged red-black phases and a small β (and
    /// a cost scale of 1.3, so that a wrong scale shows): the trainer's f32 estimate follows
    /// the active-set gradient in every layer; a large β (which moves units across their clip
    /// boundaries) is further off.
    #[test]
    fn the_probe_measures_hopfield_estimates_too() {
        let split = synthetic_split(6, 16, 3, 7);
        let mut cfg = crate::train::TrainConfig::preset("hopfield").unwrap();
        cfg.model.widths = vec![16, 8, 6, 3];
        cfg.training.lrs = vec![0.1; 3];
        cfg.training.solver = crate::layered::Solver::RedBlack;
        cfg.training.free_steps = 500;
        cfg.training.nudge_steps = 500;
        cfg.training.tolerance = 0.0;
        cfg.training.beta = 0.004;
        cfg.training.cost_scale = 1.3; // not ½: a wrong cost scale would show
        cfg.validate().unwrap();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
        let net = LayeredNet::<f32>::random(cfg.model.clone(), 1.0, true, &mut rng).unwrap();
        let idx = [0, 1, 2, 3];
        let q = gradient_quality(&net, &cfg, &split, &idx).unwrap();
        assert!(q.equilibrium_residual < 1e-9, "{q:?}");
        for l in 0..3 {
            assert!(q.exact_norm[l] > 0.0, "{q:?}");
            assert!(q.cosine[l] > 0.99 && q.relative_error[l] < 0.1, "{q:?}");
        }
        cfg.training.beta = 1.0;
        let big = gradient_quality(&net, &cfg, &split, &idx).unwrap();
        assert!(big.relative_error[0] > q.relative_error[0], "{big:?}");
    }

    /// A dead Hopfield network (every output clipped: the exact gradient is zero) has no
    /// cosine; the run's metrics still read back and its figures are still drawn.
    #[test]
    fn an_undefined_cosine_survives_the_metrics_file() {
        let q = GradientQuality {
            cosine: vec![f64::NAN, 0.5],
            relative_error: vec![f64::NAN, 0.1],
            exact_norm: vec![0.0, 1.0],
            equilibrium_residual: 0.0,
            examples: 2,
        };
        let text = serde_json::to_string(&q).unwrap();
        assert!(text.contains("null"), "{text}");
        let back: GradientQuality = serde_json::from_str(&text).unwrap();
        assert!(back.cosine[0].is_nan() && back.relative_error[0].is_nan());
        assert_eq!((back.cosine[1], back.exact_norm), (0.5, vec![0.0, 1.0]));
        let mut cfg = crate::train::TrainConfig::preset("hopfield").unwrap();
        cfg.model.widths = vec![16, 6, 3];
        cfg.training.lrs = vec![0.1, 0.1];
        cfg.training.probe_examples = 3;
        cfg.init.scale = 0.01;
        let dir = crate::train::tests::scratch("probe-dead");
        let data = crate::train::tests::synthetic_data(16, 3);
        let mut t = crate::train::Trainer::with_data(cfg, data, &dir, false, 1).unwrap();
        // Biases far below zero clip every hidden and output unit at 0.
        for b in t.net.biases.iter_mut() {
            b.fill(-5.0);
        }
        let m = t.run_epoch().unwrap();
        let q = m.gradient_quality.expect("probe in the metrics");
        assert!(q.cosine.iter().all(|c| c.is_nan()), "{q:?}");
        let back = crate::train::read_metrics(&dir).unwrap();
        assert!(back[0].gradient_quality.as_ref().unwrap().cosine[0].is_nan());
        assert!(dir.join("curves.png").exists());
    }

    /// `training.probe_examples` puts the probe into every epoch's metrics and a figure.
    #[test]
    fn epochs_record_the_probe() {
        let mut cfg = small_config();
        cfg.training.probe_examples = 3;
        let dir = crate::train::tests::scratch("probe-epoch");
        let data = crate::train::tests::synthetic_data(16, 3);
        let mut t = crate::train::Trainer::with_data(cfg, data, &dir, false, 1).unwrap();
        let m = t.run_epoch().unwrap();
        let q = m.gradient_quality.expect("probe in the metrics");
        assert_eq!((q.cosine.len(), q.examples), (2, 3));
        assert!(q.cosine.iter().all(|c| c.is_finite() && *c > 0.5), "{q:?}");
        let back = crate::train::read_metrics(&dir).unwrap();
        let read = back[0].gradient_quality.as_ref().expect("written");
        assert!(read
            .cosine
            .iter()
            .zip(&q.cosine)
            .all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(dir.join("gradient_quality.png").exists());
    }
}
