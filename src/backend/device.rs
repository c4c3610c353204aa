//! What the trainer holds: the choice of implementation (`--device`), an [`Engine`] behind a
//! trait object, and the comparison of two runs from the same weights (`bench-step --check`).

#[cfg(feature = "cuda")]
use super::Cuda;
use super::{Backend, BatchStats, Engine, Host};
#[cfg(not(feature = "cuda"))]
use crate::error::Error;
use crate::error::Result;

/// Which implementation runs the training step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// The sharded CPU trainer (`--threads` shards; the default and fastest on a CPU).
    #[default]
    Cpu,
    /// The backend engine on the CPU, one thread: the reference the GPU path is checked against.
    Host,
    /// The backend engine on an NVIDIA GPU (cargo feature `cuda`).
    Cuda,
}

impl std::str::FromStr for DeviceKind {
    type Err = crate::error::Error;

    /// Parses the name [`DeviceKind::engine_name`] gives.
    fn from_str(s: &str) -> Result<Self> {
        [DeviceKind::Cpu, DeviceKind::Host, DeviceKind::Cuda]
            .into_iter()
            .find(|k| k.engine_name() == s)
            .ok_or_else(|| {
                crate::error::Error::Invalid(format!("unknown device {s:?} (cpu, host or cuda)"))
            })
    }
}

impl DeviceKind {
    /// The name `--device` takes.
    pub fn engine_name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Host => "host",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// The engine for this kind (None for [`DeviceKind::Cpu`], which is the trainer's own path).
    pub fn engine(
        self,
        cfg: &crate::train::config::TrainConfig,
        net: &crate::layered::LayeredNet<f32>,
        m: &crate::layered::Grads<f32>,
    ) -> Result<Option<Box<dyn Device>>> {
        Ok(match self {
            DeviceKind::Cpu => None,
            DeviceKind::Host => Some(Box::new(Engine::new(std::sync::Arc::new(Host), cfg, net, m)?)),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Some(Box::new(Engine::new(std::sync::Arc::new(Cuda::new(0)?), cfg, net, m)?)),
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda => {
                return Err(Error::Device(
                    "this binary was built without CUDA support: rebuild with `cargo build --release --features cuda`".into(),
                ))
            }
        })
    }
}

/// An [`Engine`] on any backend, as the trainer holds it.
pub trait Device {
    /// Backend in words.
    fn describe(&self) -> String;
    /// Uploads weights, biases and momentum.
    fn set(
        &mut self,
        net: &crate::layered::LayeredNet<f32>,
        m: &crate::layered::Grads<f32>,
    ) -> Result<()>;
    /// Downloads weights, biases and momentum.
    fn get(
        &self,
        net: &mut crate::layered::LayeredNet<f32>,
        m: &mut crate::layered::Grads<f32>,
    ) -> Result<()>;
    /// See [`Engine::start_epoch`].
    fn start_epoch(
        &mut self,
        name: &str,
        split: &crate::data::Split,
        order: &[usize],
    ) -> Result<usize>;
    /// See [`Engine::train_batches`].
    fn train_batches(&mut self, n: usize, lr_scale: f64) -> Result<()>;
    /// See [`Engine::batch_stats`].
    fn batch_stats(&self, range: std::ops::Range<usize>) -> Result<Vec<BatchStats>>;
    /// See [`Engine::evaluate`].
    fn evaluate(
        &mut self,
        name: &str,
        split: &crate::data::Split,
    ) -> Result<crate::train::Evaluation>;
}

impl<B: Backend> Device for Engine<B> {
    fn describe(&self) -> String {
        Engine::describe(self)
    }
    fn set(
        &mut self,
        net: &crate::layered::LayeredNet<f32>,
        m: &crate::layered::Grads<f32>,
    ) -> Result<()> {
        Engine::set(self, net, m)
    }
    fn get(
        &self,
        net: &mut crate::layered::LayeredNet<f32>,
        m: &mut crate::layered::Grads<f32>,
    ) -> Result<()> {
        Engine::get(self, net, m)
    }
    fn start_epoch(
        &mut self,
        name: &str,
        split: &crate::data::Split,
        order: &[usize],
    ) -> Result<usize> {
        Engine::start_epoch(self, name, split, order)
    }
    fn train_batches(&mut self, n: usize, lr_scale: f64) -> Result<()> {
        Engine::train_batches(self, n, lr_scale)
    }
    fn batch_stats(&self, range: std::ops::Range<usize>) -> Result<Vec<BatchStats>> {
        Engine::batch_stats(self, range)
    }
    fn evaluate(
        &mut self,
        name: &str,
        split: &crate::data::Split,
    ) -> Result<crate::train::Evaluation> {
        Engine::evaluate(self, name, split)
    }
}

/// How far two runs from the same weights ended apart (see [`compare`]).
#[derive(Clone, Debug)]
pub struct Agreement {
    /// ‖a − b‖/‖a‖ over every weight and bias.
    pub weights_rel: f64,
    /// Largest |a − b| over every weight and bias, over the largest |a|.
    pub weights_max_rel: f64,
    /// ‖Δa − Δb‖/‖Δa‖ over everything, Δ the change from the common start.
    pub update_rel: f64,
    /// The same per weight matrix.
    pub update_rel_per_layer: Vec<f64>,
    /// `weights_max_rel` per weight matrix.
    pub weights_max_rel_per_layer: Vec<f64>,
}

/// Compares two networks trained from `before` (e.g. the CPU trainer and a device).
pub fn compare(
    before: &crate::layered::LayeredNet<f32>,
    a: &crate::layered::LayeredNet<f32>,
    b: &crate::layered::LayeredNet<f32>,
) -> Agreement {
    let flat = |n: &crate::layered::LayeredNet<f32>, only: Option<usize>| -> Vec<f64> {
        let mut out = Vec::new();
        for (l, w) in n.weights.iter().enumerate() {
            if only.is_none_or(|k| k == l) {
                out.extend(
                    (0..w.ncols()).flat_map(|j| (0..w.nrows()).map(move |i| w[(i, j)] as f64)),
                );
            }
        }
        if only.is_none() {
            out.extend(n.biases.iter().flatten().map(|&x| x as f64));
        }
        out
    };
    let rel = |only: Option<usize>| -> (f64, f64) {
        let (z, x, y) = (flat(before, only), flat(a, only), flat(b, only));
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = x
            .iter()
            .zip(&y)
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
        let (mut num, mut den) = (0.0, 0.0);
        for ((p, q), o) in x.iter().zip(&y).zip(&z) {
            num += (p - q).powi(2);
            den += (p - o).powi(2);
        }
        (
            worst / scale.max(f64::MIN_POSITIVE),
            (num / den.max(f64::MIN_POSITIVE)).sqrt(),
        )
    };
    let (weights_max_rel, update_rel) = rel(None);
    let (x, y) = (flat(a, None), flat(b, None));
    let diff: f64 = x.iter().zip(&y).map(|(p, q)| (p - q).powi(2)).sum();
    let norm: f64 = x.iter().map(|p| p * p).sum();
    Agreement {
        weights_rel: (diff / norm.max(f64::MIN_POSITIVE)).sqrt(),
        weights_max_rel,
        update_rel,
        update_rel_per_layer: (0..a.weights.len()).map(|l| rel(Some(l)).1).collect(),
        weights_max_rel_per_layer: (0..a.weights.len()).map(|l| rel(Some(l)).0).collect(),
    }
}
