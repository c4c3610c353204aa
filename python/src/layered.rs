//! Layered networks: checkpoints, relaxation of a batch, one EqProp gradient, and training with a
//! Python callback (Ctrl-C stops between batches).

use crate::{json, mat2, OrPy};
use fhn_eqprop::data::Split;
use fhn_eqprop::layered::{Grads, Phase};
use fhn_eqprop::train::checkpoint::{self, Checkpoint};
use fhn_eqprop::train::config::TrainConfig;
use fhn_eqprop::train::estimate::{EqProp, GradientEstimator};
use fhn_eqprop::train::{
    evaluate, load_data, EpochMetrics, Flow, Observer, OptimState, Progress, Trainer,
};
use fhn_eqprop::{Error, Result};
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// A configuration from JSON text (a dict from Python) or a preset name.
fn config(text: &str) -> PyResult<TrainConfig> {
    let cfg: TrainConfig = if text.trim_start().starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| PyValueError::new_err(format!("configuration: {e}")))?
    } else {
        TrainConfig::preset(text).py()?
    };
    cfg.validate().py()?;
    Ok(cfg)
}

/// A preset as JSON text.
#[pyfunction]
pub fn preset(name: &str) -> PyResult<String> {
    json(&TrainConfig::preset(name).py()?)
}

/// A layered network with the configuration it trains under (a checkpoint of `fhn train`).
#[pyclass(module = "fhn_eqprop._native")]
pub struct Layered {
    ckpt: Checkpoint,
    /// The EqProp estimator and gradient buffers of the last `eqprop_gradients` call, kept
    /// for the next batch of the same size and thread count (no allocation per call).
    estimator: Option<((usize, usize), EqProp, Grads<f32>)>,
}

fn f32_mat(a: &PyReadonlyArray2<f32>) -> faer::Mat<f32> {
    let v = a.as_array();
    faer::Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)])
}

