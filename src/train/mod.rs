//! EqProp training of layered networks on MNIST-format data: a config in, a run folder out
//! (`config.toml`, `log.txt`, `metrics.jsonl`, `checkpoint.safetensors`, `best.safetensors`,
//! `curves.png`, `results.json`).
//!
//! The loop is made of parts (docs/ARCHITECTURE.md): a [`GradientEstimator`] (EqProp or the
//! implicit gradient) fills the gradient, a [`GradientReducer`] combines it across processes,
//! the optimiser (`optim`) applies it, and [`Observer`]s write the outputs (files, progress).
//!
//! One step (docs/TRAINING.md): free phase from zero hidden state (`free_steps` Euler steps),
//! then nudged phases of `nudge_steps` each started from the free state (+β, and −β when
//! centered); `ΔW^l = −η_l/(2β) · (∂Φ/∂W^l(s^{+β}) − ∂Φ/∂W^l(s^{−β})) / B` (heavy-ball
//! momentum optional), or that gradient estimate given to Adam (`training.optimizer`).

pub mod checkpoint;
pub mod config;
mod device;
#[cfg(test)]
mod device_tests;
mod epoch;
pub mod estimate;
mod eval;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod observe;
pub mod optim;
#[cfg(test)]
mod parts_tests;
mod presets;
pub mod probe;
pub mod reduce;
pub mod run_dir;
#[cfg(test)]
mod run_tests;
mod shards;
#[cfg(test)]
mod split_tests;
pub mod sweep;
#[cfg(test)]
mod tests;
pub mod warm;
#[cfg(test)]
mod warm_tests;

use crate::data::{Dataset, Split};
use crate::error::{Error, Result};
use crate::layered::{Grads, LayeredNet};
use config::TrainConfig;
pub use estimate::{BatchStats, GradientEstimator};
pub use eval::{evaluate, load_data, load_dataset, Evaluation};
pub use observe::{Flow, Observer, Progress};
pub use optim::{OptimState, Optimizer};
pub use reduce::{GradientReducer, Traffic};
use run_dir::keep_metrics_through;
pub use run_dir::{plot_curves, read_metrics, EpochMetrics, RunLock, RunSummary};
use std::path::{Path, PathBuf};

/// A training run in progress.
pub struct Trainer {
    /// Configuration.
    pub cfg: TrainConfig,
    /// Network.
    pub net: LayeredNet<f32>,
    /// The update rule's buffers.
    state: optim::OptimState,
    grads: Grads<f32>,
    /// Completed epochs.
    pub epoch: usize,
    lr_scale: f64,
    data: Dataset,
    threads: usize,
    dir: PathBuf,
    best_val: f64,
    /// Epoch held by `dir/checkpoint.safetensors` (None: none written yet).
    saved_epoch: Option<usize>,
    /// The outputs: run files and progress bar by default ([`Trainer::add_observer`]).
    observers: Vec<Box<dyn Observer>>,
    /// Between the estimate and the update ([`reduce::Local`] by default).
    reducer: Box<dyn GradientReducer>,
    /// The update rule (`training.optimizer`'s, or [`Trainer::set_optimizer`]'s).
    optimizer: Box<dyn Optimizer>,
    /// The backend engine that runs the steps (None: the sharded CPU trainer).
    device: Option<Box<dyn crate::backend::Device>>,
    /// The run folder's lock; None on a follower (a process of a data-parallel job other than
    /// the first, which writes nothing: [`Trainer::follower`]).
    lock: Option<RunLock>,
    /// Each training example's last free state (`training.free_start = "persistent"`).
    free_states: Option<warm::FreeStates>,
    /// The running epoch's translated training images (`data.shift` > 0; None: unshifted).
    epoch_train: Option<Split>,
}

impl Trainer {
    /// A new run in `dir`, or, with `resume`, the run continued from
    /// `dir/checkpoint.safetensors` under `cfg` (same model and seed; e.g. more epochs). Loads
    /// the data set the configuration names.
    pub fn new(cfg: TrainConfig, dir: &Path, resume: bool, threads: usize) -> Result<Self> {
        let data = load_data(&cfg)?;
        Self::with_data(cfg, data, dir, resume, threads)
    }

    /// [`Trainer::new`] on a data set already in memory (its image size and classes must fit
    /// the model). Takes the run folder's lock for the trainer's lifetime.
    pub fn with_data(
        cfg: TrainConfig,
        data: Dataset,
        dir: &Path,
        resume: bool,
        threads: usize,
    ) -> Result<Self> {
        cfg.validate()?;
        cfg.check_data(&data)?;
        Self::with_lock(cfg, data, RunLock::acquire(dir)?, resume, threads)
    }

