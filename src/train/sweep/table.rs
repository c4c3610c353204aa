//! A sweep's results: per variant, the seeds finished and the test error at the best
//! validation epoch (mean ± standard deviation over seeds), as `sweep.json`, `sweep.md`,
//! `sweep.png` (the validation error per epoch of every run) and, when the variants differ in
//! depth, `depth.png` (the test error against the number of hidden layers, one line per model).

use super::{RunStatus, Sweep};
use crate::error::Result;
use crate::layered::Kind;
use crate::plot::{line_plot, Series};
use crate::train::read_metrics;
use serde::Serialize;
use std::path::PathBuf;

/// One variant (all its seeds).
#[derive(Clone, Debug, Serialize)]
pub struct VariantRow {
    /// What the variant changes.
    pub label: String,
    /// Its energy (FHN or Hopfield).
    pub model: Kind,
    /// Its number of hidden layers.
    pub hidden_layers: usize,
    /// Seeds planned.
    pub seeds: usize,
    /// Seeds finished.
    pub finished: usize,
    /// Seeds failed.
    pub failed: usize,
    /// Test error at the best validation epoch, per finished seed.
    pub test_errors: Vec<f64>,
    /// Their mean (None before any seed finished).
    pub test_error_mean: Option<f64>,
    /// Their sample standard deviation (None below two seeds).
    pub test_error_sd: Option<f64>,
    /// Mean training wall time of the finished seeds (s).
    pub train_seconds_mean: Option<f64>,
}

/// Every run's status and the per-variant rows.
#[derive(Clone, Debug, Serialize)]
pub struct SweepTable {
    /// The sweep's name.
    pub name: String,
    /// Per variant, in plan order.
    pub variants: Vec<VariantRow>,
    /// Per run, in plan order: index, variant, seed, folder, status.
    pub runs: Vec<(usize, String, u64, PathBuf, RunStatus)>,
}

