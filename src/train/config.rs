//! Training configuration (TOML) and presets. Every hyperparameter lives here; the effective
//! configuration is saved with each run and inside each checkpoint.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::layered::{Arch, Kind, Solver};
use crate::model::FhnParams;
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
    /// Heavy-ball momentum (0 = plain SGD).
    pub momentum: f64,
    /// Multiply every learning rate by this after each epoch.
    pub lr_decay: f64,
    /// Free-phase steps at evaluation time.
    pub eval_steps: usize,
    /// Stop a phase early once ‖∂Φ/∂s‖∞ ≤ tolerance (0 = always run all steps; the step
    /// counts are then maxima).
    #[serde(default)]
    pub tolerance: f64,
    /// History length m of `solver = "anderson"`.
    #[serde(default = "default_anderson_memory")]
    pub anderson_memory: usize,
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
    pub model: Arch,
    /// Initialisation.
    pub init: InitConfig,
    /// Data.
    pub data: DataConfig,
    /// Training.
    pub training: TrainingConfig,
}

/// Names of the built-in presets.
pub const PRESETS: &[&str] = &["quick", "paper", "best", "hopfield", "tiny"];

impl TrainConfig {
    /// A built-in preset (see docs/TRAINING.md for what each is for).
    pub fn preset(name: &str) -> Result<Self> {
        let fhn_arch = |widths: Vec<usize>| Arch {
            widths,
            kind: Kind::Fhn,
            fhn: FhnParams::table1(),
            inhibitor_coupling: false,
            leak: 0.0,
        };
        let data = DataConfig {
            dir: None,
            validation: 10_000,
            train_limit: 0,
            eval_limit: 0,
            input_scale: 1.0,
        };
        let paper_training = TrainingConfig {
            epochs: 30,
            batch_size: 32,
            eval_batch_size: 100,
            solver: Solver::Euler,
            dt: 0.1,
            free_steps: 55,
            nudge_steps: 14,
            beta: 0.9,
            centered: true,
            cost_scale: 0.5,
            target_on: 1.0,
            target_off: 0.0,
            lrs: vec![1e-2, 1e-3, 2e-4, 1e-4, 5e-5],
            bias_lr: 0.0,
            momentum: 0.0,
            lr_decay: 1.0,
            eval_steps: 55,
            tolerance: 0.0,
            anderson_memory: 5,
        };
        let cfg = match name {
            // Table I as printed: 784-512-512-512-512-10, δ, ε, α, β = 0.75, 0.85, 1.08, 0,
            // step 0.1, 55 free / 14 nudge iterations, β_nudge 0.9, centered, init 0.014.
            "paper" => Self {
                name: name.into(),
                seed: 1,
                model: fhn_arch(vec![784, 512, 512, 512, 512, 10]),
                init: InitConfig {
                    scale: 0.014,
                    fan_in_scaling: false,
                },
                data,
                training: paper_training,
            },
            // Our settings (docs/TRAINING.md): a leak conductance g₀ = 2, inputs × 12, the
            // diagonally preconditioned solver, ±0.5 targets, β = 0.5, 60/20 steps.
            "best" | "quick" | "tiny" => {
                let mut c = Self::preset("paper")?;
                c.name = name.into();
                c.model.widths = vec![784, 500, 10];
                c.model.leak = 2.0;
                c.init = InitConfig {
                    scale: 1.0,
                    fan_in_scaling: true,
                };
                c.data.input_scale = 12.0;
                c.training = TrainingConfig {
                    epochs: 30,
                    batch_size: 32,
                    solver: Solver::Jacobi,
                    dt: 0.5,
                    free_steps: 60,
                    nudge_steps: 20,
                    eval_steps: 60,
                    tolerance: 0.0,
                    anderson_memory: 5,
                    beta: 0.5,
                    target_on: 0.5,
                    target_off: -0.5,
                    lrs: vec![0.2, 0.05],
                    bias_lr: 0.01,
                    momentum: 0.0,
                    lr_decay: 0.9,
                    ..c.training
                };
                match name {
                    "quick" => c.training.epochs = 6,
                    "best" => c.model.widths = vec![784, 1024, 10],
                    "tiny" => {
                        c.model.widths = vec![784, 32, 10];
                        c.training.epochs = 1;
                        c.data.train_limit = 2000;
                        c.data.eval_limit = 500;
                    }
                    _ => {}
                }
                c
            }
            // Scellier & Bengio (2017) 784-500-10: 20/4 iterations, step 0.5, β = 1, batch 20.
            "hopfield" => Self {
                name: name.into(),
                seed: 1,
                model: Arch {
                    kind: Kind::Hopfield,
                    ..fhn_arch(vec![784, 500, 10])
                },
                init: InitConfig {
                    scale: 1.0,
                    fan_in_scaling: true,
                },
                data,
                training: TrainingConfig {
                    epochs: 20,
                    batch_size: 20,
                    dt: 0.5,
                    free_steps: 20,
                    nudge_steps: 4,
                    eval_steps: 20,
                    tolerance: 0.0,
                    anderson_memory: 5,
                    beta: 1.0,
                    lrs: vec![0.1, 0.05],
                    bias_lr: 0.05,
                    ..paper_training
                },
            },
            other => {
                return Err(Error::Invalid(format!(
                    "unknown preset '{other}' (available: {})",
                    PRESETS.join(", ")
                )))
            }
        };
        cfg.validate()?;
        Ok(cfg)
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

    /// Checks that the data fit the model: one input activator per pixel and an output unit
    /// for every class (label) present.
    pub fn check_data(&self, d: &Dataset) -> Result<()> {
        let w = &self.model.widths;
        let pixels = d.train.pixels;
        if d.val.pixels != pixels || d.test.pixels != pixels {
            return Err(Error::Invalid(format!(
                "the training images have {pixels} pixels but the test images {}",
                d.test.pixels
            )));
        }
        if w[0] != pixels {
            return Err(Error::Invalid(format!(
                "the model has {} inputs (model.widths[0]) but the images have {pixels} pixels",
                w[0]
            )));
        }
        let classes = [&d.train, &d.val, &d.test]
            .iter()
            .flat_map(|s| s.labels.iter())
            .max()
            .map_or(0, |&m| m as usize + 1);
        if *w.last().expect("validated widths") < classes {
            return Err(Error::Invalid(format!(
                "the data have {classes} classes but the model only {} outputs",
                w.last().unwrap()
            )));
        }
        Ok(())
    }

    /// Checks consistency (sizes, positivity, finiteness).
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let t = &self.training;
        let bad = |m: String| Err(Error::Invalid(m));
        if t.lrs.len() != self.model.depth() {
            return bad(format!(
                "training.lrs has {} entries but the model has {} weight layers",
                t.lrs.len(),
                self.model.depth()
            ));
        }
        if t.batch_size == 0 || t.eval_batch_size == 0 || t.epochs == 0 {
            return bad("batch sizes and epochs must be ≥ 1".into());
        }
        let steps = [
            ("free_steps", t.free_steps),
            ("nudge_steps", t.nudge_steps),
            ("eval_steps", t.eval_steps),
        ];
        if let Some((name, _)) = steps.iter().find(|(_, n)| *n == 0) {
            return bad(format!("training.{name} must be ≥ 1"));
        }
        if self.data.validation == 0 {
            return bad(
                "data.validation must be ≥ 1: the best epoch is chosen on the validation split"
                    .into(),
            );
        }
        let nums = [
            t.dt,
            t.beta,
            t.cost_scale,
            t.target_on,
            t.target_off,
            t.bias_lr,
            t.momentum,
            t.lr_decay,
            self.init.scale,
            self.data.input_scale,
        ];
        if nums.iter().chain(&t.lrs).any(|x| !x.is_finite()) {
            return bad("every number in the configuration must be finite".into());
        }
        if t.tolerance.is_nan() || t.tolerance < 0.0 {
            return bad("tolerance must be ≥ 0".into());
        }
        if t.dt <= 0.0 || t.beta == 0.0 || t.cost_scale <= 0.0 {
            return bad("dt, beta and cost_scale must be non-zero (dt, cost_scale > 0)".into());
        }
        if let Some(l) = t.lrs.iter().position(|&x| x < 0.0) {
            return bad(format!("training.lrs[{l}] = {} is negative", t.lrs[l]));
        }
        if t.bias_lr < 0.0 {
            return bad(format!("training.bias_lr = {} is negative", t.bias_lr));
        }
        if !(t.lr_decay > 0.0 && t.lr_decay <= 1.0) {
            return bad(format!(
                "training.lr_decay must be in (0, 1], got {}",
                t.lr_decay
            ));
        }
        if self.init.scale <= 0.0 || self.data.input_scale <= 0.0 {
            return bad("init.scale and data.input_scale must be > 0".into());
        }
        if t.solver == Solver::Anderson && t.anderson_memory == 0 {
            return bad("training.anderson_memory must be ≥ 1 with solver = \"anderson\"".into());
        }
        if !(0.0..1.0).contains(&t.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", t.momentum));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for p in PRESETS {
            let c = TrainConfig::preset(p).unwrap();
            let back = TrainConfig::from_toml(&c.to_toml(), Path::new("x.toml")).unwrap();
            assert_eq!(c, back);
        }
        assert!(TrainConfig::preset("nope").is_err());
    }

