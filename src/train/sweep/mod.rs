//! Sweeps (`fhn sweep SWEEP.toml`, docs/SCALING.md): a base configuration, the keys to vary
//! (a grid, a list, or both) and the seeds; each run a folder of its own. This module plans the
//! runs, says where each stands, and gathers the finished ones into a table and a figure; the
//! command runs them, over MPI ranks or as a Slurm job array, and any number of processes may
//! work on one sweep at once: each run is claimed by its folder's lock.
//!
//! ```toml
//! name = "depth"                # default: the file's stem
//! base = "quick"                # a preset, or a configuration file (relative to this one)
//! out = "runs/sweeps/depth"     # default: runs/sweeps/<name>
//! seeds = [1, 2, 3]             # default: the base's seed
//! [grid]                        # every combination of these values
//! "model.widths" = [[784, 500, 10], [784, 500, 500, 10]]
//! "training.epochs" = [10]
//! [[runs]]                      # and/or a list of variants, each with a label (and
//! label = "slow"                # optionally its own `base`)
//! "training.lrs" = [0.05, 0.01]
//! ```

use super::config::{TrainConfig, PRESETS};
use super::run_dir::{read_metrics, RunSummary};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: Option<String>,
    base: String,
    out: Option<PathBuf>,
    #[serde(default)]
    seeds: Vec<u64>,
    #[serde(default)]
    grid: Table,
    #[serde(default)]
    runs: Vec<Table>,
}

/// A planned sweep: its runs in a fixed order (the index a Slurm array task picks).
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Name (the table's title).
    pub name: String,
    /// Folder holding one folder per run and the table.
    pub out: PathBuf,
    /// The runs: every variant with every seed.
    pub runs: Vec<SweepRun>,
}

/// One run of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRun {
    /// The variant: what it changes, e.g. `widths=784-500-10,epochs=10`.
    pub label: String,
    /// The changed keys and their values.
    pub changes: Vec<(String, String)>,
    /// Seed.
    pub seed: u64,
    /// Run folder.
    pub dir: PathBuf,
    /// The effective configuration.
    #[serde(skip)]
    pub config: TrainConfig,
}

/// Where a run stands, from its folder.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    /// Not started.
    New,
    /// Started: a checkpoint after `epochs` epochs (running, or to be resumed).
    Partial {
        /// Epochs done.
        epochs: usize,
    },
    /// All epochs done.
    Finished {
        /// Its results.json.
        summary: RunSummary,
    },
    /// Stopped by an error (the message is in `failed.txt`; delete it to try again).
    Failed {
        /// The error.
        error: String,
    },
}

/// Configuration keys (dotted) and their new values.
type Changes = Vec<(String, Value)>;

/// A sweep's base configuration (a preset name, or a file relative to the sweep file), also as
/// a TOML table to change keys in.
fn load_base(base: &str, path: &Path) -> Result<(TrainConfig, Table)> {
    let cfg = if PRESETS.contains(&base) {
        TrainConfig::preset(base)?
    } else {
        TrainConfig::load(&path.parent().unwrap_or(Path::new(".")).join(base))
            .map_err(|e| bad(path, format!("base: {e}")))?
    };
    let table = toml::from_str(&cfg.to_toml())
        .map_err(|e| bad(path, format!("base configuration: {e}")))?;
    Ok((cfg, table))
}

fn bad(path: &Path, msg: String) -> Error {
    Error::Parse {
        path: path.into(),
        line: None,
        msg,
    }
}

