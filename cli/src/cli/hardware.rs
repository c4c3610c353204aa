//! `fhn hardware`: the test error of a trained checkpoint with k-bit conductances, device
//! mismatch and passive devices only (docs/CIRCUIT.md §4).

use crate::cli::train::setup_threads;
use crate::cli::write_json;
use clap::Args;
use fhn_eqprop::circuit::hardware::{study, HardwareRow, Plan};
use fhn_eqprop::plot::{line_plot, Series};
use fhn_eqprop::train::{checkpoint, load_data};
use fhn_eqprop::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `fhn hardware`.
#[derive(Args)]
pub struct HardwareArgs {
    /// A checkpoint written by `fhn train` (.safetensors).
    checkpoint: PathBuf,
    /// Folder for hardware.json, hardware-bits.png and hardware-mismatch.png.
    #[arg(long, default_value = "runs/hardware")]
    out: PathBuf,
    /// Bits per conductance (sign included), 2 to 16.
    #[arg(long, value_delimiter = ',', default_value = "2,3,4,5,6,7,8")]
    bits: Vec<u32>,
    /// Relative device mismatch σ (0 to 0.3: beyond, 1 + σz turns some conductances' signs).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        default_value = "0.01,0.05,0.1"
    )]
    sigmas: Vec<f64>,
    /// Mismatch draws per σ (1 to 100).
    #[arg(long, default_value_t = 5)]
    draws: u64,
    /// Evaluate on the first N test images (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// `fhn hardware`.
pub fn hardware(a: HardwareArgs) -> Result<()> {
    if let Some(b) = a.bits.iter().find(|b| !(2..=16).contains(*b)) {
        return Err(Error::Invalid(format!("--bits {b}: from 2 to 16")));
    }
    if let Some(s) = a.sigmas.iter().find(|s| !(0.0..=0.3).contains(*s)) {
        return Err(Error::Invalid(format!("--sigmas {s}: from 0 to 0.3")));
    }
    if !(1..=100).contains(&a.draws) {
        return Err(Error::Invalid(format!(
            "--draws {}: from 1 to 100",
            a.draws
        )));
    }
    setup_threads(a.threads);
    let c = checkpoint::load(&a.checkpoint)?;
    let data = load_data(&c.config)?;
    let split = if a.limit > 0 && a.limit < data.test.len() {
        data.test.slice(0..a.limit)
    } else {
        data.test.clone()
    };
    let plan = Plan {
        bits: a.bits.clone(),
        sigmas: a.sigmas.clone(),
        draws: a.draws,
    };
    let rows = study(&c.net, &c.config, &split, a.threads, &plan, |r| {
        outln!(
            "{:<9} {:>5} {:>6} {:>5}  test error {:6.2}%  residual {:.1e}  negative conductances {}",
            r.variant,
            r.bits.map(|b| format!("{b} bit")).unwrap_or_default(),
            r.sigma.map(|s| format!("σ {s}")).unwrap_or_default(),
            r.draw.map(|d| format!("#{d}")).unwrap_or_default(),
            100.0 * r.error,
            r.residual,
            r.negative_conductances
        );
    })?;
    let weights: usize = c.net.weights.iter().map(|w| w.nrows() * w.ncols()).sum();
    write_json(
        &a.out.join("hardware.json"),
        &json!({"checkpoint": a.checkpoint, "epoch": c.epoch, "widths": c.net.model.widths,
                "test_images": split.len(), "conductances": weights, "rows": rows}),
    )?;
    plots(&a, &rows)?;
    outln!("results in {}", a.out.display());
    Ok(())
}

fn plots(a: &HardwareArgs, rows: &[HardwareRow]) -> Result<()> {
    let exact = rows
        .iter()
        .find(|r| r.variant == "exact")
        .map(|r| 100.0 * r.error);
    let flat = |xs: Vec<f64>| Series {
        label: "full precision".into(),
        points: xs.iter().map(|&x| (x, exact.unwrap_or(f64::NAN))).collect(),
    };
    let bits: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| Some((r.bits? as f64, 100.0 * r.error)))
        .collect();
    let xs = bits.iter().map(|p| p.0).collect();
    line_plot(
        &a.out.join("hardware-bits.png"),
        "test error with k-bit conductances",
        "bits per conductance (sign included)",
        "test error (%)",
        &[
            Series {
                label: "quantised".into(),
                points: bits,
            },
            flat(xs),
        ],
        false,
    )?;
    let mean: Vec<(f64, f64)> = a
        .sigmas
        .iter()
        .map(|&s| {
            let e: Vec<f64> = rows
                .iter()
                .filter(|r| r.sigma == Some(s))
                .map(|r| 100.0 * r.error)
                .collect();
            (100.0 * s, e.iter().sum::<f64>() / e.len().max(1) as f64)
        })
        .collect();
    let xs = mean.iter().map(|p| p.0).collect();
    line_plot(
        &a.out.join("hardware-mismatch.png"),
        "test error under device mismatch (mean of draws)",
        "mismatch σ (% of each conductance)",
        "test error (%)",
        &[
            Series {
                label: "mismatched".into(),
                points: mean,
            },
            flat(xs),
        ],
        false,
    )
}
