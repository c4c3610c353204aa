//! ngspice against this crate: operating points, transients and EqProp gradients of the same
//! network, read back by node name.

use super::netlist::{netlist, Analyses, NodeNames, Nudge};
use super::ngspice::{self, Plot, Run};
use crate::network::{FhnNetwork, State};
use crate::solvers::{newton, steady_state};
use crate::{Error, Result};
use std::path::Path;

/// ‖a − b‖∞ / ‖b‖∞ (‖a − b‖∞ when b is zero).
pub fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

/// All of a state's values, u then v.
pub fn flat(s: &State) -> Vec<f64> {
    s.u.iter().chain(&s.v).copied().collect()
}

/// Our steady state of the (nudged) network: time stepping from the initial state, then Newton
/// to ‖∂Φ‖∞ ≤ 1e-13 (the nudge as Φ + g·½‖u_o − y_o‖², g its conductance).
pub fn model_steady(net: &FhnNetwork, nudge: Option<&Nudge>) -> Result<State> {
    let mut s = net.initial_state();
    steady_state(net, &mut s, nudge.map(|n| (&n.cost, n.conductance)), 1e-13)?;
    Ok(s)
}

/// Newton from `start` to ‖∂Φ‖∞ ≤ 1e-13: the steady state next to a state the model computed
/// (e.g. [`crate::layered::LayeredNet::relaxed_graph_state`]), free or nudged.
pub fn polish(net: &FhnNetwork, start: &State, nudge: Option<&Nudge>) -> Result<State> {
    let mut s = start.clone();
    newton(
        net,
        &mut s,
        nudge.map(|n| (&n.cost, n.conductance)),
        1e-13,
        50,
    )?;
    Ok(s)
}

/// The state ngspice found, node by node (clamped nodes read back from their sources).
pub fn state_of(plot: &Plot, net: &FhnNetwork, names: &dyn NodeNames, row: usize) -> Result<State> {
    let mut s = State::zeros(net.n());
    let r = plot
        .rows
        .get(row)
        .ok_or_else(|| Error::Invalid(format!("'{}' has no point {row}", plot.name)))?;
    for i in 0..net.n() {
        let n = names.name(i);
        s.u[i] = r[plot.index(&format!("v(u{n})"))?];
        s.v[i] = r[plot.index(&format!("v(v{n})"))?];
    }
    Ok(s)
}

/// ngspice's operating point of the (nudged) network, from `nodeset` if given (else from zero).
pub fn operating_point(
    net: &FhnNetwork,
    names: &dyn NodeNames,
    nudge: Option<&Nudge>,
    nodeset: Option<&State>,
    dir: &Path,
) -> Result<(State, Run)> {
    let analyses = Analyses {
        op: true,
        nodeset: nodeset.cloned(),
        ..Analyses::default()
    };
    let deck = netlist(net, names, nudge, &analyses, "operating point")?;
    let run = ngspice::run(&deck, dir)?;
    let s = state_of(run.plot("Operating")?, net, names, 0)?;
    Ok((s, run))
}

/// ngspice's transient from the initial state (zero, clamps held): times and the activators of
/// `nodes`, one row per time point.
pub fn transient(
    net: &FhnNetwork,
    names: &dyn NodeNames,
    step: f64,
    stop: f64,
    reltol: f64,
    dir: &Path,
) -> Result<(Vec<f64>, Vec<State>, Run)> {
    let analyses = Analyses {
        tran: Some((step, stop)),
        reltol,
        ..Analyses::default()
    };
    let deck = netlist(net, names, None, &analyses, "transient")?;
    let run = ngspice::run(&deck, dir)?;
    let plot = run.plot("Transient")?;
    let times = plot.column("time")?;
    let states = (0..plot.rows.len())
        .map(|r| state_of(plot, net, names, r))
        .collect::<Result<Vec<_>>>()?;
    Ok((times, states, run))
}

/// Centered EqProp in the circuit: the operating points with the nudge conductance g_n and −g_n
/// (started from the free state) and the co-content rule, (∂Φ/∂θ(s⁺) − ∂Φ/∂θ(s⁻)) / 2g_n, with
/// ∂Φ/∂g = ½ d_u Δu² per activator conductance, −(d_v/2ε) Δv² per inhibitor conductance, −u per
/// current: the gradient of ½‖u_o − y‖² (g_n plays β). For a layered nudge (g_n =
/// 2·cost_scale·β) multiply by 2·cost_scale for the gradient of cost_scale‖u_L − y‖².
pub fn circuit_eqprop(
    net: &FhnNetwork,
    names: &dyn NodeNames,
    nudge_plus: &Nudge,
    free: &State,
    dir: &Path,
) -> Result<Vec<f64>> {
    let beta = nudge_plus.conductance;
    let minus = Nudge {
        conductance: -beta,
        ..nudge_plus.clone()
    };
    let (sp, _) = operating_point(net, names, Some(nudge_plus), Some(free), &dir.join("plus"))?;
    let (sm, _) = operating_point(net, names, Some(&minus), Some(free), &dir.join("minus"))?;
    let (gp, gm) = (net.param_gradient(&sp), net.param_gradient(&sm));
    Ok(gp
        .iter()
        .zip(&gm)
        .map(|(p, m)| (p - m) / (2.0 * beta))
        .collect())
}

/// Period and half peak-to-peak amplitude of a sampled oscillation, from the samples with
/// t ≥ `after`: the mean time between upward crossings of the mid-level (linear interpolation).
/// `None` when fewer than two crossings are seen.
pub fn period_amplitude(t: &[f64], x: &[f64], after: f64) -> Option<(f64, f64)> {
    let idx: Vec<usize> = (0..t.len()).filter(|&i| t[i] >= after).collect();
    let (lo, hi) = idx
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
            (lo.min(x[i]), hi.max(x[i]))
        });
    let mid = 0.5 * (lo + hi);
    let crossings: Vec<f64> = idx
        .windows(2)
        .filter(|w| x[w[0]] < mid && x[w[1]] >= mid)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            t[a] + (mid - x[a]) / (x[b] - x[a]) * (t[b] - t[a])
        })
        .collect();
    if crossings.len() < 2 {
        return None;
    }
    let period = (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64;
    Some((period, 0.5 * (hi - lo)))
}

/// Whether ngspice runs here; tests that need it say so and stop when it does not (outside CI,
/// where .ci/run installs it and a missing ngspice is a failure).
pub fn ngspice_for_tests() -> bool {
    if ngspice::available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "ngspice is not installed; .ci/run installs it (apt-get install ngspice)"
    );
    eprintln!("skipped: ngspice is not installed (apt-get install ngspice)");
    false
}
