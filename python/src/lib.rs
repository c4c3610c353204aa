//! `fhn_eqprop._native`: the Rust core for Python (docs/PYTHON.md). Thin wrappers: every
//! computation is the library's; arrays are numpy, reports are JSON text that the Python package
//! turns into dicts, errors are Python exceptions with the library's message, and the GIL is
//! released while Rust computes.

use fhn_eqprop::Error;
use numpy::{PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

mod equilibrium;
mod layered;
mod network;

/// The library's error as the Python exception a caller expects: bad input → ValueError, a
/// file → OSError, interrupted training → KeyboardInterrupt, a failed computation →
/// RuntimeError.
pub(crate) fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Invalid(_) | Error::Parse { .. } => PyValueError::new_err(msg),
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Interrupted(_) => PyKeyboardInterrupt::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// `Result<T, Error>` → `PyResult<T>`.
pub(crate) trait OrPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for fhn_eqprop::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(py_err)
    }
}

/// A serialisable report as JSON text (the Python side returns it as a dict).
pub(crate) fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// An (n × k) f64 array as rows.
pub(crate) fn rows(a: &PyReadonlyArray2<f64>) -> Vec<Vec<f64>> {
    a.as_array().outer_iter().map(|r| r.to_vec()).collect()
}

/// A vector as a 1-D numpy array.
pub(crate) fn vec1<'py>(py: Python<'py>, v: Vec<f64>) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_vec(py, v)
}

/// A faer matrix as a 2-D numpy array: a column-by-column copy into a Fortran-ordered array
/// (faer is column-major), no per-element indexing.
pub(crate) fn mat2<'py, T: numpy::Element + Copy>(
    py: Python<'py>,
    m: &faer::Mat<T>,
) -> Bound<'py, PyArray2<T>> {
    use numpy::ndarray::{Array2, ShapeBuilder};
    let mut data = Vec::with_capacity(m.nrows() * m.ncols());
    for j in 0..m.ncols() {
        data.extend_from_slice(m.col_as_slice(j));
    }
    let a = Array2::from_shape_vec((m.nrows(), m.ncols()).f(), data).expect("nrows × ncols values");
    PyArray2::from_owned_array(py, a)
}

/// A 2-D numpy array as a faer matrix.
pub(crate) fn faer2(a: &PyReadonlyArray2<f64>) -> faer::Mat<f64> {
    let v = a.as_array();
    faer::Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)])
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<network::Network>()?;
    m.add_class::<layered::Layered>()?;
    m.add_class::<equilibrium::Equilibria>()?;
    m.add_function(wrap_pyfunction!(layered::preset, m)?)?;
    m.add_function(wrap_pyfunction!(layered::train, m)?)?;
    m.add_function(wrap_pyfunction!(equilibrium::equilibrium_forward, m)?)?;
    m.add_function(wrap_pyfunction!(equilibrium::equilibrium_vjp, m)?)?;
    Ok(())
}
