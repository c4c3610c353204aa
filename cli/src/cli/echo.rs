//! `fhn hamiltonian echo`: the echo's verification study (docs/HAMILTONIAN.md §8.3).

use super::physics::positive;
use super::{print_json, write_json};
use clap::Args;
use fhn_eqprop::hamiltonian::echo_study::{echo_study, EchoReport, StudyConfig};
use fhn_eqprop::plot::{line_plot, Series};
use fhn_eqprop::{Error, Result};
use std::path::PathBuf;

/// Arguments of `fhn hamiltonian echo`.
#[derive(Args)]
pub struct EchoArgs {
    /// Width m.
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Largest depth of the sweep (1 to 200).
    #[arg(long, default_value_t = 40)]
    max_depth: usize,
    /// Depth of the η sweep.
    #[arg(long, default_value_t = 8)]
    eta_depth: usize,
    /// Couplings uniform in ±c/√m.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    coupling: f64,
    /// Initial activators uniform in ±gain.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    input_gain: f64,
    /// δ (d_u = δ²).
    #[arg(long, allow_hyphen_values = true, default_value_t = 2.0)]
    delta: f64,
    /// ε.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.01)]
    eps: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (echo_w<m>_c<c>.json, _eta.png, _depth.png).
    #[arg(long, default_value = "runs/hamiltonian")]
    out: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `fhn hamiltonian echo`.
pub fn echo(a: EchoArgs) -> Result<()> {
    positive("--delta", a.delta)?;
    positive("--eps", a.eps)?;
    positive("--input-gain", a.input_gain)?;
    super::physics::finite("--coupling", a.coupling)?;
    if !(1..=256).contains(&a.width)
        || !(1..=200).contains(&a.max_depth)
        || !(1..=200).contains(&a.eta_depth)
    {
        return Err(Error::Invalid(
            "need 1 ≤ width ≤ 256 and depths in 1..=200".into(),
        ));
    }
    let cfg = StudyConfig {
        width: a.width,
        max_depth: a.max_depth,
        eta_depth: a.eta_depth,
        fhn: [a.delta, a.eps, 1.08, 0.0],
        coupling: a.coupling,
        input_gain: a.input_gain,
        batch: 4,
        eta: [1e-4, 1e-2],
        seed: a.seed,
    };
    let rep = echo_study(&cfg)?;
    let stem = a.out.join(format!("echo_w{}_c{}", a.width, a.coupling));
    let file = |s: &str| PathBuf::from(format!("{}{s}", stem.display()));
    write_json(&file(".json"), &rep)?;
    figures(&rep, &file("_eta.png"), &file("_depth.png"))?;
    if a.json {
        return print_json(&rep);
    }
    print_report(&rep);
    outln!("  figures and JSON: {}.*", stem.display());
    Ok(())
}

fn figures(rep: &EchoReport, eta_png: &std::path::Path, depth_png: &std::path::Path) -> Result<()> {
    let eta = |f: fn(&fhn_eqprop::hamiltonian::echo_study::EtaRow) -> f64, label: &str| Series {
        label: label.into(),
        points: rep.eta_rows.iter().map(|r| (r.eta.log10(), f(r))).collect(),
    };
    line_plot(
        eta_png,
        &format!("echo vs adjoint, depth {} (f64)", rep.config.eta_depth),
        "log10 η",
        "relative error",
        &[
            eta(|r| r.one_sided, "one-sided echo"),
            eta(|r| r.centered, "centered echo"),
        ],
        true,
    )?;
    let by_depth = |f: fn(&fhn_eqprop::hamiltonian::echo_study::DepthRow) -> Option<f64>,
                    label: &str| Series {
        label: label.into(),
        // Errors past 10 only say "not faithful" and would swamp the log axis.
        points: rep
            .depth_rows
            .iter()
            .filter_map(|r| f(r).filter(|&e| e <= 10.0).map(|e| (r.depth as f64, e)))
            .collect(),
    };
    let fwd = Series {
        label: "forward pass |u_f32 − u_f64| at that layer".into(),
        points: rep
            .forward_f32
            .per_layer
            .iter()
            .enumerate()
            .skip(1)
            .filter(|p| *p.1 <= 10.0)
            .map(|(i, &e)| (i as f64, e))
            .collect(),
    };
    line_plot(
        depth_png,
        &format!(
            "echo vs adjoint by depth, width {}, coupling {}",
            rep.config.width, rep.config.coupling
        ),
        "depth N",
        "relative error",
        &[
            by_depth(
                |r| r.f64_error,
                &format!("echo f64 (η = {:e})", rep.config.eta[0]),
            ),
            by_depth(
                |r| r.f32_error,
                &format!("echo f32 (η = {:e})", rep.config.eta[1]),
            ),
            fwd,
        ],
        true,
    )
}

fn print_report(rep: &EchoReport) {
    let c = &rep.config;
    outln!(
        "Hamiltonian echo on the residual FHN network, width {}, couplings ±{}/√m, δ = {}, ε = {}",
        c.width,
        c.coupling,
        c.fhn[0],
        c.fhn[1]
    );
    outln!(
        "  η sweep at depth {} (f64), relative error against the explicit adjoint:",
        c.eta_depth
    );
    outln!("  {:>8} {:>12} {:>12}", "η", "one-sided", "centered");
    for r in &rep.eta_rows {
        outln!(
            "  {:>8.0e} {:>12.3e} {:>12.3e}",
            r.eta,
            r.one_sided,
            r.centered
        );
    }
    outln!(
        "  slopes (η ≥ 1e-3): one-sided {:.3}, centered {:.3}",
        rep.slopes[0],
        rep.slopes[1]
    );
    outln!(
        "  depth sweep, centered echo (f64 η = {:e}, f32 η = {:e}):",
        c.eta[0],
        c.eta[1]
    );
    outln!(
        "  {:>5} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "depth",
        "f64 error",
        "f64 cosine",
        "f32 error",
        "f32 cosine",
        "max|u|"
    );
    let f = |x: Option<f64>| x.map_or("not finite".to_string(), |v| format!("{v:.3e}"));
    for r in &rep.depth_rows {
        outln!(
            "  {:>5} {:>12} {:>12} {:>12} {:>12} {:>8}",
            r.depth,
            f(r.f64_error),
            f(r.f64_cosine),
            f(r.f32_error),
            f(r.f32_cosine),
            f(r.max_u)
        );
    }
    let g = |e: &fhn_eqprop::hamiltonian::ErrorCurve| {
        e.growth_factor.map_or("n/a".into(), |x| format!("{x:.3}"))
    };
    outln!(
        "  growth per layer: echo f64 {}, echo f32 {}, forward pass f32 {}; faithful (≤ 1e-3) to depth f64 {}, f32 {}",
        g(&rep.echo_f64), g(&rep.echo_f32), g(&rep.forward_f32), rep.echo_f64.faithful_depth, rep.echo_f32.faithful_depth
    );
    let s = &rep.steady;
    outln!(
        "  steady state ({}×{}): forward pass from its layers 0, 1 matches it to {:.1e}; EqProp vs implicit {:.1e}; echo·adjoint cosine {:.8}",
        s.shape[0], s.shape[1], s.forward_vs_steady, s.eqprop_vs_implicit, s.echo_vs_adjoint_cosine
    );
    outln!(
        "  per-layer cosine, initial-value gradient vs steady-state gradient: {}",
        s.ivp_vs_steady_cosine
            .iter()
            .map(|c| format!("{c:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}
