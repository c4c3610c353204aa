//! `fhn steady`, `fhn simulate`, `fhn check`: the physics core on user or random networks.

use super::{print_json, write_json};
use clap::{Args, ValueEnum};
use fhn_eqprop::adjoint::check_adjoint;
use fhn_eqprop::eqprop::check_gradient;
use fhn_eqprop::io::npy_f64;
use fhn_eqprop::io::write_atomic;
use fhn_eqprop::model::FhnParams;
use fhn_eqprop::netfile;
use fhn_eqprop::network::{check_energy, random_network, Cost, FhnNetwork};
use fhn_eqprop::solvers::{dopri45, euler, steady_state, AdaptiveOptions};
use fhn_eqprop::{plot, turing, Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `fhn steady`.
#[derive(Args)]
pub struct SteadyArgs {
    /// Network file (TOML, see docs/NETWORK_FILE.md).
    file: PathBuf,
    /// Newton tolerance on ‖∂Φ‖∞.
    #[arg(long, default_value_t = 1e-12)]
    tol: f64,
    /// Write u.npy and v.npy into this directory.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

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
    /// Euler step.
    #[arg(long, default_value_t = 0.1)]
    dt: f64,
    /// Simulated time.
    #[arg(long, default_value_t = 400.0)]
    t_end: f64,
    /// Turing demo: path-graph nodes.
    #[arg(long, default_value_t = 200)]
    nodes: usize,
    /// Turing demo: δ (d_u = δ²); Table I's 0.75 is not Turing-unstable, 0.5 is.
    #[arg(long, default_value_t = 0.5)]
    delta: f64,
    /// Turing demo: initial noise amplitude.
    #[arg(long, default_value_t = 1e-8)]
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

/// Which check to run.
#[derive(Clone, Copy, ValueEnum)]
pub enum CheckKind {
    /// Φ's gradient by finite differences, f = Q∇F, dynamics = ∓∂Φ.
    Energy,
    /// Self-adjointness of the steady-state activator response (paper eq. 9–10).
    Adjoint,
    /// EqProp vs implicit differentiation vs finite differences.
    Gradient,
    /// EqProp in a small layered FHN network vs the exact gradient, converged and at the
    /// paper's setting (β = 0.9, 55/14 Euler steps).
    Layered,
}

/// Arguments of `fhn check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Which check.
    #[arg(value_enum)]
    kind: CheckKind,
    /// Network file; without it a random connected network is used.
    file: Option<PathBuf>,
    /// Nodes of the random network.
    #[arg(long, default_value_t = 60)]
    random: usize,
    /// Seed of the random network.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Layered check: widths, input first.
    #[arg(long, value_delimiter = ',', default_value = "40,30,20,10")]
    widths: Vec<usize>,
    /// Layered check: weight scale (N(0, scale²)).
    #[arg(long, default_value_t = 0.3)]
    scale: f64,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn load_or_random(file: &Option<PathBuf>, n: usize, seed: u64) -> Result<(FhnNetwork, Cost)> {
    match file {
        Some(f) => {
            let spec = netfile::load(f)?;
            let cost = spec.cost.unwrap_or_else(|| {
                let o = spec.network.free_nodes().last().copied().unwrap_or(0);
                Cost {
                    outputs: vec![o],
                    targets: vec![0.5],
                }
            });
            Ok((spec.network, cost))
        }
        None => {
            if n < 4 {
                return Err(Error::Invalid(format!(
                    "--random needs at least 4 nodes, got {n}"
                )));
            }
            let cost = Cost {
                outputs: vec![n / 4, n / 2, 3 * n / 4],
                targets: vec![0.8, -0.5, 0.2],
            };
            Ok((random_network(n, seed), cost))
        }
    }
}

/// `fhn steady`.
pub fn steady(a: SteadyArgs) -> Result<()> {
    let spec = netfile::load(&a.file)?;
    let net = spec.network;
    let mut s = net.initial_state();
    let t = std::time::Instant::now();
    let rep = steady_state(&net, &mut s, None, a.tol)?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(dir) = &a.save {
        write_atomic(&dir.join("u.npy"), &npy_f64(&[net.n()], &s.u))?;
        write_atomic(&dir.join("v.npy"), &npy_f64(&[net.n()], &s.v))?;
    }
    if a.json {
        return print_json(&json!({"report": rep, "seconds": secs, "u": s.u, "v": s.v}));
    }
    outln!("steady state of {} ({} nodes)", a.file.display(), net.n());
    outln!(
        "  residual ‖∂Φ‖∞ = {:.3e} after {} steps/iterations ({secs:.3} s)",
        rep.residual,
        rep.steps
    );
    for i in 0..net.n().min(20) {
        outln!("  node {i:>4}: u = {:>+.6}  v = {:>+.6}", s.u[i], s.v[i]);
    }
    if net.n() > 20 {
        outln!("  … ({} more; use --json or --save)", net.n() - 20);
    }
    Ok(())
}

/// `fhn simulate`.
pub fn simulate(a: SimulateArgs) -> Result<()> {
    if a.target == "turing" {
        return simulate_turing(&a);
    }
    let net = netfile::load(&PathBuf::from(&a.target))?.network;
    let mut s = net.initial_state();
    let mut rows = vec![s.u.clone()];
    let rep = match a.method {
        Method::Euler => {
            if a.dt.is_nan() || a.dt <= 0.0 {
                return Err(Error::Invalid(format!("--dt must be > 0, got {}", a.dt)));
            }
            let steps = (a.t_end / a.dt).round() as usize;
            let every = (steps / 300).max(1);
            let mut last = Default::default();
            for k in 0..steps.div_ceil(every) {
                last = euler(&net, &mut s, None, a.dt, every.min(steps - k * every))?;
                rows.push(s.u.clone());
            }
            last
        }
        Method::Dopri => dopri45(
            &net,
            &mut s,
            None,
            a.t_end,
            AdaptiveOptions::default(),
            |_, st| rows.push(st.u.clone()),
        )?,
    };
    let png = a.out.join("space_time.png");
    plot::space_time(&png, "activator u (time downwards)", &rows)?;
    let residual = net.residual(&s, None);
    if a.json {
        return print_json(
            &json!({"steps": rep.steps, "t_end": a.t_end, "residual": residual, "u": s.u, "v": s.v, "figure": png}),
        );
    }
    outln!(
        "simulated {} to t = {} ({} steps)",
        a.target,
        a.t_end,
        rep.steps
    );
    outln!(
        "  final residual ‖∂Φ‖∞ = {residual:.3e}; space-time figure: {}",
        png.display()
    );
    Ok(())
}

fn simulate_turing(a: &SimulateArgs) -> Result<()> {
    if a.nodes < 3 {
        return Err(Error::Invalid(format!(
            "--nodes must be ≥ 3, got {}",
            a.nodes
        )));
    }
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

/// `fhn check`.
pub fn check(a: CheckArgs) -> Result<()> {
    if let CheckKind::Layered = a.kind {
        let rows = fhn_eqprop::layered::layered_gradient_check(&a.widths, a.scale, a.seed)?;
        if a.json {
            return print_json(&rows);
        }
        outln!("layered FHN network {:?} (Table I, no leak, weights N(0, {}²)): EqProp vs exact gradient", a.widths, a.scale);
        for r in rows {
            outln!(
                "  {:<36} free residual {:.1e}  cosine {:.6}  relative error {:.2e}",
                r.setting,
                r.free_residual,
                r.cosine,
                r.relative_error
            );
        }
        return Ok(());
    }
    let (net, cost) = load_or_random(&a.file, a.random, a.seed)?;
    let mut s = net.initial_state();
    steady_state(&net, &mut s, None, 1e-13)?;
    match a.kind {
        CheckKind::Energy => {
            let r = check_energy(&net, &s, Some((&cost, 0.5)));
            if a.json {
                return print_json(&r);
            }
            outln!("energy check ({} nodes): ∂Φ FD error {:.2e}, f = Q∇F error {:.2e}, dynamics = ∓∂Φ error {:.2e}", net.n(), r.gradient_error, r.reaction_error, r.velocity_error);
        }
        CheckKind::Adjoint => {
            let r = check_adjoint(&net, &s)?;
            if a.json {
                return print_json(&r);
            }
            outln!(
                "self-adjointness at a steady state ({} nodes, {} free, {} negative conductances)",
                r.nodes,
                r.free_nodes,
                r.negative_conductances
            );
            outln!(
                "  steady-state residual      {:.2e}; max Re λ(J) = {:.4} ({})",
                r.residual,
                r.max_growth_rate,
                if r.max_growth_rate < 0.0 {
                    "stable"
                } else {
                    "UNSTABLE"
                }
            );
            outln!(
                "  ‖S − Sᵀ‖/‖S‖ closed form     {:.2e}",
                r.asymmetry_closed_form
            );
            outln!(
                "  ‖S − Sᵀ‖/‖S‖ finite diff.    {:.2e}",
                r.asymmetry_finite_difference
            );
            outln!("  closed form vs finite diff.  {:.2e}", r.closed_vs_fd);
            outln!(
                "  closed form vs (H⁻¹)_uu      {:.2e}",
                r.closed_vs_hessian_inverse
            );
            outln!(
                "  full Jacobian ‖J − Jᵀ‖/‖J‖    {:.3} (not symmetric)",
                r.jacobian_asymmetry
            );
        }
        CheckKind::Layered => unreachable!("handled above"),
        CheckKind::Gradient => {
            let r = check_gradient(&net, &cost, &[1e-1, 1e-2, 1e-3, 1e-4])?;
            if a.json {
                return print_json(&r);
            }
            outln!(
                "EqProp vs implicit differentiation ({} parameters, residual {:.1e}, loss {:.4})",
                r.parameters,
                r.residual,
                r.loss
            );
            outln!(
                "  {:>8} {:>14} {:>14} {:>12} {:>12}",
                "β",
                "cos one-sided",
                "cos centered",
                "err one",
                "err cent"
            );
            for b in &r.sweep {
                outln!(
                    "  {:>8.0e} {:>14.9} {:>14.11} {:>12.3e} {:>12.3e}",
                    b.beta,
                    b.cosine_one_sided,
                    b.cosine_centered,
                    b.error_one_sided,
                    b.error_centered
                );
            }
            outln!(
                "  log-log slopes: one-sided {:.3}, centered {:.3}",
                r.slope_one_sided,
                r.slope_centered
            );
            outln!(
                "  finite differences vs implicit on θ{:?}: max rel. error {:.2e}",
                r.fd_indices,
                r.fd_vs_implicit
            );
        }
    }
    Ok(())
}
