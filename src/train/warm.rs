//! Persistent free states (`training.free_start = "persistent"`): each training example's last
//! free equilibrium, where its next free phase starts. Stored beside the checkpoint as
//! `free_states.safetensors` (tensors `u`, `v`: examples × Σ_{l≥1} n_l; `stored`: 1 where an
//! example has a state; metadata: the epoch) so that `--resume` continues bit-identically.

use super::config::{FreeStart, TrainConfig};
use crate::error::{Error, Result};
use crate::layered::BatchState;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// The file beside the checkpoint.
pub const FILE: &str = "free_states.safetensors";

/// One free state (activators and inhibitors of layers 1..=L) per training example.
#[derive(Clone, Debug, PartialEq)]
pub struct FreeStates {
    /// n_1, …, n_L.
    widths: Vec<usize>,
    /// Σ_{l≥1} n_l: one example's state of one variable.
    rows: usize,
    /// Activators, example-major (example i at `i·rows..(i+1)·rows`).
    u: Vec<f32>,
    /// Inhibitors, same layout.
    v: Vec<f32>,
    /// Whether example i has been through a free phase.
    stored: Vec<bool>,
}

impl FreeStates {
    /// Empty states (every example starts from zero) of a network of `widths` (input first, at
    /// least two) over `examples` training examples; refuses more than 2³³ floats per variable
    /// or an allocation the allocator refuses.
    pub fn new(widths: &[usize], examples: usize) -> Result<Self> {
        let widths = widths[1..].to_vec();
        let rows: usize = widths.iter().sum();
        let floats = rows.checked_mul(examples).filter(|&n| n <= 1 << 33);
        let too_big = || {
            Error::Invalid(format!(
                "free_start = \"persistent\" needs 2 × {examples} × {rows} f32 of state: too many"
            ))
        };
        let n = floats.ok_or_else(too_big)?;
        let zeros = |n: usize| -> Result<Vec<f32>> {
            let mut v = Vec::new();
            v.try_reserve_exact(n).map_err(|_| too_big())?;
            v.resize(n, 0.0);
            Ok(v)
        };
        Ok(Self {
            widths,
            rows,
            u: zeros(n)?,
            v: zeros(n)?,
            stored: vec![false; examples],
        })
    }

    /// Examples with a stored state.
    pub fn stored(&self) -> usize {
        self.stored.iter().filter(|&&s| s).count()
    }

    /// Sets column `b` of layers 1..=L of `st` to example `i`'s stored state (zero if none).
    pub fn restore(&self, i: usize, st: &mut BatchState<f32>, b: usize) {
        let base = i * self.rows;
        let mut off = base;
        for (l, &n) in self.widths.iter().enumerate() {
            for k in 0..n {
                let (u, v) = if self.stored[i] {
                    (self.u[off + k], self.v[off + k])
                } else {
                    (0.0, 0.0)
                };
                st.u[l + 1][(k, b)] = u;
                st.v[l + 1][(k, b)] = v;
            }
            off += n;
        }
    }

    /// Stores column `b` of `st` as example `i`'s state.
    pub fn keep(&mut self, i: usize, st: &BatchState<f32>, b: usize) {
        let mut off = i * self.rows;
        for (l, &n) in self.widths.iter().enumerate() {
            for k in 0..n {
                self.u[off + k] = st.u[l + 1][(k, b)];
                self.v[off + k] = st.v[l + 1][(k, b)];
            }
            off += n;
        }
        self.stored[i] = true;
    }

    /// Writes the states of `epoch` to `path` atomically.
    pub fn save(&self, path: &Path, epoch: usize) -> Result<()> {
        let n = self.stored.len();
        let bytes = |x: &[f32]| x.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
        let flags: Vec<f32> = self
            .stored
            .iter()
            .map(|&s| f32::from(u8::from(s)))
            .collect();
        let named = vec![
            ("u".to_string(), vec![n, self.rows], bytes(&self.u)),
            ("v".to_string(), vec![n, self.rows], bytes(&self.v)),
            ("stored".to_string(), vec![n], bytes(&flags)),
        ];
        let meta = HashMap::from([
            (
                "format".to_string(),
                "fhn-eqprop-free-states-v1".to_string(),
            ),
            ("epoch".to_string(), epoch.to_string()),
        ]);
        crate::io::write_atomic(path, &super::checkpoint::serialize(&named, meta)?)
    }

