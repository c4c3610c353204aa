//! The FHN network as an electrical circuit: SPICE netlists, ngspice runs, and what hardware
//! (quantised, mismatched, passive-only conductances) does to a trained network
//! (docs/CIRCUIT.md).
//!
//! - [`netlist`]: one deck per network: capacitors τ, the cubic as a behavioural element,
//!   conductances as resistors (negative ones as active elements), clamps and targets as
//!   voltage sources.
//! - [`layered`]: a trained layered network, one input image, as such a network.
//! - [`ngspice`]: batch runs of ngspice and its binary raw files.
//! - [`compare`]: ngspice's operating points and transients against this crate's solvers.
//! - [`hardware`]: test error under k-bit conductances, device mismatch, passive-only devices.

pub mod compare;
pub mod hardware;
pub mod layered;
pub mod netlist;
pub mod ngspice;

pub use netlist::{netlist, Analyses, Counts, Indexed, NodeNames, Nudge, MAX_ELEMENTS};

#[cfg(test)]
mod tests;