    #[test]
    fn bad_configs_are_rejected_with_a_location() {
        let mut c = TrainConfig::preset("paper").unwrap();
        c.training.lrs.pop();
        let e = TrainConfig::from_toml(&c.to_toml(), Path::new("bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.toml") && e.contains("lrs"), "{e}");
        let text = TrainConfig::preset("paper")
            .unwrap()
            .to_toml()
            .replace("epochs = 30", "epochs = \"many\"");
        let e = TrainConfig::from_toml(&text, Path::new("bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.toml:"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]

        /// Arbitrary text never panics the parser; it is a configuration or an error.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = TrainConfig::from_toml(&text, Path::new("x.toml"));
        }

        /// A valid configuration with one value replaced by an arbitrary TOML value.
        #[test]
        fn arbitrary_values_never_panic(
            line in 0usize..80,
            value in proptest::prop_oneof![
                proptest::num::f64::ANY.prop_map(|x| x.to_string()),
                proptest::num::i64::ANY.prop_map(|x| x.to_string()),
                proptest::num::u64::ANY.prop_map(|x| x.to_string()),
                "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
                proptest::collection::vec(0usize..2_000_000_000, 0..5).prop_map(|v| format!("{v:?}")),
            ]
        ) {
            let base = TrainConfig::preset("quick").unwrap().to_toml();
            let text: String = base
                .lines()
                .enumerate()
                .map(|(i, l)| match l.split_once(" = ") {
                    Some((k, _)) if i == line => format!("{k} = {value}\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            if let Ok(c) = TrainConfig::from_toml(&text, Path::new("x.toml")) {
                c.validate().unwrap();
            }
        }
    }
}
