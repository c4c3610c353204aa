//! `Network`: an FHN network on two graphs (a network file), its steady state, time simulation
//! and the numerical checks.

use crate::{json, rows, vec1, OrPy};
use fhn_eqprop::adjoint::check_adjoint;
use fhn_eqprop::eqprop::check_gradient;
use fhn_eqprop::netfile::{self, NetworkSpec, RawNetwork};
use fhn_eqprop::network::{check_energy, Cost, State};
use fhn_eqprop::solvers::{dopri45, euler, steady_state, steady_state_report, AdaptiveOptions};
use fhn_eqprop::stability::stability;
use fhn_eqprop::Error;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// Most nodes the dense checks take (as `fhn check`).
const CHECK_MAX_NODES: usize = 1000;

/// An FHN network on two weighted graphs with currents, clamps and optional outputs: what a
/// network file holds (docs/NETWORK_FILE.md).
#[pyclass(module = "fhn_eqprop._native", frozen)]
pub struct Network {
    spec: NetworkSpec,
}

fn ids(what: &str, x: f64) -> PyResult<usize> {
    if x >= 0.0 && x.fract() == 0.0 && x < 1e15 {
        Ok(x as usize)
    } else {
        Err(PyValueError::new_err(format!(
            "{what}: node id {x} is not a non-negative integer"
        )))
    }
}

fn need_cols(
    what: &str,
    a: &Option<PyReadonlyArray2<f64>>,
    cols: usize,
) -> PyResult<Vec<Vec<f64>>> {
    let Some(a) = a else { return Ok(vec![]) };
    if a.as_array().ncols() != cols && a.as_array().nrows() > 0 {
        return Err(PyValueError::new_err(format!(
            "{what} must have {cols} columns, got shape {:?}",
            a.as_array().shape()
        )));
    }
    Ok(rows(a))
}

