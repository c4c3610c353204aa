//! Training configuration (TOML) and presets. Every hyperparameter lives here; the effective
//! configuration is saved with each run and inside each checkpoint.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::layered::{LayeredModel, Solver};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which data set to train on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Directory with `train-*`/`t10k-*` IDX .gz files; empty = the bundled MNIST copy.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Validation examples held out from the end of the training file.
    pub validation: usize,
    /// Use only the first `train_limit` training examples (0 = all).
    #[serde(default)]
    pub train_limit: usize,
    /// Evaluate on only the first `eval_limit` validation/test examples (0 = all).
    #[serde(default)]
    pub eval_limit: usize,
    /// Input activators are `pixel / 255 · input_scale`.
    pub input_scale: f64,
    /// Augmentation: each epoch translates every training image by up to `shift` pixels in
    /// each direction (0 = none; validation and test images never move).
    #[serde(default)]
    pub shift: usize,
}

/// Optimiser and EqProp settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Epochs.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Batch size used for evaluation.
    pub eval_batch_size: usize,
    /// Relaxation scheme.
    #[serde(default)]
    pub solver: Solver,
    /// Euler step.
    pub dt: f64,
    /// Free-phase Euler steps.
    pub free_steps: usize,
    /// Steps of each nudged phase.
    pub nudge_steps: usize,
    /// Nudging strength β.
    pub beta: f64,
    /// Centered EqProp (±β, both from the free state); otherwise one-sided (+β vs free).
    pub centered: bool,
    /// Cost C = cost_scale · ‖u_L − y‖² (0.5: the usual ½‖·‖²).
    pub cost_scale: f64,
    /// Target of the correct class's output.
    pub target_on: f64,
    /// Target of the other outputs.
    pub target_off: f64,
    /// Learning rate per weight layer, input → output.
    pub lrs: Vec<f64>,
    /// Learning rate of the biases (0 = biases frozen at 0).
    pub bias_lr: f64,
    /// Heavy-ball momentum (0 = plain SGD; must be 0 with `optimizer = "adam"`).
    pub momentum: f64,
    /// The update rule applied to the gradient estimate.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Adam's decay rates (β₁, β₂) of the first and second moments.
    #[serde(default = "default_adam_betas")]
    pub adam_betas: [f64; 2],
    /// Adam's ε, added to √v̂.
    #[serde(default = "default_adam_eps")]
    pub adam_eps: f64,
    /// Multiply every learning rate by this after each epoch (`lr_schedule = "exponential"`).
    pub lr_decay: f64,
    /// How the learning rates change over the epochs.
    #[serde(default)]
    pub lr_schedule: Schedule,
    /// Weight decay λ of the weight matrices (biases are not decayed): under heavy ball an L2
    /// term, the gradient gains λ·W; under Adam decoupled, `W ← W − η_l s λ W` beside the
    /// normalised step.
    #[serde(default)]
    pub weight_decay: f64,
    /// Free-phase steps at evaluation time.
    pub eval_steps: usize,
    /// Stop a phase early once ‖∂Φ/∂s‖∞ ≤ tolerance (0 = always run all steps; the step
    /// counts are then maxima): the free phases of training and evaluation, and the nudged
    /// phases unless `nudge_tolerance` is set.
    #[serde(default)]
    pub tolerance: f64,
    /// Tolerance of the nudged phases; unset = `tolerance`. `0` runs them for all `nudge_steps`
    /// while the free phase stops at `tolerance` (a nudged phase starts from the free state,
    /// near its own equilibrium, so an absolute tolerance can stop it early).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nudge_tolerance: Option<f64>,
    /// History length m of `solver = "anderson"`.
    #[serde(default = "default_anderson_memory")]
    pub anderson_memory: usize,
    /// Training examples (the first ones) on which each epoch measures the gradient quality
    /// (`train::probe`: the estimate vs the exact gradient per layer; dense, so costly on big
    /// layers); 0 = off.
    #[serde(default)]
    pub probe_examples: usize,
    /// The gradient estimator: `eqprop` (default) or `implicit` (the exact gradient; small
    /// FHN networks with ε > 0, or Hopfield networks).
    #[serde(default)]
    pub estimator: super::estimate::Estimator,
    /// Where each training free phase starts (`zero`, `previous`, `persistent`); evaluation
    /// always starts from zero.
    #[serde(default)]
    pub free_start: FreeStart,
}