#[pymethods]
impl Layered {
    /// Reads a checkpoint (.safetensors) written by `fhn train` or `Layered.save`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            ckpt: checkpoint::load(&path).py()?,
            estimator: None,
        })
    }

    /// A new network: the configuration (JSON text or preset name) initialised with its seed.
    #[staticmethod]
    fn create(config_json: &str) -> PyResult<Self> {
        let cfg = config(config_json)?;
        let net = cfg.initial_net().py()?;
        let optim = OptimState::zeros(&net, cfg.training.optimizer);
        Ok(Self {
            ckpt: Checkpoint {
                config: cfg,
                epoch: 0,
                lr_scale: 1.0,
                net,
                optim,
            },
            estimator: None,
        })
    }

    /// Writes the checkpoint (the format `fhn eval` and `fhn train --resume` read).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        checkpoint::save(&path, &self.ckpt).py()
    }

    /// The configuration as JSON text.
    fn config_json(&self) -> PyResult<String> {
        json(&self.ckpt.config)
    }

    /// Layer widths, input first.
    #[getter]
    fn widths(&self) -> Vec<usize> {
        self.ckpt.net.model.widths.clone()
    }

    /// Completed training epochs.
    #[getter]
    fn epoch(&self) -> usize {
        self.ckpt.epoch
    }

    /// Copies of the weight matrices W^l (n_{l+1} × n_l, float32).
    fn weights<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray2<f32>>> {
        self.ckpt.net.weights.iter().map(|w| mat2(py, w)).collect()
    }

    /// Copies of the biases (currents) of layers 1 … L.
    fn biases(&self) -> Vec<Vec<f32>> {
        self.ckpt.net.biases.clone()
    }

    /// Replaces the weights and biases (same shapes; finite).
    fn set_parameters(
        &mut self,
        weights: Vec<PyReadonlyArray2<f32>>,
        biases: Vec<Vec<f32>>,
    ) -> PyResult<()> {
        let net = &mut self.ckpt.net;
        let ok = weights.len() == net.weights.len()
            && biases.len() == net.biases.len()
            && weights
                .iter()
                .zip(&net.weights)
                .all(|(a, w)| a.as_array().dim() == (w.nrows(), w.ncols()))
            && biases
                .iter()
                .zip(&net.biases)
                .all(|(a, b)| a.len() == b.len());
        if !ok {
            return Err(PyValueError::new_err(
                "weights and biases must have the network's shapes",
            ));
        }
        if weights
            .iter()
            .any(|a| a.as_array().iter().any(|x| !x.is_finite()))
            || biases.iter().flatten().any(|x| !x.is_finite())
        {
            return Err(PyValueError::new_err("weights and biases must be finite"));
        }
        net.weights = weights.iter().map(f32_mat).collect();
        net.biases = biases;
        Ok(())
    }

    /// Relaxes a batch `x` (B × n₀ float32, inputs in model units) with the configuration's
    /// free phase (`steps` overrides its evaluation steps); returns the activators of every layer
    /// (B × n_l each) and the residual ‖∂Φ/∂s‖∞.
    #[pyo3(signature = (x, steps=None))]
    fn relax<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<f32>,
        steps: Option<usize>,
    ) -> PyResult<(Vec<Bound<'py, PyArray2<f32>>>, f64)> {
        let net = &self.ckpt.net;
        let xa = x.as_array();
        if xa.ncols() != net.model.widths[0] || xa.nrows() == 0 {
            return Err(PyValueError::new_err(format!(
                "x must be B × {}, got {:?}",
                net.model.widths[0],
                xa.shape()
            )));
        }
        if xa.iter().any(|v| !v.is_finite()) {
            return Err(PyValueError::new_err("x must be finite"));
        }
        let xt = faer::Mat::from_fn(xa.ncols(), xa.nrows(), |i, b| xa[(b, i)]);
        let t = &self.ckpt.config.training;
        let (st, residual) = py
            .detach(|| {
                let mut st = net.init_state(xt);
                let mut ws = net.workspace(st.u[0].ncols());
                net.prepare_input(&st, &mut ws, faer::Par::Seq);
                let phase = Phase {
                    nudge: None,
                    dt: t.dt as f32,
                    max_steps: steps.unwrap_or(t.eval_steps).max(1),
                    tol: 0.0,
                    solver: t.solver,
                };
                net.relax(&mut st, &mut ws, phase, faer::Par::Seq)?;
                let r = net.residual(&st, &mut ws, None, faer::Par::Seq);
                Ok::<_, Error>((st, r))
            })
            .py()?;
        let layers =
            st.u.iter()
                .map(|u| mat2(py, &u.transpose().to_owned()))
                .collect();
        Ok((layers, residual))
    }

    /// One EqProp estimate of the mean gradient of the cost over a batch of images (B × pixels,
    /// uint8, scaled by the configuration's input scale) with `labels`, exactly as the trainer
    /// computes it; returns per-layer weight and bias gradients and the batch statistics.
    #[pyo3(signature = (images, labels, threads=1))]
    #[allow(clippy::type_complexity)]
    fn eqprop_gradients<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArray2<u8>,
        labels: PyReadonlyArray1<i64>,
        threads: usize,
    ) -> PyResult<(Vec<Bound<'py, PyArray2<f32>>>, Vec<Vec<f32>>, String)> {
        let (net, cfg) = (&self.ckpt.net, &self.ckpt.config);
        let (ia, la) = (images.as_array(), labels.as_array());
        let classes = *net.model.widths.last().unwrap_or(&0);
        if ia.ncols() != net.model.widths[0] || ia.nrows() != la.len() || la.is_empty() {
            return Err(PyValueError::new_err(format!(
                "images must be B × {} with B labels, got {:?} and {}",
                net.model.widths[0],
                ia.shape(),
                la.len()
            )));
        }
        if classes > 256 {
            return Err(PyValueError::new_err(format!(
                "{classes} classes: the trainer's labels are bytes (at most 256 classes)"
            )));
        }
        if let Some(l) = la.iter().find(|&&l| l < 0 || l as usize >= classes) {
            return Err(PyValueError::new_err(format!(
                "label {l} outside 0..{classes}"
            )));
        }
        let split = Split {
            images: ia.iter().copied().collect(),
            labels: la.iter().map(|&l| l as u8).collect(),
            pixels: ia.ncols(),
        };
        let idx: Vec<usize> = (0..split.len()).collect();
        let key = (idx.len(), threads.max(1));
        let mut cached = match self.estimator.take() {
            Some((k, est, g)) if k == key => (est, g),
            _ => (EqProp::new(net, key.0, key.1), Grads::zeros_like(net)),
        };
        let stats = py
            .detach(|| {
                let (est, g) = &mut cached;
                est.weights_changed(net); // the weights may have been set since the last call
                est.estimate(net, cfg, &split, &idx, g)
            })
            .py()?;
        let (w, b) = (
            cached.1.w.iter().map(|m| mat2(py, m)).collect(),
            cached.1.b.clone(),
        );
        self.estimator = Some((key, cached.0, cached.1));
        let s = serde_json::json!({"errors": stats.errors, "cost": stats.cost, "residual": stats.residual});
        Ok((w, b, s.to_string()))
    }

    /// Error, cost and residual on the test or validation split of the configuration's data set
    /// (the first `limit` images when > 0), as JSON text.
    #[pyo3(signature = (split="test", limit=0, threads=1))]
    fn evaluate_json(
        &self,
        py: Python<'_>,
        split: &str,
        limit: usize,
        threads: usize,
    ) -> PyResult<String> {
        let (net, cfg) = (&self.ckpt.net, &self.ckpt.config);
        let which = match split {
            "test" | "val" | "validation" => split.to_string(),
            s => {
                return Err(PyValueError::new_err(format!(
                    "split '{s}': 'test' or 'val'"
                )))
            }
        };
        let e = py
            .detach(|| {
                let d = load_data(cfg)?;
                let s = if which == "test" { d.test } else { d.val };
                let s = if limit > 0 && limit < s.len() {
                    s.slice(0..limit)
                } else {
                    s
                };
                evaluate(net, cfg, &s, threads.max(1))
            })
            .py()?;
        json(&e)
    }
}