#[pymethods]
impl Network {
    /// Reads a network file (TOML).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(Self {
            spec: netfile::load(&path).py()?,
        })
    }

    /// Builds a network from arrays (the network file's keys); parameters as a dict of
    /// tau_u, tau_v, d_u, d_v, eps, alpha, beta (Table I for those not given). Checked exactly
    /// like a file.
    #[staticmethod]
    #[pyo3(signature = (nodes, activator_edges=None, inhibitor_edges=None, currents=None, clamps=None, outputs=None, params=None))]
    fn from_arrays(
        nodes: usize,
        activator_edges: Option<PyReadonlyArray2<f64>>,
        inhibitor_edges: Option<PyReadonlyArray2<f64>>,
        currents: Option<PyReadonlyArray1<f64>>,
        clamps: Option<PyReadonlyArray2<f64>>,
        outputs: Option<PyReadonlyArray2<f64>>,
        params: Option<std::collections::HashMap<String, f64>>,
    ) -> PyResult<Self> {
        let edges =
            |what: &str, a: &Option<PyReadonlyArray2<f64>>| -> PyResult<Vec<(usize, usize, f64)>> {
                need_cols(what, a, 3)?
                    .iter()
                    .map(|r| Ok((ids(what, r[0])?, ids(what, r[1])?, r[2])))
                    .collect()
            };
        let mut p = fhn_eqprop::model::FhnParams::table1();
        for (k, v) in params.unwrap_or_default() {
            let slot = match k.as_str() {
                "tau_u" => &mut p.tau_u,
                "tau_v" => &mut p.tau_v,
                "d_u" => &mut p.d_u,
                "d_v" => &mut p.d_v,
                "eps" => &mut p.eps,
                "alpha" => &mut p.alpha,
                "beta" => &mut p.beta,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "unknown parameter '{other}'"
                    )))
                }
            };
            *slot = v;
        }
        let raw = RawNetwork {
            nodes,
            activator_edges: edges("activator_edges", &activator_edges)?,
            inhibitor_edges: edges("inhibitor_edges", &inhibitor_edges)?,
            currents: match currents {
                Some(c) => {
                    let c = c.as_array();
                    if c.len() != nodes {
                        return Err(PyValueError::new_err(format!(
                            "currents has {} values for {nodes} nodes",
                            c.len()
                        )));
                    }
                    c.iter()
                        .enumerate()
                        .filter(|(_, &x)| x != 0.0)
                        .map(|(i, &x)| (i, x))
                        .collect()
                }
                None => vec![],
            },
            clamps: need_cols("clamps", &clamps, 3)?
                .iter()
                .map(|r| Ok((ids("clamps", r[0])?, r[1], r[2])))
                .collect::<PyResult<_>>()?,
            outputs: need_cols("outputs", &outputs, 2)?
                .iter()
                .map(|r| Ok((ids("outputs", r[0])?, r[1])))
                .collect::<PyResult<_>>()?,
            params: p,
        };
        Ok(Self {
            spec: netfile::parse(&raw.to_toml(), Path::new("<arrays>")).py()?,
        })
    }

    /// Writes the network file (TOML); `Network.load` reads back the same network.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        let text = RawNetwork::of(&self.spec).to_toml();
        fhn_eqprop::io::write_atomic(&path, text.as_bytes()).py()
    }

    /// Number of nodes.
    #[getter]
    fn nodes(&self) -> usize {
        self.spec.network.n()
    }

    /// The FHN parameters as JSON text.
    fn params_json(&self) -> PyResult<String> {
        json(&self.spec.network.params)
    }

    /// Steady state (time stepping + Newton to `tol`) and its stability, as JSON text with u, v.
    #[pyo3(signature = (tol=1e-12))]
    fn steady_json(&self, py: Python<'_>, tol: f64) -> PyResult<String> {
        if !(tol > 0.0 && tol.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "tol = {tol}: must be finite and > 0"
            )));
        }
        let net = &self.spec.network;
        let (rep, s, st) = py
            .detach(|| {
                let mut s = net.initial_state();
                let rep = steady_state_report(net, &mut s, None, tol)?;
                let st = stability(net, &s)?;
                Ok::<_, Error>((rep, s, st))
            })
            .py()?;
        json(&serde_json::json!({
            "u": s.u, "v": s.v, "residual": rep.residual,
            "time_stepping_converged": rep.stepping_converged, "stable": st.stable,
            "max_growth_rate": st.max_growth_rate, "verdict": st.verdict,
        }))
    }

    /// Time simulation from rest (clamps held): `samples` equally spaced times in [0, t_end]
    /// and the activators and inhibitors there (samples × nodes each).
    #[pyo3(signature = (t_end, method="dopri", dt=0.1, samples=101))]
    #[allow(clippy::type_complexity)]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        t_end: f64,
        method: &str,
        dt: f64,
        samples: usize,
    ) -> PyResult<(
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray2<f64>>,
        Bound<'py, PyArray2<f64>>,
    )> {
        if !(t_end > 0.0 && t_end.is_finite() && dt > 0.0 && dt.is_finite()) {
            return Err(PyValueError::new_err("t_end and dt must be finite and > 0"));
        }
        if !(2..=100_000).contains(&samples) || t_end / dt > 1e9 {
            return Err(PyValueError::new_err(
                "samples must be 2 to 100000 and t_end/dt at most 1e9",
            ));
        }
        let euler_method = match method {
            "dopri" => false,
            "euler" => true,
            m => {
                return Err(PyValueError::new_err(format!(
                    "method '{m}': 'dopri' or 'euler'"
                )))
            }
        };
        let net = &self.spec.network;
        let times: Vec<f64> = (0..samples)
            .map(|k| t_end * k as f64 / (samples - 1) as f64)
            .collect();
        let states = py
            .detach(|| {
                let mut s = net.initial_state();
                let (mut t, mut out) = (0.0, vec![s.clone()]);
                for &tk in &times[1..] {
                    if euler_method {
                        let steps = ((tk - t) / dt).round() as usize;
                        euler(
                            net,
                            &mut s,
                            None,
                            (tk - t) / steps.max(1) as f64,
                            steps.max(1),
                        )?;
                    } else {
                        dopri45(
                            net,
                            &mut s,
                            None,
                            tk - t,
                            AdaptiveOptions::default(),
                            |_, _| {},
                        )?;
                    }
                    t = tk;
                    out.push(s.clone());
                }
                Ok::<_, Error>(out)
            })
            .py()?;
        let grid = |f: fn(&State) -> &Vec<f64>| {
            let n = net.n();
            let a =
                numpy::ndarray::Array2::from_shape_fn((states.len(), n), |(r, i)| f(&states[r])[i]);
            PyArray2::from_owned_array(py, a)
        };
        Ok((vec1(py, times.clone()), grid(|s| &s.u), grid(|s| &s.v)))
    }

    /// `fhn check energy` as JSON text.
    fn check_energy_json(&self, py: Python<'_>) -> PyResult<String> {
        let (net, cost) = self.checked()?;
        let r = py
            .detach(|| {
                let mut s = net.initial_state();
                steady_state(net, &mut s, None, 1e-13)?;
                Ok::<_, Error>(check_energy(net, &s, Some((&cost, 0.5))))
            })
            .py()?;
        json(&r)
    }

    /// `fhn check adjoint` as JSON text.
    fn check_adjoint_json(&self, py: Python<'_>) -> PyResult<String> {
        let (net, _) = self.checked()?;
        let r = py
            .detach(|| {
                let mut s = net.initial_state();
                steady_state(net, &mut s, None, 1e-13)?;
                check_adjoint(net, &s)
            })
            .py()?;
        json(&r)
    }

    /// `fhn check gradient` as JSON text, for the given β values.
    #[pyo3(signature = (betas=vec![1e-1, 1e-2, 1e-3, 1e-4]))]
    fn check_gradient_json(&self, py: Python<'_>, betas: Vec<f64>) -> PyResult<String> {
        if betas.is_empty() || betas.iter().any(|b| !(*b > 0.0 && b.is_finite())) {
            return Err(PyValueError::new_err("betas must be finite and > 0"));
        }
        let (net, cost) = self.checked()?;
        let r = py.detach(|| check_gradient(net, &cost, &betas)).py()?;
        json(&r)
    }
}

impl Network {
    /// The network and its cost (the file's outputs, else the last free node at 0.5, as
    /// `fhn check`), refused above the dense checks' size.
    fn checked(&self) -> PyResult<(&fhn_eqprop::network::FhnNetwork, Cost)> {
        let net = &self.spec.network;
        if net.n() > CHECK_MAX_NODES {
            return Err(PyValueError::new_err(format!(
                "{} nodes; the checks are dense and take at most {CHECK_MAX_NODES}",
                net.n()
            )));
        }
        let cost = self.spec.cost.clone().unwrap_or_else(|| Cost {
            outputs: vec![net.free_nodes().last().copied().unwrap_or(0)],
            targets: vec![0.5],
        });
        Ok((net, cost))
    }
}