    /// Reads states written by [`Self::save`] for a network of `widths` over `examples`
    /// examples; returns them with their epoch.
    pub fn load(path: &Path, widths: &[usize], examples: usize) -> Result<(Self, usize)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |msg: String| Error::Parse {
            path: path.into(),
            line: None,
            msg,
        };
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("{e}")))?;
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        if meta.get("format").map(String::as_str) != Some("fhn-eqprop-free-states-v1") {
            return Err(bad("not a free-states file".into()));
        }
        let epoch = meta
            .get("epoch")
            .and_then(|e| e.parse().ok())
            .ok_or_else(|| bad("bad epoch".into()))?;
        let mut out = Self::new(widths, examples)?;
        let shapes = [
            ("u", vec![examples, out.rows]),
            ("v", vec![examples, out.rows]),
            ("stored", vec![examples]),
        ];
        let mut flags = Vec::new();
        for (name, shape) in shapes {
            let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
            if t.dtype() != Dtype::F32 || t.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "tensor {name} has shape {:?}, expected {shape:?} (another network or data set)",
                    t.shape()
                )));
            }
            let vals = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            let dst = match name {
                "u" => &mut out.u,
                "v" => &mut out.v,
                _ => &mut flags,
            };
            dst.clear();
            dst.extend(vals);
            if dst.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("tensor {name} holds non-finite values")));
            }
        }
        out.stored = flags.iter().map(|&f| f != 0.0).collect();
        Ok((out, epoch))
    }
}

/// The persistent states a run in `dir` resuming after `epoch` starts with (None unless
/// `training.free_start = "persistent"`), with a note for the log when they restart from zero.
pub(super) fn open(
    cfg: &TrainConfig,
    dir: &Path,
    epoch: usize,
    examples: usize,
) -> Result<(Option<FreeStates>, Option<String>)> {
    if cfg.training.free_start != FreeStart::Persistent {
        return Ok((None, None));
    }
    let widths = &cfg.model.widths;
    let path = dir.join(FILE);
    if epoch == 0 {
        return Ok((Some(FreeStates::new(widths, examples)?), None));
    }
    if !path.exists() {
        let note = format!(
            "{} is missing: every free phase starts from zero again",
            path.display()
        );
        return Ok((Some(FreeStates::new(widths, examples)?), Some(note)));
    }
    // A file that does not fit (another network or data set, a damaged file) or belongs to
    // another epoch (a stop between the two writes of an epoch) is noted, not fatal.
    let why = match FreeStates::load(&path, widths, examples) {
        Ok((states, saved)) if saved == epoch => return Ok((Some(states), None)),
        Ok((_, saved)) => format!("holds epoch {saved}, the checkpoint epoch {epoch}"),
        Err(e) => format!("cannot be used ({e})"),
    };
    let note = format!(
        "{} {why}: every free phase starts from zero again",
        path.display()
    );
    Ok((Some(FreeStates::new(widths, examples)?), Some(note)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    fn state(
        widths: &[usize],
        batch: usize,
        f: impl Fn(usize, usize, usize) -> f32,
    ) -> BatchState<f32> {
        let mk = |g: &dyn Fn(usize, usize, usize) -> f32| {
            widths
                .iter()
                .enumerate()
                .map(|(l, &n)| Mat::from_fn(n, batch, |k, b| g(l, k, b)))
                .collect()
        };
        BatchState {
            u: mk(&|l, k, b| f(l, k, b)),
            v: mk(&|l, k, b| -f(l, k, b)),
        }
    }

    #[test]
    fn states_round_trip_per_example_and_through_a_file() {
        let widths = [3, 4, 2];
        let mut fs = FreeStates::new(&widths, 5).unwrap();
        let src = state(&widths, 2, |l, k, b| (100 * l + 10 * k + b) as f32 + 0.5);
        fs.keep(3, &src, 1);
        assert_eq!(fs.stored(), 1);
        let mut dst = state(&widths, 2, |_, _, _| 7.0);
        fs.restore(3, &mut dst, 0);
        fs.restore(4, &mut dst, 1);
        for l in 1..3 {
            for k in 0..widths[l] {
                assert_eq!(dst.u[l][(k, 0)], src.u[l][(k, 1)]);
                assert_eq!(dst.v[l][(k, 0)], src.v[l][(k, 1)]);
                // Never seen: zero, not what the buffer held.
                assert_eq!((dst.u[l][(k, 1)], dst.v[l][(k, 1)]), (0.0, 0.0));
            }
        }
        // The clamped input is left alone.
        assert_eq!(dst.u[0][(0, 0)], 7.0);
        let dir = super::super::tests::scratch("warm-file");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(FILE);
        fs.save(&p, 4).unwrap();
        let (back, epoch) = FreeStates::load(&p, &widths, 5).unwrap();
        assert_eq!((back, epoch), (fs, 4));
        let e = FreeStates::load(&p, &[3, 5, 2], 5).unwrap_err().to_string();
        assert!(e.contains("another network"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_impossible_allocation_is_an_error() {
        let e = FreeStates::new(&[784, 1 << 20, 10], 1 << 20).unwrap_err();
        assert!(e.to_string().contains("too many"), "{e}");
    }
}
