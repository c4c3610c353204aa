//! # fhn-eqprop
//!
//! Equilibrium Propagation and Hamiltonian inference in diffusive FitzHugh–Nagumo networks
//! (J. Kendall). Layout:
//!
//! - [`model`]: one FHN unit: parameters and the local terms (reaction, free energy), written
//!   once for f32 and f64 ([`Real`]) and used by every model below.
//! - [`graph`]: weighted graphs and Laplacians `L = BᵀYB`.
//! - [`network`]: FHN networks on graphs and the mini-max potential Φ.
//! - [`solvers`]: Euler, adaptive Dormand–Prince, Newton.
//! - [`stability`]: whether a steady state is linearly stable (Jacobian eigenvalues).
//! - [`adjoint`]: the self-adjoint activator response (paper eq. 9–10).
//! - [`eqprop`]: EqProp gradients vs implicit differentiation vs finite differences.
//! - [`turing`]: dispersion relation and Turing patterns on graphs.
//! - [`netfile`]: the user network file format.
//! - [`layered`]: deep layered networks: an [`layered::energy::Energy`] (FHN, Hopfield), a
//!   [`layered::coupling::Coupling`] between layers, [`layered::relaxer::Relaxer`]s.
//! - [`data`], [`train`]: data sets and training, made of parts (gradient estimator, reducer,
//!   optimiser, observers); docs/ARCHITECTURE.md.
//! - [`hamiltonian`]: layer-wise recursions and the block-tridiagonal sweep.
//! - [`backend`]: the training step written once against a backend seam (CPU, CUDA).
//! - [`circuit`]: the network as a SPICE netlist, checked against ngspice; hardware effects.

// Index loops mirror the equations (u[k], G[k][j]) in the numerical kernels.
#![allow(clippy::needless_range_loop)]

pub mod adjoint;
pub mod backend;
pub mod circuit;
pub mod data;
pub mod eqprop;
pub mod error;
pub mod graph;
pub mod hamiltonian;
pub mod io;
pub mod layered;
pub mod model;
pub mod netfile;
pub mod network;
pub mod plot;
pub mod real;
pub mod solvers;
pub mod stability;
pub mod train;
pub mod turing;

pub use error::{Error, Result};
pub use real::Real;