/// A value as a label fragment: arrays joined by '-'.
fn compact(v: &Value) -> String {
    match v {
        Value::Array(a) => a.iter().map(compact).collect::<Vec<_>>().join("-"),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Sets `key` (dotted: `training.lrs`) of a configuration table.
fn set(table: &mut Table, key: &str, value: Value) -> std::result::Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().filter(|l| !l.is_empty()).ok_or("empty key")?;
    let mut t = table;
    for p in parts {
        t = t
            .get_mut(p)
            .and_then(Value::as_table_mut)
            .ok_or_else(|| format!("'{key}': the configuration has no table '{p}'"))?;
    }
    t.insert(leaf.into(), value);
    Ok(())
}

impl Sweep {
    /// Reads and plans a sweep file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Plans the sweep in `text` (read from `path`: names the errors, anchors a relative
    /// `base`). Every run's configuration is built and validated here, before any training.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let f: SweepFile = toml::from_str(text).map_err(|e| bad(path, e.message().into()))?;
        let name = f.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map_or("sweep".into(), |s| s.to_string_lossy().into())
        });
        let (base, base_table) = load_base(&f.base, path)?;
        // The grid's combinations, in the file's (sorted) key order.
        let mut combos: Vec<Changes> = vec![Vec::new()];
        for (key, values) in &f.grid {
            let values = values
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad(path, format!("grid.\"{key}\" must be a non-empty array")))?;
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((key.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        // Each listed variant: its label, its own base (if it names one) and its changes.
        let listed: Vec<(Option<String>, Option<Table>, Changes)> = if f.runs.is_empty() {
            vec![(None, None, Vec::new())]
        } else {
            let mut out = Vec::new();
            for (i, r) in f.runs.iter().enumerate() {
                let label = match r.get("label") {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(_) => return Err(bad(path, format!("runs[{i}].label must be a string"))),
                    None => format!("run{i}"),
                };
                let own_base = match r.get("base") {
                    Some(Value::String(b)) => Some(load_base(b, path)?.1),
                    Some(_) => return Err(bad(path, format!("runs[{i}].base must be a string"))),
                    None => None,
                };
                let changes = r.iter().filter(|(k, _)| *k != "label" && *k != "base");
                out.push((
                    Some(label),
                    own_base,
                    changes.map(|(k, v)| (k.clone(), v.clone())).collect(),
                ));
            }
            out
        };
        let seeds = if f.seeds.is_empty() {
            vec![base.seed]
        } else {
            f.seeds.clone()
        };
        let out = f
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/sweeps").join(&name));
        let mut runs: Vec<SweepRun> = Vec::new();
        for (list_label, own_base, list_changes) in &listed {
            for combo in &combos {
                let changes: Changes = list_changes.iter().chain(combo).cloned().collect();
                let grid_label = (combo.iter())
                    .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), compact(v)))
                    .collect::<Vec<_>>()
                    .join(",");
                let label = match (list_label, grid_label.is_empty()) {
                    (Some(l), true) => l.clone(),
                    (Some(l), false) => format!("{l},{grid_label}"),
                    (None, false) => grid_label,
                    (None, true) => base.name.clone(),
                };
                let mut table = own_base.as_ref().unwrap_or(&base_table).clone();
                for (k, v) in &changes {
                    set(&mut table, k, v.clone())
                        .map_err(|m| bad(path, format!("variant '{label}': {m}")))?;
                }
                for &seed in &seeds {
                    table.insert("seed".into(), Value::Integer(seed as i64));
                    table.insert("name".into(), Value::String(label.clone()));
                    let text = toml::to_string(&table).map_err(|e| bad(path, e.to_string()))?;
                    let variant = |e: Error| {
                        let msg = match e {
                            Error::Parse { msg, .. } => msg,
                            e => e.message(),
                        };
                        bad(path, format!("variant '{label}': {msg}"))
                    };
                    let config = TrainConfig::from_toml(&text, path).map_err(variant)?;
                    config.validate().map_err(variant)?;
                    let folder: String = label
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "._=,-".contains(c) {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let dir = out.join(format!("{folder}-s{seed}"));
                    if runs.iter().any(|r| r.dir == dir) {
                        return Err(bad(path, format!("two runs would share {}", dir.display())));
                    }
                    let changes = changes
                        .iter()
                        .map(|(k, v)| (k.clone(), compact(v)))
                        .collect();
                    runs.push(SweepRun {
                        label: label.clone(),
                        changes,
                        seed,
                        dir,
                        config,
                    });
                }
            }
        }
        Ok(Self { name, out, runs })
    }

    /// Where run `i` stands.
    pub fn status(&self, i: usize) -> RunStatus {
        let r = &self.runs[i];
        if let Ok(error) = std::fs::read_to_string(r.dir.join("failed.txt")) {
            return RunStatus::Failed {
                error: error.trim().into(),
            };
        }
        let summary = std::fs::read(r.dir.join("results.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<RunSummary>(&b).ok());
        match summary {
            Some(s) if s.epochs >= r.config.training.epochs => RunStatus::Finished { summary: s },
            _ => match read_metrics(&r.dir) {
                Ok(m) if !m.is_empty() => RunStatus::Partial { epochs: m.len() },
                _ => RunStatus::New,
            },
        }
    }

    /// Records that run `i` failed with `error` (skipped until `failed.txt` is deleted).
    pub fn mark_failed(&self, i: usize, error: &str) -> Result<()> {
        let p = self.runs[i].dir.join("failed.txt");
        crate::io::write_atomic(&p, format!("{error}\n").as_bytes())
    }
}

mod table;
#[cfg(test)]
mod tests;
pub use table::{SweepTable, VariantRow};
