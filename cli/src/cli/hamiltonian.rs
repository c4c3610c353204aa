//! `fhn hamiltonian fhn-resnet|ebm|echo|echo-train`.

use super::physics::{finite, in_range, positive};
use super::{print_json, write_json};
use clap::{Args, Subcommand};
use fhn_eqprop::hamiltonian::analysis::{ebm_experiment, resnet_experiment, Cost};
use fhn_eqprop::hamiltonian::ErrorCurve;
use fhn_eqprop::plot::{line_plot, Series};
use fhn_eqprop::{Error, Result};
use std::path::{Path, PathBuf};

/// Which network.
#[derive(Subcommand)]
pub enum Which {
    /// The deep residual FHN network of paper Fig. 1C.
    FhnResnet(ResnetArgs),
    /// The deep Scellier–Bengio EBM with logistic ρ (paper §IV.B).
    Ebm(EbmArgs),
    /// Hamiltonian Echo Backpropagation: the echo against the adjoint by η and depth, and
    /// against the steady-state gradient.
    Echo(super::echo::EchoArgs),
    /// Train the residual FHN network on MNIST with Hamiltonian Echo Backpropagation.
    EchoTrain(super::echo_train::EchoTrainArgs),
}

/// Arguments of `fhn hamiltonian`.
#[derive(Args)]
pub struct HamiltonianArgs {
    #[command(subcommand)]
    which: Which,
}

/// Residual-network arguments.
#[derive(Args)]
pub struct ResnetArgs {
    /// Width m (parallel paths; 1 to 1024, width² × depth ≤ 10⁸).
    #[arg(long, default_value_t = 64)]
    width: usize,
    /// Depth n (layers, 1 to 10 000).
    #[arg(long, default_value_t = 30)]
    depth: usize,
    /// δ (d_u = δ²); 0.5 is Turing-unstable at ε, α, β = 0.85, 1.08, 0.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.5)]
    delta: f64,
    /// Transverse coupling strength (0: uncoupled paths).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    coupling: f64,
    /// Seed of the initial noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder for figures and the JSON report.
    #[arg(long, default_value = "runs/hamiltonian")]
    out: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// EBM arguments.
#[derive(Args)]
pub struct EbmArgs {
    /// Width m (1 to 1024, width² × depth ≤ 10⁸).
    #[arg(long, default_value_t = 64)]
    width: usize,
    /// Weight layers L (1 to 10 000).
    #[arg(long, default_value_t = 30)]
    depth: usize,
    /// Weight gain (W ~ N(0, gain²/m), > 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    gain: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder.
    #[arg(long, default_value = "runs/hamiltonian")]
    out: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Where an experiment's figures and JSON go: `<stem>_<unit>.png`, `<stem>_error.png`,
/// `<stem>.json` in `dir`.
struct Outputs<'a> {
    dir: &'a Path,
    stem: String,
    unit: &'static str,
    title: String,
}

impl Outputs<'_> {
    fn save<R: serde::Serialize>(
        &self,
        report: &R,
        [steady, recursed]: [&[f64]; 2],
        [f64e, f32e]: [&ErrorCurve; 2],
    ) -> Result<()> {
        let file = |suffix: &str| self.dir.join(format!("{}{suffix}", self.stem));
        figure(
            &file(&format!("_{}.png", self.unit)),
            &self.title,
            steady,
            recursed,
        )?;
        error_figure(&file("_error.png"), f64e, f32e)?;
        write_json(&file(".json"), report)
    }
}

fn figure(path: &Path, title: &str, steady: &[f64], rec: &[f64]) -> Result<()> {
    let pts = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &x)| (i as f64, x))
            .filter(|p| p.1.abs() < 10.0)
            .collect()
    };
    let s = [
        Series {
            label: "time-simulated steady state".into(),
            points: pts(steady),
        },
        Series {
            label: "forward recursion (f64)".into(),
            points: pts(rec),
        },
    ];
    line_plot(path, title, "layer", "activity of one neuron", &s, false)
}

fn error_figure(path: &Path, f64e: &ErrorCurve, f32e: &ErrorCurve) -> Result<()> {
    let pts = |c: &ErrorCurve| {
        c.per_layer
            .iter()
            .enumerate()
            .map(|(i, &e)| (i as f64, e.max(1e-17)))
            .filter(|p| p.1.is_finite())
            .collect()
    };
    let s = [
        Series {
            label: "f64".into(),
            points: pts(f64e),
        },
        Series {
            label: "f32".into(),
            points: pts(f32e),
        },
    ];
    line_plot(
        path,
        "forward recursion error along depth",
        "layer",
        "max |error|",
        &s,
        true,
    )
}

fn print_costs(costs: &[Cost]) {
    for c in costs {
        outln!(
            "  {:<48} residual {:.1e} in {:>7} steps, {:.3} s, ~{:.2e} FLOP",
            c.method,
            c.residual,
            c.steps,
            c.seconds,
            c.flops
        );
    }
}

