//! EqProp in the layered network against the exact gradient (implicit differentiation through
//! the graph view), converged and at the paper's transient setting (β = 0.9, 55/14 steps).

use super::{
    entries, graph_view::node_offsets, Grads, Kind, LayeredModel, LayeredNet, Nudge, Phase, Solver,
};
use crate::eqprop::{cosine, implicit_gradient, relative_error};
use crate::error::Result;
use crate::model::FhnParams;
use crate::network::Cost;
use crate::solvers::steady_state;
use faer::{Mat, Par};
use rand::SeedableRng;
use serde::Serialize;

/// One EqProp estimate compared with the exact gradient.
#[derive(Clone, Debug, Serialize)]
pub struct LayeredGradientRow {
    /// Setting.
    pub setting: String,
    /// β.
    pub beta: f64,
    /// Free / nudge steps (Euler, step `dt`).
    pub steps: (usize, usize),
    /// Euler step.
    pub dt: f64,
    /// Free-phase residual at the end of the free phase.
    pub free_residual: f64,
    /// Cosine with the exact weight gradient.
    pub cosine: f64,
    /// ‖g − g*‖/‖g*‖.
    pub relative_error: f64,
}

/// Centered EqProp weight gradient of one example with Euler relaxation from zero.
fn eqprop_estimate(
    net: &LayeredNet<f64>,
    x: &Mat<f64>,
    y: &Mat<f64>,
    beta: f64,
    free: usize,
    nudge: usize,
    dt: f64,
) -> Result<(Vec<f64>, f64)> {
    let mut ws = net.workspace(1);
    let mut s = net.init_state(x.clone());
    net.prepare_input(&s, &mut ws, Par::Seq);
    net.relax(
        &mut s,
        &mut ws,
        Phase {
            nudge: None,
            dt,
            max_steps: free,
            tol: 0.0,
            solver: Solver::Euler,
        },
        Par::Seq,
    )?;
    let res = net.residual(&s, &mut ws, None, Par::Seq);
    let mut g = Grads::zeros_like(net);
    for b in [beta, -beta] {
        let mut sb = s.clone();
        net.relax(
            &mut sb,
            &mut ws,
            Phase {
                nudge: Some(Nudge { target: y, gain: b }),
                dt,
                max_steps: nudge,
                tol: 0.0,
                solver: Solver::Euler,
            },
            Par::Seq,
        )?;
        net.accumulate_param_grad(&sb, &mut ws, 1.0 / (2.0 * b), &mut g, Par::Seq);
    }
    Ok((
        g.w.iter()
            .flat_map(|w| entries(w).collect::<Vec<_>>())
            .collect(),
        res,
    ))
}

/// Runs the check on a random FHN network of widths `widths` (Table I, no leak, weights
/// N(0, scale²)), one input example and targets ±0.3.
pub fn layered_gradient_check(
    widths: &[usize],
    scale: f64,
    seed: u64,
) -> Result<Vec<LayeredGradientRow>> {
    let model = LayeredModel {
        widths: widths.to_vec(),
        kind: Kind::Fhn,
        fhn: FhnParams::table1(),
        inhibitor_coupling: false,
        leak: 0.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let net = LayeredNet::<f64>::random(model, scale, false, &mut rng)?;
    let n0 = widths[0];
    let nl = *widths.last().expect("widths");
    let x = Mat::from_fn(n0, 1, |i, _| ((i * 37 % 11) as f64) / 10.0);
    let y = Mat::from_fn(nl, 1, |i, _| if i == 0 { 0.3 } else { -0.3 });
    // Exact gradient at the converged free state (graph view, Newton to 1e-13).
    let xv: Vec<f64> = (0..n0).map(|i| x[(i, 0)]).collect();
    let g = net.as_graph(&xv)?;
    let mut s = g.initial_state();
    steady_state(&g, &mut s, None, 1e-13)?;
    let off = node_offsets(widths);
    let last = widths.len() - 1;
    let cost = Cost {
        outputs: (0..nl).map(|k| off[last] + k).collect(),
        targets: (0..nl).map(|k| y[(k, 0)]).collect(),
    };
    let m: usize = net.weights.iter().map(|w| w.nrows() * w.ncols()).sum();
    let exact = implicit_gradient(&g, &s, &cost)[..m].to_vec();
    let settings = [
        ("converged, small β", 1e-3, 20_000, 20_000, 0.1),
        ("converged, β = 0.9", 0.9, 20_000, 20_000, 0.1),
        ("paper: β = 0.9, 55/14 steps of 0.1", 0.9, 55, 14, 0.1),
    ];
    settings
        .iter()
        .map(|&(name, beta, free, nudge, dt)| {
            let (est, res) = eqprop_estimate(&net, &x, &y, beta, free, nudge, dt)?;
            Ok(LayeredGradientRow {
                setting: name.into(),
                beta,
                steps: (free, nudge),
                dt,
                free_residual: res,
                cosine: cosine(&est, &exact),
                relative_error: relative_error(&est, &exact),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converged_eqprop_matches_exact_gradient_in_the_layered_net() {
        let rows = layered_gradient_check(&[12, 10, 8, 4], 0.3, 4).unwrap();
        assert!(rows[0].free_residual < 1e-10, "{rows:?}");
        assert!(rows[0].cosine >= 0.9999, "{rows:?}");
        assert!(rows[2].cosine < rows[0].cosine);
    }
}