    /// [`Trainer::with_data`] in the folder of a lock the caller took (a sweep claims its runs
    /// with [`RunLock::try_acquire`]).
    pub fn with_lock(
        cfg: TrainConfig,
        data: Dataset,
        lock: RunLock,
        resume: bool,
        threads: usize,
    ) -> Result<Self> {
        cfg.validate()?;
        cfg.check_data(&data)?;
        let threads = threads.max(1);
        let dir = &lock.dir().to_path_buf();
        let ckpt_path = dir.join("checkpoint.safetensors");
        let (cfg, net, state, epoch, lr_scale) = if resume && ckpt_path.exists() {
            let c = checkpoint::load(&ckpt_path)?;
            if c.config.model != cfg.model || c.config.seed != cfg.seed {
                return Err(Error::Invalid(format!(
                    "--resume: the configuration's model or seed differs from {}",
                    ckpt_path.display()
                )));
            }
            // A cosine schedule follows the epoch and the configured length (which `--epochs`
            // may have changed since the checkpoint); the exponential one continues its scale.
            let lr_scale = match cfg.training.lr_schedule {
                config::Schedule::Cosine => cfg.training.lr_scale_after(c.epoch, c.lr_scale),
                config::Schedule::Exponential => c.lr_scale,
            };
            if (cfg.training.optimizer == config::OptimizerKind::Adam) != c.optim.second.is_some() {
                return Err(Error::Invalid(format!(
                    "--resume: training.optimizer differs from the one that wrote {}",
                    ckpt_path.display()
                )));
            }
            (cfg, c.net, c.optim, c.epoch, lr_scale)
        } else {
            if resume {
                return Err(Error::Invalid(format!(
                    "--resume: no checkpoint at {}",
                    ckpt_path.display()
                )));
            }
            if ckpt_path.exists() {
                return Err(Error::Invalid(format!(
                    "{} already holds a run; pass --resume to continue it or choose another --out",
                    dir.display()
                )));
            }
            let net = cfg.initial_net()?;
            let state = optim::OptimState::zeros(&net, cfg.training.optimizer);
            (cfg, net, state, 0, 1.0)
        };
        crate::io::write_atomic(&dir.join("config.toml"), cfg.to_toml().as_bytes())?;
        let grads = Grads::zeros_like(&net);
        let kept = keep_metrics_through(dir, epoch)?;
        let best_val = kept
            .iter()
            .map(|m| m.val_error)
            .fold(f64::INFINITY, f64::min);
        let optimizer = optim::from_config(&cfg.training);
        let (free_states, note) = warm::open(&cfg, dir, epoch, data.train.len())?;
        let mut trainer = Self {
            optimizer,
            cfg,
            net,
            state,
            grads,
            epoch,
            lr_scale,
            data,
            threads,
            dir: dir.into(),
            best_val,
            saved_epoch: resume.then_some(epoch),
            observers: vec![
                Box::new(observe::RunFiles { dir: dir.into() }),
                Box::new(observe::ProgressBar::default()),
            ],
            reducer: Box::new(reduce::Local),
            device: None,
            lock: Some(lock),
            free_states,
            epoch_train: None,
        };
        if let Some(note) = note {
            trainer.log(&note)?;
        }
        Ok(trainer)
    }

    /// A follower: another process of a data-parallel job, started from the leader's state
    /// (its [`Trainer::snapshot`], shared by the job) on the same data. It estimates its part of
    /// every minibatch and applies the same updates as the leader, and writes nothing: no run
    /// folder, log or checkpoint. Give it the job's reducer ([`Trainer::set_reducer`]) and run
    /// it with [`Trainer::follow`].
    pub fn follower(start: checkpoint::Checkpoint, data: Dataset, threads: usize) -> Result<Self> {
        let cfg = start.config;
        cfg.validate()?;
        cfg.check_data(&data)?;
        let grads = Grads::zeros_like(&start.net);
        Ok(Self {
            optimizer: optim::from_config(&cfg.training),
            cfg,
            net: start.net,
            state: start.optim,
            grads,
            epoch: start.epoch,
            lr_scale: start.lr_scale,
            data,
            threads: threads.max(1),
            dir: PathBuf::new(),
            best_val: f64::INFINITY,
            saved_epoch: None,
            observers: Vec::new(),
            reducer: Box::new(reduce::Local),
            device: None,
            lock: None,
            free_states: None,
            epoch_train: None,
        })
    }

    /// Whether this process writes the run (every process but a [`Trainer::follower`]).
    pub fn is_leader(&self) -> bool {
        self.lock.is_some()
    }

    /// Also prints each `log.txt` line on stderr (the command-line tool does; a library caller
    /// reads the run folder or adds its own [`Observer`]).
    pub fn echo_log(&mut self) {
        self.add_observer(Box::new(observe::Echo));
    }

    /// Adds an output of the training loop (log lines, progress, epoch metrics).
    pub fn add_observer(&mut self, observer: Box<dyn Observer>) {
        self.observers.push(observer);
    }