fn print_curve(name: &str, c: &ErrorCurve) {
    outln!(
        "  {name}: faithful depth {} layers (error ≤ 1e-3), fitted growth factor {}",
        c.faithful_depth,
        growth_text(c)
    );
}

/// The growth factor, or why there is none (never "NaN").
fn growth_text(c: &ErrorCurve) -> String {
    match c.growth_factor {
        Some(g) => format!("{g:.2} per layer"),
        None => format!(
            "n/a (only {} faithful layer(s) with 1e-13 < error < 1e-3; a fit needs 3)",
            c.fitted_layers
        ),
    }
}

/// The experiments keep width × width blocks per layer (block sweep, layer maps): bounded so
/// that they fit in memory (10⁸ f64 = 800 MB). Large sizes still take minutes.
fn check_size(width: usize, depth: usize) -> Result<()> {
    in_range("--width", width, 1, 1024)?;
    in_range("--depth", depth, 1, 10_000)?;
    if width * width * depth > 100_000_000 {
        return Err(Error::Invalid(format!(
            "--width {width} with --depth {depth}: width² × depth must be ≤ 10⁸"
        )));
    }
    Ok(())
}

/// `fhn hamiltonian`.
pub fn hamiltonian(a: HamiltonianArgs) -> Result<()> {
    match a.which {
        Which::EchoTrain(e) => super::echo_train::echo_train(e)?,
        Which::Echo(e) => super::echo::echo(e)?,
        Which::FhnResnet(r) => {
            check_size(r.width, r.depth)?;
            finite("--delta", r.delta)?;
            finite("--coupling", r.coupling)?;
            let rep = resnet_experiment(r.width, r.depth, r.delta, r.coupling, r.seed)?;
            let outputs = Outputs {
                dir: &r.out,
                stem: format!("resnet_w{}_d{}", r.width, r.depth),
                unit: "neuron",
                title: format!("FHN residual network {}×{}: neuron 0", r.width, r.depth),
            };
            outputs.save(
                &rep,
                [&rep.neuron0_steady, &rep.neuron0_recursed],
                [&rep.f64_errors, &rep.f32_errors],
            )?;
            if r.json {
                return print_json(&rep);
            }
            outln!(
                "deep residual FHN network, width {}, depth {}, δ = {}, transverse coupling {}",
                r.width,
                r.depth,
                r.delta,
                r.coupling
            );
            outln!("  steady state: residual {:.1e} after time simulation, {:.1e} after block-sweep Newton", rep.residual_time_simulation, rep.residual_polished);
            outln!(
                "  first recursed layer (2) error {:.1e}",
                rep.first_computed_layer_error
            );
            print_curve("f64", &rep.f64_errors);
            print_curve("f32", &rep.f32_errors);
            outln!(
                "  linearised layer map (homogeneous state): largest multiplier {:.3}, log10|det| {:.1e}",
                rep.max_multiplier_homogeneous, rep.layer_map_homogeneous.log10_abs_det
            );
            outln!(
                "  discrete H along depth: max |H_i − H_1| = {:.3e}",
                rep.hamiltonian_drift
            );
            print_costs(&rep.costs);
            outln!("  figures and JSON in {}", r.out.display());
        }
        Which::Ebm(e) => {
            check_size(e.width, e.depth)?;
            positive("--gain", e.gain)?;
            let rep = ebm_experiment(e.width, e.depth, e.gain, e.seed)?;
            let outputs = Outputs {
                dir: &e.out,
                stem: format!("ebm_w{}_d{}", e.width, e.depth),
                unit: "unit",
                title: format!("deep EBM {}×{}: unit 0", e.width, e.depth),
            };
            outputs.save(
                &rep,
                [&rep.unit0_steady, &rep.unit0_recursed],
                [&rep.f64_errors, &rep.f32_errors],
            )?;
            if e.json {
                return print_json(&rep);
            }
            outln!(
                "deep EBM (logistic ρ), width {}, depth {}, gain {}",
                e.width,
                e.depth,
                e.gain
            );
            outln!(
                "  steady state: ‖∂E/∂v‖∞ {:.1e} after descent, {:.1e} after block-sweep Newton",
                rep.residual_time_simulation,
                rep.residual_polished
            );
            print_curve("f64", &rep.f64_errors);
            print_curve("f32", &rep.f32_errors);
            outln!(
                "  largest multiplier of the linearised layer map (middle layer): {:.3}",
                rep.max_multiplier_middle
            );
            outln!(
                "  log10|det| of that map: {:.2}",
                rep.layer_map_middle.log10_abs_det
            );
            print_costs(&rep.costs);
            outln!("  figures and JSON in {}", e.out.display());
        }
    }
    Ok(())
}
