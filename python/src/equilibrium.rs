//! The equilibrium layer: the layered FHN network's free equilibria for a batch (forward) and
//! the vector–Jacobian product of its outputs (backward), by EqProp or implicit differentiation
//! (`fhn_eqprop::layered::equilibrium`); used by `fhn_eqprop.equilibrium` and
//! `fhn_eqprop.torch`.

use crate::{faer2, mat2, OrPy};
use fhn_eqprop::layered::equilibrium::{self, Backward};
use fhn_eqprop::layered::{LayeredModel, LayeredNet};
use fhn_eqprop::network::State;
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The equilibria of a batch, kept between the forward pass and the vector–Jacobian product.
#[pyclass(module = "fhn_eqprop._native", frozen)]
pub struct Equilibria {
    states: Vec<State>,
}

/// A float64 network from a model description (JSON of `LayeredModel`) and parameters.
fn net64(
    model_json: &str,
    weights: &[PyReadonlyArray2<f64>],
    biases: &[PyReadonlyArray1<f64>],
) -> PyResult<LayeredNet<f64>> {
    let model: LayeredModel = serde_json::from_str(model_json)
        .map_err(|e| PyValueError::new_err(format!("model: {e}")))?;
    let mut net = LayeredNet::<f64>::zeros(model).py()?;
    if weights.len() != net.weights.len() || biases.len() != net.biases.len() {
        return Err(PyValueError::new_err(format!(
            "{} weight matrices and bias vectors expected",
            net.weights.len()
        )));
    }
    for (l, (w, b)) in weights.iter().zip(biases).enumerate() {
        let (wa, ba) = (w.as_array(), b.as_array());
        if wa.dim() != (net.weights[l].nrows(), net.weights[l].ncols())
            || ba.len() != net.biases[l].len()
        {
            return Err(PyValueError::new_err(format!(
                "layer {l}: W must be {}×{} and b {} long",
                net.weights[l].nrows(),
                net.weights[l].ncols(),
                net.biases[l].len()
            )));
        }
        if wa.iter().chain(ba.iter()).any(|x| !x.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "layer {l}: parameters must be finite"
            )));
        }
        net.weights[l] = faer2(w);
        net.biases[l] = ba.to_vec();
    }
    Ok(net)
}

/// The equilibrium layer's forward pass: outputs (B × n_L) of the free equilibria for inputs x
/// (B × n₀, float64), and the equilibria for [`equilibrium_vjp`].
#[pyfunction]
#[pyo3(signature = (model_json, weights, biases, x, dt=0.5, steps=200, tol=1e-10))]
#[allow(clippy::too_many_arguments)]
pub fn equilibrium_forward<'py>(
    py: Python<'py>,
    model_json: &str,
    weights: Vec<PyReadonlyArray2<f64>>,
    biases: Vec<PyReadonlyArray1<f64>>,
    x: PyReadonlyArray2<f64>,
    dt: f64,
    steps: usize,
    tol: f64,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Equilibria)> {
    let net = net64(model_json, &weights, &biases)?;
    let xt = faer2(&x).transpose().to_owned();
    let (out, states) = py
        .detach(|| equilibrium::forward(&net, &xt, dt, steps, tol))
        .py()?;
    Ok((mat2(py, &out.transpose().to_owned()), Equilibria { states }))
}

/// The vector–Jacobian product of [`equilibrium_forward`]'s outputs with `grad_out` (B × n_L):
/// gradients of the input (B × n₀), the weights and the biases. `method`: "eqprop" (with
/// `beta`, `centered`) or "implicit".
#[pyfunction]
#[pyo3(signature = (model_json, weights, biases, x, equilibria, grad_out, method="eqprop", beta=1e-3, centered=true))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn equilibrium_vjp<'py>(
    py: Python<'py>,
    model_json: &str,
    weights: Vec<PyReadonlyArray2<f64>>,
    biases: Vec<PyReadonlyArray1<f64>>,
    x: PyReadonlyArray2<f64>,
    equilibria: &Equilibria,
    grad_out: PyReadonlyArray2<f64>,
    method: &str,
    beta: f64,
    centered: bool,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Vec<Bound<'py, PyArray2<f64>>>,
    Vec<Vec<f64>>,
)> {
    let how = match method {
        "eqprop" => Backward::EqProp { beta, centered },
        "implicit" => Backward::Implicit,
        m => {
            return Err(PyValueError::new_err(format!(
                "method '{m}': 'eqprop' or 'implicit'"
            )))
        }
    };
    let net = net64(model_json, &weights, &biases)?;
    let xt = faer2(&x).transpose().to_owned();
    let gt = faer2(&grad_out).transpose().to_owned();
    let (dx, g) = py
        .detach(|| equilibrium::vjp(&net, &xt, &equilibria.states, &gt, how))
        .py()?;
    let dw = g.w.iter().map(|m| mat2(py, m)).collect();
    Ok((mat2(py, &dx.transpose().to_owned()), dw, g.b))
}