/// The learning-rate schedule: the factor every learning rate is multiplied by in each epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// `lr_decay^e` in epoch e + 1.
    #[default]
    Exponential,
    /// `½(1 + cos(π e / epochs))` in epoch e + 1: from 1 down towards 0 at the last epoch.
    Cosine,
}

impl TrainingConfig {
    /// The nudged phases' tolerance: `nudge_tolerance`, else `tolerance`.
    pub fn nudge_tol(&self) -> f64 {
        self.nudge_tolerance.unwrap_or(self.tolerance)
    }

    /// The learning-rate scale for the epoch after `done` completed ones, given the scale
    /// `current` of the last one.
    pub fn lr_scale_after(&self, done: usize, current: f64) -> f64 {
        match self.lr_schedule {
            Schedule::Exponential => current * self.lr_decay,
            Schedule::Cosine => {
                let x = done as f64 / self.epochs.max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * x.min(1.0)).cos())
            }
        }
    }
}

/// The update rule (`train::optim`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with heavy-ball `momentum` and L2 `weight_decay` added to the gradient (the
    /// default; the only rule the backend engine runs).
    #[default]
    HeavyBall,
    /// Adam (Kingma & Ba 2015) with bias correction and decoupled weight decay (AdamW,
    /// Loshchilov & Hutter 2019, in PyTorch's convention): the per-layer `lrs` and `bias_lr`
    /// scale the normalised step, and `lrs` also the decay.
    Adam,
}

fn default_adam_betas() -> [f64; 2] {
    [0.9, 0.999]
}

fn default_adam_eps() -> f64 {
    1e-8
}

/// The initial hidden and output state of a training free phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FreeStart {
    /// Zero (the paper's choice, and the default).
    #[default]
    Zero,
    /// The free equilibrium of the previous minibatch of the epoch (zero for the first): no
    /// memory, but the state starts near the data manifold.
    Previous,
    /// Each training example's own last free equilibrium (zero the first time it is seen);
    /// memory n_train × Σ_{l≥1} n_l × 2 f32 (writing them takes about three times that),
    /// kept in `free_states.safetensors` beside the checkpoint so that `--resume` continues
    /// bit-identically (a file that is missing, of another epoch or unusable is logged and the
    /// states restart from zero).
    Persistent,
}

fn default_anderson_memory() -> usize {
    5
}

/// Weight initialisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// Weights ~ N(0, 1) · scale (/ √fan_in when `fan_in_scaling`).
    pub scale: f64,
    /// Divide the scale by √fan_in.
    pub fan_in_scaling: bool,
}

/// A complete training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Name of the preset this came from (informational).
    pub name: String,
    /// Random seed (initialisation and shuffling).
    pub seed: u64,
    /// Network.
    pub model: LayeredModel,
    /// Initialisation.
    pub init: InitConfig,
    /// Data.
    pub data: DataConfig,
    /// Training.
    pub training: TrainingConfig,
}

pub use super::presets::PRESETS;

impl TrainConfig {
    /// The network a new run starts from: `init` applied with the run's seed.
    pub fn initial_net(&self) -> Result<crate::layered::LayeredNet<f32>> {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        crate::layered::LayeredNet::random(
            self.model.clone(),
            self.init.scale,
            self.init.fan_in_scaling,
            &mut rng,
        )
    }

    /// Parses a TOML configuration; errors name the file and line.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| Error::Parse {
            path: path.into(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            msg: e.message().to_string(),
        })?;
        cfg.validate().map_err(|e| Error::Parse {
            path: path.into(),
            line: None,
            msg: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Reads a TOML configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Makes the input and output widths follow the data: `widths[0]` = its pixels, the last
    /// width = its classes (a preset run on another data set, e.g. `fhn train --data DIR`).
    pub fn fit_to(&mut self, d: &Dataset) {
        let (pixels, classes) = (d.pixels(), d.classes());
        let w = &mut self.model.widths;
        if let Some(first) = w.first_mut() {
            *first = pixels;
        }
        if let Some(last) = w.last_mut().filter(|_| classes > 0) {
            *last = classes;
        }
    }
}

#[path = "config_checks.rs"]
mod checks;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