    /// Replaces the gradient reducer (multi-process training). The backend engine
    /// (`--device host|cuda`) fuses estimate and update on the device, so a reducer that
    /// combines processes is refused there; so is a minibatch smaller than the processes.
    pub fn set_reducer(&mut self, reducer: Box<dyn GradientReducer>) -> Result<()> {
        let ranks = reducer.place().1;
        let batch = self.cfg.training.batch_size.min(self.data.train.len());
        if ranks > 1 && self.cfg.training.free_start == config::FreeStart::Persistent {
            return Err(Error::Invalid(
                "training.free_start = \"persistent\" keeps every example's state in one process: it is not supported with several processes (\"previous\" is)".into(),
            ));
        }
        if ranks > batch {
            return Err(Error::Invalid(format!(
                "{ranks} processes need a minibatch of ≥ {ranks} examples (training.batch_size ≥ {ranks} and as many training examples; it is {batch})"
            )));
        }
        self.reducer = reducer;
        self.check_parts()
    }

    /// What the reducer's communication has cost so far.
    pub fn traffic(&self) -> Traffic {
        self.reducer.traffic()
    }

    /// Replaces the update rule with one of the caller's own. A configurable rule must be the
    /// configured one (`training.optimizer`: the run's buffers and checkpoints are that
    /// rule's); the backend engine runs heavy-ball SGD itself and refuses another rule. A
    /// refused rule leaves the previous one in place.
    pub fn set_optimizer(&mut self, optimizer: Box<dyn Optimizer>) -> Result<()> {
        if let Some(kind) = optimizer.kind() {
            if kind != self.cfg.training.optimizer {
                return Err(Error::Invalid(format!(
                    "this run is configured with training.optimizer = {:?}: configure the rule rather than replace it",
                    self.cfg.training.optimizer
                )));
            }
        }
        let previous = std::mem::replace(&mut self.optimizer, optimizer);
        self.check_parts()
            .inspect_err(|_| self.optimizer = previous)
    }

    /// The backend engine runs EqProp and the update itself: it takes neither another
    /// estimator nor a reducer that combines processes.
    fn check_parts(&self) -> Result<()> {
        if self.device.is_some() {
            if self.cfg.training.estimator != estimate::Estimator::EqProp {
                return Err(Error::Invalid(
                    "--device host|cuda runs EqProp on the device: training.estimator must be \"eqprop\"".into(),
                ));
            }
            if self.optimizer.kind() != Some(config::OptimizerKind::HeavyBall) {
                return Err(Error::Invalid(
                    "--device host|cuda runs heavy-ball SGD on the device: another optimiser needs the CPU trainer".into(),
                ));
            }
            if !self.reducer.is_local() {
                return Err(Error::Invalid(
                    "--device host|cuda updates the weights on the device: a multi-process gradient reducer needs the CPU trainer".into(),
                ));
            }
        }
        Ok(())
    }

    fn log(&mut self, line: &str) -> Result<()> {
        self.observers.iter_mut().try_for_each(|o| o.log(line))
    }

    /// Tells the observers where the epoch stands (and, when `tenth` and no observer shows
    /// progress live, logs it); an observer's [`Flow::Stop`] ends training here.
    fn progress(&mut self, p: &Progress, tenth: bool) -> Result<()> {
        let mut stop = false;
        for o in self.observers.iter_mut() {
            stop |= o.progress(p)? == Flow::Stop;
        }
        if tenth && !self.observers.iter().any(|o| o.live()) {
            self.log(&p.line())?;
        }
        if stop {
            return Err(Error::Interrupted(format!(
                "epoch {}, after {} of {} examples",
                p.epoch, p.seen, p.total
            )));
        }
        Ok(())
    }

    /// This process's examples of minibatch `idx` (all of them on one process).
    fn my_part<'a>(&self, idx: &'a [usize]) -> &'a [usize] {
        let (rank, ranks) = self.reducer.place();
        &idx[reduce::part(idx.len(), rank, ranks)]
    }

    /// The estimator for this process's part of minibatches of `batch` examples, holding the
    /// persistent free `states` if given.
    fn estimator(
        &self,
        batch: usize,
        states: Option<warm::FreeStates>,
    ) -> Box<dyn GradientEstimator> {
        let (rank, ranks) = self.reducer.place();
        let mine = reduce::part(batch, rank, ranks).len();
        estimate::estimator(&self.cfg, &self.net, mine, self.threads, batch, states)
    }

    /// One update on minibatch `idx` of the training split: this process's estimate of its
    /// part, the reduction over processes, the update.
    fn train_batch(
        &mut self,
        est: &mut dyn GradientEstimator,
        idx: &[usize],
        ratios: &mut [f64],
    ) -> Result<BatchStats> {
        let (net, cfg) = (&self.net, &self.cfg);
        let mine = self.my_part(idx);
        let split = self.epoch_train.as_ref().unwrap_or(&self.data.train);
        let local = est.estimate(net, cfg, split, mine, &mut self.grads);
        let stats = self.reducer.reduce(local, &mut self.grads)?;
        self.optimizer.step(
            &mut self.net,
            &self.grads,
            &mut self.state,
            self.lr_scale,
            ratios,
        );
        est.weights_changed(&self.net);
        Ok(stats)
    }
}
