//! The configuration's checks: values that make sense on their own (`validate`) and data that
//! fit the model (`check_data`).

use super::{FreeStart, OptimizerKind, TrainConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::layered::Solver;

impl TrainConfig {
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
                "the model has {} inputs (model.widths[0]) but the images have {pixels} pixels; \
                 set model.widths[0] = {pixels} in a --config file",
                w[0]
            )));
        }
        let classes = d.classes();
        if *w.last().expect("validated widths") < classes {
            return Err(Error::Invalid(format!(
                "the data have {classes} classes but the model only {} outputs",
                w.last().unwrap()
            )));
        }
        if self.data.shift > 0 {
            // Only square images of more than `shift` pixels a side can take the shift.
            if let Err(e) = d.train.slice(0..0).shifted(self.data.shift, 0) {
                return Err(Error::Invalid(format!(
                    "data.shift = {}: {e}",
                    self.data.shift
                )));
            }
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
            t.weight_decay,
            t.adam_betas[0],
            t.adam_betas[1],
            t.adam_eps,
            self.init.scale,
            self.data.input_scale,
        ];
        if nums.iter().chain(&t.lrs).any(|x| !x.is_finite()) {
            return bad("every number in the configuration must be finite".into());
        }
        if [t.tolerance, t.nudge_tol()]
            .iter()
            .any(|x| x.is_nan() || *x < 0.0)
        {
            return bad("tolerance and nudge_tolerance must be ≥ 0".into());
        }
        if t.dt <= 0.0 || t.beta == 0.0 || t.cost_scale <= 0.0 {
            return bad("dt, beta and cost_scale must be non-zero (dt, cost_scale > 0)".into());
        }
        if let Some(l) = t.lrs.iter().position(|&x| x < 0.0) {
            return bad(format!("training.lrs[{l}] = {} is negative", t.lrs[l]));
        }
        if t.weight_decay < 0.0 {
            return bad(format!(
                "training.weight_decay = {} is negative",
                t.weight_decay
            ));
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
        if t.solver == Solver::RedBlack {
            self.model.block_sweep_supported()?;
        }
        let exact =
            t.probe_examples > 0 || t.estimator == crate::train::estimate::Estimator::Implicit;
        if exact && self.model.kind == crate::layered::Kind::Fhn && self.model.fhn.eps == 0.0 {
            return bad("training.probe_examples and estimator = \"implicit\" need eps > 0 for kind = \"fhn\" (the exact gradient uses the graph view)".into());
        }
        if t.free_start != FreeStart::Zero
            && t.estimator != crate::train::estimate::Estimator::EqProp
        {
            return bad(
                "training.free_start other than \"zero\" needs estimator = \"eqprop\"".into(),
            );
        }
        if t.solver == Solver::Anderson && t.anderson_memory == 0 {
            return bad("training.anderson_memory must be ≥ 1 with solver = \"anderson\"".into());
        }
        if !(0.0..1.0).contains(&t.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", t.momentum));
        }
        if t.optimizer == OptimizerKind::Adam {
            if t.momentum != 0.0 {
                return bad(format!("optimizer = \"adam\" takes its first-moment decay from adam_betas[0]: set momentum = 0 (it is {})", t.momentum));
            }
            if !t.adam_betas.iter().all(|b| (0.0..1.0).contains(b)) || t.adam_eps <= 0.0 {
                return bad(format!(
                    "adam_betas must lie in [0, 1) and adam_eps be > 0, got {:?} and {}",
                    t.adam_betas, t.adam_eps
                ));
            }
        }
        Ok(())
    }
}