/// The model's name as configs write it (`fhn`, `hopfield`).
fn model_name(kind: Kind) -> String {
    format!("{kind:?}").to_lowercase()
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn sd(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (v.len() >= 2)
        .then(|| (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

impl Sweep {
    /// The table of the runs as they stand.
    pub fn table(&self) -> SweepTable {
        let runs: Vec<_> = (0..self.runs.len())
            .map(|i| {
                let r = &self.runs[i];
                (i, r.label.clone(), r.seed, r.dir.clone(), self.status(i))
            })
            .collect();
        let mut variants: Vec<VariantRow> = Vec::new();
        for (i, label, _, _, status) in &runs {
            if variants.last().is_none_or(|v| &v.label != label) {
                let model = &self.runs[*i].config.model;
                variants.push(VariantRow {
                    label: label.clone(),
                    model: model.kind,
                    hidden_layers: model.widths.len().saturating_sub(2),
                    seeds: 0,
                    finished: 0,
                    failed: 0,
                    test_errors: Vec::new(),
                    test_error_mean: None,
                    test_error_sd: None,
                    train_seconds_mean: None,
                });
            }
            let v = variants.last_mut().expect("pushed above");
            v.seeds += 1;
            match status {
                RunStatus::Finished { summary } => {
                    v.finished += 1;
                    v.test_errors.push(summary.test_error_at_best);
                    let t = v.train_seconds_mean.unwrap_or(0.0) * (v.finished - 1) as f64;
                    v.train_seconds_mean = Some((t + summary.train_seconds) / v.finished as f64);
                }
                RunStatus::Failed { .. } => v.failed += 1,
                _ => {}
            }
        }
        for v in variants.iter_mut() {
            v.test_error_mean = mean(&v.test_errors);
            v.test_error_sd = sd(&v.test_errors);
        }
        SweepTable {
            name: self.name.clone(),
            variants,
            runs,
        }
    }

    /// Writes `sweep.json`, `sweep.md` and (once any run has an epoch) `sweep.png` into the
    /// sweep's folder; returns the table.
    pub fn write_table(&self) -> Result<SweepTable> {
        let t = self.table();
        std::fs::create_dir_all(&self.out).map_err(|e| crate::Error::io(&self.out, e))?;
        let json = serde_json::to_vec_pretty(&t).expect("the table serialises");
        crate::io::write_atomic(&self.out.join("sweep.json"), &json)?;
        crate::io::write_atomic(&self.out.join("sweep.md"), t.markdown().as_bytes())?;
        let series: Vec<Series> = (self.runs.iter())
            .filter_map(|r| {
                let m = read_metrics(&r.dir).ok().filter(|m| !m.is_empty())?;
                Some(Series {
                    label: format!("{} s{}", r.label, r.seed),
                    points: m
                        .iter()
                        .map(|e| (e.epoch as f64, 100.0 * e.val_error))
                        .collect(),
                })
            })
            .collect();
        if !series.is_empty() {
            let title = format!("sweep {}: validation error", self.name);
            line_plot(
                &self.out.join("sweep.png"),
                &title,
                "epoch",
                "validation error (%)",
                &series,
                true,
            )?;
        }
        if let Some(series) = t.depth_series() {
            let title = format!(
                "sweep {}: test error at the best validation epoch",
                self.name
            );
            line_plot(
                &self.out.join("depth.png"),
                &title,
                "hidden layers",
                "test error (%), mean over seeds",
                &series,
                false,
            )?;
        }
        Ok(t)
    }
}

impl SweepTable {
    /// The mean test error (%) against the number of hidden layers, one series per model, when
    /// at least two depths have finished runs and no model has two variants at one depth (the
    /// line would then have to pick one); otherwise None.
    pub fn depth_series(&self) -> Option<Vec<Series>> {
        let done: Vec<&VariantRow> = (self.variants.iter())
            .filter(|v| v.test_error_mean.is_some())
            .collect();
        let mut depths: Vec<usize> = done.iter().map(|v| v.hidden_layers).collect();
        depths.sort_unstable();
        depths.dedup();
        if depths.len() < 2 {
            return None;
        }
        let mut series: Vec<(Kind, Vec<(f64, f64)>)> = Vec::new();
        for v in done {
            let point = (v.hidden_layers as f64, 100.0 * v.test_error_mean?);
            match series.iter_mut().find(|(k, _)| *k == v.model) {
                Some((_, pts)) if pts.iter().any(|p| p.0 == point.0) => return None,
                Some((_, pts)) => pts.push(point),
                None => series.push((v.model, vec![point])),
            }
        }
        Some(
            (series.into_iter())
                .map(|(kind, mut points)| {
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let label = model_name(kind);
                    Series { label, points }
                })
                .collect(),
        )
    }

    /// The per-variant table in Markdown (test error at the best validation epoch).
    pub fn markdown(&self) -> String {
        let pct = |x: Option<f64>| x.map_or("–".into(), |x| format!("{:.2}", 100.0 * x));
        let mut s = format!(
            "| {} | model | hidden layers | seeds done | test error % (mean ± sd) | per seed | train s (mean) |\n|---|---|---|---|---|---|---|\n",
            self.name
        );
        for v in &self.variants {
            let failed = if v.failed > 0 {
                format!(", {} failed", v.failed)
            } else {
                String::new()
            };
            let per_seed: Vec<String> = v.test_errors.iter().map(|&e| pct(Some(e))).collect();
            s += &format!(
                "| {} | {} | {} | {}/{}{failed} | {}{} | {} | {} |\n",
                v.label,
                model_name(v.model),
                v.hidden_layers,
                v.finished,
                v.seeds,
                pct(v.test_error_mean),
                v.test_error_sd
                    .map_or(String::new(), |d| format!(" ± {:.2}", 100.0 * d)),
                per_seed.join(", "),
                v.train_seconds_mean
                    .map_or("–".into(), |t| format!("{t:.1}")),
            );
        }
        s
    }
}
