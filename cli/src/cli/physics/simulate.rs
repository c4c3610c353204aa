//! `fhn simulate`: time simulation of a network file, or the Turing-pattern demo.

use super::{finite, in_range, non_negative, positive};
use crate::cli::{print_json, write_json};
use clap::{Args, ValueEnum};
use fhn_eqprop::model::FhnParams;
use fhn_eqprop::netfile;
use fhn_eqprop::network::first_non_finite;
use fhn_eqprop::solvers::{dopri45, euler, AdaptiveOptions, SolveReport};
use fhn_eqprop::{plot, turing, Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Most Euler steps one `simulate` run may ask for (`--t-end / --dt`).
const MAX_EULER_STEPS: f64 = 1e9;
/// Most nodes of the Turing demo (it keeps 300 snapshots of every node).
const TURING_MAX_NODES: usize = 100_000;
/// Snapshot budget of the space-time figure: at most 300 rows and 3·10⁷ values in all.
const MAX_SNAPSHOT_VALUES: usize = 30_000_000;

/// Time integrators.
#[derive(Clone, Copy, ValueEnum)]
pub enum Method {
    /// Explicit Euler with step `--dt`.
    Euler,
    /// Adaptive Dormand–Prince 5(4).
    Dopri,
}

/// Arguments of `fhn simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// A network file, or `turing` for the Turing-pattern demo on a path graph.
    target: String,
    /// Integrator.
    #[arg(long, value_enum, default_value_t = Method::Dopri)]
    method: Method,
    /// Euler step (> 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    dt: f64,
    /// Simulated time (> 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 400.0)]
    t_end: f64,
    /// Turing demo: path-graph nodes (3 to 100 000).
    #[arg(long, default_value_t = 200)]
    nodes: usize,
    /// Turing demo: δ (d_u = δ²); Table I's 0.75 is not Turing-unstable, 0.5 is.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.5)]
    delta: f64,
    /// Turing demo: initial noise amplitude (≥ 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-8)]
    noise: f64,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output directory for figures and arrays.
    #[arg(long, default_value = "runs/simulate")]
    out: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `fhn simulate`.
pub fn simulate(a: SimulateArgs) -> Result<()> {
    positive("--t-end", a.t_end)?;
    positive("--dt", a.dt)?;
    if a.target == "turing" {
        return simulate_turing(&a);
    }
    let net = netfile::load(&PathBuf::from(&a.target))?.network;
    let n = net.n();
    let max_rows = (MAX_SNAPSHOT_VALUES / n).clamp(2, 300);
    let mut s = net.initial_state();
    let mut rows = vec![s.u.clone()];
    let rep = match a.method {
        Method::Euler => {
            let exact = a.t_end / a.dt;
            if exact.round() > MAX_EULER_STEPS {
                return Err(Error::Invalid(format!(
                    "--t-end / --dt = {exact:.3e} Euler steps; at most {MAX_EULER_STEPS:.0e}"
                )));
            }
            let steps = exact.round() as usize;
            if steps == 0 {
                return Err(Error::Invalid(format!(
                    "--t-end {} is shorter than half an Euler step --dt {}: no step to take",
                    a.t_end, a.dt
                )));
            }
            let every = steps.div_ceil(max_rows - 1).max(1);
            let mut done = 0;
            while done < steps {
                let chunk = every.min(steps - done);
                euler(&net, &mut s, None, a.dt, chunk).map_err(|e| at_time(e, done, a.dt))?;
                done += chunk;
                rows.push(s.u.clone());
            }
            SolveReport {
                steps: done,
                residual: net.residual(&s, None),
                time: done as f64 * a.dt,
            }
        }
        Method::Dopri => {
            let every = a.t_end / (max_rows - 1) as f64;
            let mut next = every;
            let rep = dopri45(
                &net,
                &mut s,
                None,
                a.t_end,
                AdaptiveOptions::default(),
                |t, st| {
                    if t >= next || t >= a.t_end {
                        rows.push(st.u.clone());
                        next = (t / every).floor() * every + every;
                    }
                },
            )
            .map_err(|e| match e {
                Error::NotConverged { iterations, .. } => Error::Invalid(format!(
                    "the adaptive integrator took {iterations} steps without reaching \
                     --t-end {}; use a shorter --t-end or --method euler",
                    a.t_end
                )),
                e => e,
            })?;
            if rows.len() == 1 {
                rows.push(s.u.clone());
            }
            rep
        }
    };
    if let Some(at) = first_non_finite(&s) {
        return Err(Error::Diverged(format!("simulate {}: {at}", a.target)));
    }
    let png = a.out.join("space_time.png");
    plot::space_time(&png, "activator u (time downwards)", &rows)?;
    let residual = net.residual(&s, None);
    let method = match a.method {
        Method::Euler => format!("Euler steps of {}", a.dt),
        Method::Dopri => "adaptive steps, accepted and rejected".into(),
    };
    if a.json {
        return print_json(
            &json!({"steps": rep.steps, "method": method, "t_end": rep.time,
            "residual": residual, "u": s.u, "v": s.v, "figure": png}),
        );
    }
    outln!(
        "simulated {} to t = {} ({} {method})",
        a.target,
        rep.time,
        rep.steps
    );
    outln!(
        "  final residual ‖∂Φ‖∞ = {residual:.3e}; space-time figure: {}",
        png.display()
    );
    Ok(())
}

/// Adds the simulated time to a divergence found in the Euler chunk starting at step `done`.
fn at_time(e: Error, done: usize, dt: f64) -> Error {
    match e {
        Error::Diverged(m) => Error::Diverged(format!(
            "{m} of the chunk starting at t = {}",
            done as f64 * dt
        )),
        e => e,
    }
}

fn simulate_turing(a: &SimulateArgs) -> Result<()> {
    in_range("--nodes", a.nodes, 3, TURING_MAX_NODES)?;
    finite("--delta", a.delta)?;
    non_negative("--noise", a.noise)?;
    let p = FhnParams::parra_rivas(a.delta, 0.85, 1.08, 0.0);
    let run = turing::simulate_path(p, a.nodes, a.t_end, a.noise, a.seed)?;
    let st = a.out.join("turing_space_time.png");
    let prof = a.out.join("turing_profile.png");
    plot::space_time(
        &st,
        &format!(
            "FHN Turing pattern, path graph n = {}, δ = {}",
            a.nodes, a.delta
        ),
        &run.snapshots,
    )?;
    let pts = run
        .final_u
        .iter()
        .enumerate()
        .map(|(i, &u)| (i as f64, u))
        .collect();
    plot::line_plot(
        &prof,
        "final activator profile",
        "node",
        "u",
        &[plot::Series {
            label: "u".into(),
            points: pts,
        }],
        false,
    )?;
    let json_path = a.out.join("turing.json");
    write_json(&json_path, &run)?;
    if a.json {
        return print_json(&run);
    }
    let d = &run.dispersion;
    outln!(
        "Turing demo: path graph of {} nodes, δ = {}, ε = 0.85, α = 1.08, β = 0",
        a.nodes,
        a.delta
    );
    outln!(
        "  homogeneous state u0 = {:.5}, v0 = {:.5}; uniform-mode rate {:.4}",
        d.u0,
        d.v0,
        d.rate_uniform
    );
    outln!(
        "  unstable modes: {}; fastest j = {} (q = {:.4}) predicted rate {:.5}",
        d.unstable_modes,
        d.fastest_mode,
        d.fastest_q,
        d.fastest_rate
    );
    outln!(
        "  measured early growth rate {:.5} (relative error {:.2e}, window t ∈ [{:.1}, {:.1}])",
        run.measured_rate,
        run.rate_relative_error,
        run.fit_window.0,
        run.fit_window.1
    );
    outln!(
        "  final residual ‖∂Φ‖∞ = {:.3e} at t = {}; {} sign changes of u − u0",
        run.final_residual,
        run.t_end,
        run.sign_changes
    );
    outln!(
        "  figures: {}, {}; data: {}",
        st.display(),
        prof.display(),
        json_path.display()
    );
    Ok(())
}
