//! `fhn check energy|adjoint|gradient|layered`.

use super::{in_range, positive};
use crate::cli::print_json;
use clap::{Args, ValueEnum};
use fhn_eqprop::adjoint::{check_adjoint, AdjointReport};
use fhn_eqprop::eqprop::{check_gradient, GradientReport};
use fhn_eqprop::netfile;
use fhn_eqprop::network::{check_energy, random_network, Cost, FhnNetwork};
use fhn_eqprop::solvers::steady_state;
use fhn_eqprop::{Error, Result};
use std::path::PathBuf;

/// Most nodes of a checked network: the checks build dense 2n × 2n Hessians and Jacobians
/// (and the adjoint check n of them by finite differences).
const CHECK_MAX_NODES: usize = 1000;

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
    /// Network file (at most 1000 nodes); without it a random connected network is used.
    file: Option<PathBuf>,
    /// Nodes of the random network (4 to 1000).
    #[arg(long, default_value_t = 60)]
    random: usize,
    /// Seed of the random network.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Layered check: widths, input first (at least two layers, 1000 units in all).
    #[arg(long, value_delimiter = ',', default_value = "40,30,20,10")]
    widths: Vec<usize>,
    /// Layered check: weight scale (N(0, scale²), > 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.3)]
    scale: f64,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn load_or_random(file: &Option<PathBuf>, n: usize, seed: u64) -> Result<(FhnNetwork, Cost)> {
    match file {
        Some(f) => {
            let spec = netfile::load(f)?;
            if spec.network.n() > CHECK_MAX_NODES {
                return Err(Error::Invalid(format!(
                    "{}: {} nodes; the checks are dense and take at most {CHECK_MAX_NODES}",
                    f.display(),
                    spec.network.n()
                )));
            }
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
            in_range("--random", n, 4, CHECK_MAX_NODES)?;
            let cost = Cost {
                outputs: vec![n / 4, n / 2, 3 * n / 4],
                targets: vec![0.8, -0.5, 0.2],
            };
            Ok((random_network(n, seed), cost))
        }
    }
}

/// `fhn check`.
pub fn check(a: CheckArgs) -> Result<()> {
    if let CheckKind::Layered = a.kind {
        positive("--scale", a.scale)?;
        let total: usize = a.widths.iter().fold(0, |t, &w| t.saturating_add(w));
        if a.widths.len() < 2 || a.widths.contains(&0) || total > CHECK_MAX_NODES {
            return Err(Error::Invalid(format!(
                "--widths needs at least two layers of ≥ 1 unit and at most {CHECK_MAX_NODES} \
                 units in all, got {:?}",
                a.widths
            )));
        }
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
    match a.kind {
        CheckKind::Energy => {
            let mut s = net.initial_state();
            steady_state(&net, &mut s, None, 1e-13)?;
            let r = check_energy(&net, &s, Some((&cost, 0.5)));
            if a.json {
                return print_json(&r);
            }
            outln!("energy check ({} nodes): ∂Φ FD error {:.2e}, f = Q∇F error {:.2e}, dynamics = ∓∂Φ error {:.2e}", net.n(), r.gradient_error, r.reaction_error, r.velocity_error);
        }
        CheckKind::Adjoint => {
            let mut s = net.initial_state();
            steady_state(&net, &mut s, None, 1e-13)?;
            let r = check_adjoint(&net, &s)?;
            if a.json {
                return print_json(&r);
            }
            print_adjoint(&r);
        }
        CheckKind::Gradient => {
            let r = check_gradient(&net, &cost, &[1e-1, 1e-2, 1e-3, 1e-4])?;
            if a.json {
                return print_json(&r);
            }
            print_gradient(&r);
        }
        CheckKind::Layered => unreachable!("handled above"),
    }
    Ok(())
}

fn print_adjoint(r: &AdjointReport) {
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
    let opt = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |x| format!("{x:.2e}"));
    if let Some(why) = &r.closed_form_not_applicable {
        outln!("  closed form (eq. 10) does not apply: {why}; S = (H⁻¹)_uu below");
    }
    outln!(
        "  ‖S − Sᵀ‖/‖S‖ closed form     {}",
        opt(r.asymmetry_closed_form)
    );
    outln!(
        "  ‖S − Sᵀ‖/‖S‖ (H⁻¹)_uu        {:.2e}",
        r.asymmetry_hessian_inverse
    );
    outln!(
        "  ‖S − Sᵀ‖/‖S‖ finite diff.    {:.2e}",
        r.asymmetry_finite_difference
    );
    outln!("  closed form vs finite diff.  {}", opt(r.closed_vs_fd));
    outln!(
        "  (H⁻¹)_uu vs finite diff.     {:.2e}",
        r.hessian_inverse_vs_fd
    );
    outln!(
        "  closed form vs (H⁻¹)_uu      {}",
        opt(r.closed_vs_hessian_inverse)
    );
    outln!(
        "  full Jacobian ‖J − Jᵀ‖/‖J‖    {:.3} (not symmetric)",
        r.jacobian_asymmetry
    );
}

fn print_gradient(r: &GradientReport) {
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
        match (
            b.cosine_one_sided,
            b.cosine_centered,
            b.error_one_sided,
            b.error_centered,
        ) {
            (Some(c1), Some(c2), Some(e1), Some(e2)) => outln!(
                "  {:>8.0e} {c1:>14.9} {c2:>14.11} {e1:>12.3e} {e2:>12.3e}",
                b.beta
            ),
            _ => outln!(
                "  {:>8.0e} FAILED: {}",
                b.beta,
                b.failed.as_deref().unwrap_or("no estimate")
            ),
        }
    }
    let opt = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |x| format!("{x:.3}"));
    outln!(
        "  log-log slopes: one-sided {}, centered {}{}",
        opt(r.slope_one_sided),
        opt(r.slope_centered),
        if r.failed_betas.is_empty() {
            String::new()
        } else {
            format!(" (without the failed β {:?})", r.failed_betas)
        }
    );
    outln!(
        "  finite differences vs implicit on θ{:?}: max rel. error {:.2e}",
        r.fd_indices,
        r.fd_vs_implicit
    );
}
