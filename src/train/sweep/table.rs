//! A sweep's results: per variant, the seeds finished and the test error at the best
//! validation epoch (mean ± standard deviation over seeds), as `sweep.json`, `sweep.md` and
//! `sweep.png` (the validation error per epoch of every run).

use super::{RunStatus, Sweep};
use crate::error::Result;
use crate::plot::{line_plot, Series};
use crate::train::read_metrics;
use serde::Serialize;
use std::path::PathBuf;

/// One variant (all its seeds).
#[derive(Clone, Debug, Serialize)]
pub struct VariantRow {
    /// What the variant changes.
    pub label: String,
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
        for (_, label, _, _, status) in &runs {
            if variants.last().is_none_or(|v| &v.label != label) {
                variants.push(VariantRow {
                    label: label.clone(),
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
        Ok(t)
    }
}

impl SweepTable {
    /// The per-variant table in Markdown (test error at the best validation epoch).
    pub fn markdown(&self) -> String {
        let pct = |x: Option<f64>| x.map_or("–".into(), |x| format!("{:.2}", 100.0 * x));
        let mut s = format!(
            "| {} | seeds done | test error % (mean ± sd) | per seed | train s (mean) |\n|---|---|---|---|---|\n",
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
                "| {} | {}/{}{failed} | {}{} | {} | {} |\n",
                v.label,
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