/// Forwards the trainer's epochs to a Python callable and stops training between batches on
/// Ctrl-C (or when the callable raises).
struct PyObserver {
    callback: Option<Py<PyAny>>,
    error: std::sync::Arc<std::sync::Mutex<Option<PyErr>>>,
}

impl Observer for PyObserver {
    fn progress(&mut self, _p: &Progress) -> Result<Flow> {
        let stop = Python::attach(|py| py.check_signals());
        match stop {
            Ok(()) => Ok(Flow::Continue),
            Err(e) => {
                *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Ok(Flow::Stop)
            }
        }
    }

    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        let Some(cb) = &self.callback else {
            return Ok(());
        };
        let text = serde_json::to_string(m).map_err(|e| Error::Invalid(e.to_string()))?;
        Python::attach(|py| {
            let json = py.import("json")?;
            let dict = json.call_method1("loads", (text,))?;
            cb.call1(py, (dict,)).map(|_| ())
        })
        .map_err(|e| {
            let msg = e.to_string();
            *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            Error::Interrupted(format!("the epoch callback raised: {msg}"))
        })
    }
}

/// Trains a configuration (JSON text or preset name) into run folder `out` (`resume` continues
/// it); `callback(metrics: dict)` after each epoch. Returns the run summary as JSON text.
#[pyfunction]
#[pyo3(signature = (config_json, out, resume=false, threads=1, callback=None, quiet=true))]
pub fn train(
    py: Python<'_>,
    config_json: &str,
    out: PathBuf,
    resume: bool,
    threads: usize,
    callback: Option<Py<PyAny>>,
    quiet: bool,
) -> PyResult<String> {
    let cfg = config(config_json)?;
    let error = std::sync::Arc::new(std::sync::Mutex::new(None));
    let obs = PyObserver {
        callback,
        error: error.clone(),
    };
    let result = py.detach(move || {
        let mut t = Trainer::new(cfg, Path::new(&out), resume, threads.max(1))?;
        if !quiet {
            t.echo_log();
        }
        t.add_observer(Box::new(obs));
        t.fit(threads.max(1))
    });
    if let Some(e) = error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    json(&result.py()?)
}
