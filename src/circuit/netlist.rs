//! The SPICE netlist of an FHN network (docs/CIRCUIT.md).
//!
//! Kirchhoff's current law at each node is one line of docs/MODEL.md §2, with the potential Φ
//! as the circuit's co-content:
//!
//! ```text
//! activator u_i:  τ_u      du/dt = −d_u (L₁u)_i + u − u³ − v + I_i          (= −∂Φ/∂u_i)
//! inhibitor v_i:  (τ_v/ε)  dv/dt = −(d_v/ε) (L₂v)_i + u − α v − β          (= +∂Φ/∂v_i)
//! ```
//!
//! The inhibitor row is the model's divided by ε, so every inhibitor element is an entry of Φ's
//! Hessian: edges of conductance (d_v/ε)·g, a conductance α to ground, a source β.

use crate::network::{Cost, FhnNetwork, State};
use crate::{Error, Result};
use std::fmt::Write;

/// Most elements an exported netlist may have. ngspice holds a 784-500-10 network (≈ 0.4 M
/// elements) in a few hundred MB (results/circuit/); ten times that is no longer a sensible deck.
pub const MAX_ELEMENTS: usize = 4_000_000;

/// The EqProp nudge as a circuit: a conductance from each output node to a voltage source at
/// its target (the force −2·cost_scale·β(u_o − y_o) of C = cost_scale·‖u − y‖²).
#[derive(Clone, Debug)]
pub struct Nudge {
    /// Output nodes and targets.
    pub cost: Cost,
    /// The nudge conductance 2·cost_scale·β (β itself for a network file's C = ½‖u − y‖²);
    /// negative for the −β phase of centered EqProp (an active element).
    pub conductance: f64,
}

/// Which analyses the deck asks ngspice for.
#[derive(Clone, Debug, Default)]
pub struct Analyses {
    /// `.op`: the operating point (a steady state).
    pub op: bool,
    /// `.nodeset` for the operating point: a state to start Newton from (e.g. our steady state).
    pub nodeset: Option<State>,
    /// `.tran STEP STOP uic`: a transient from the initial state (zero, clamps held).
    pub tran: Option<(f64, f64)>,
    /// Relative tolerance (`reltol`; `vntol` and `abstol` are 1e-3 and 1e-6 of it).
    pub reltol: f64,
}

/// How the deck names node `i` (activator `u<name>`, inhibitor `v<name>`) and what it says it is.
pub trait NodeNames {
    /// Suffix naming node `i` (letters, digits, `_`).
    fn name(&self, i: usize) -> String;
    /// What node `i` is in the model, for comments.
    fn describe(&self, i: usize) -> String;
}

/// Nodes of a network file: `u7`, `v7` for node 7.
pub struct Indexed;

impl NodeNames for Indexed {
    fn name(&self, i: usize) -> String {
        i.to_string()
    }
    fn describe(&self, i: usize) -> String {
        format!("node {i}")
    }
}

/// Element counts of a deck.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Counts {
    /// Resistors (positive conductances).
    pub resistors: usize,
    /// Capacitors.
    pub capacitors: usize,
    /// Voltage-controlled current sources: negative conductances (active elements) and the
    /// u ↔ v couplings.
    pub controlled_sources: usize,
    /// Of those, negative conductances.
    pub negative_conductances: usize,
    /// Behavioural sources (the cubic u³ − u of each free activator).
    pub behavioural: usize,
    /// Independent voltage and current sources.
    pub sources: usize,
}

impl Counts {
    /// All elements.
    pub fn total(&self) -> usize {
        self.resistors + self.capacitors + self.controlled_sources + self.behavioural + self.sources
    }
}

/// Elements a network needs (what [`netlist`] would write), counted without writing it.
pub fn count(net: &FhnNetwork, nudge: Option<&Nudge>) -> Counts {
    let free = net.free_nodes().len();
    let mut c = Counts {
        capacitors: 2 * free,
        behavioural: free,
        controlled_sources: 2 * free,
        sources: 2 * net.clamps.len(),
        ..Counts::default()
    };
    let p = &net.params;
    let mut edge = |g: f64| {
        if g > 0.0 {
            c.resistors += 1;
        } else if g < 0.0 {
            c.controlled_sources += 1;
            c.negative_conductances += 1;
        }
    };
    for e in &net.activator.edges {
        edge(p.d_u * e.g);
    }
    for e in &net.inhibitor.edges {
        edge(p.d_v / p.eps * e.g);
    }
    for _ in 0..free {
        edge(p.alpha);
    }
    let free_set = net.free_nodes();
    let with_current = free_set.iter().filter(|&&i| net.current[i] != 0.0).count();
    let with_offset = if p.beta != 0.0 { free } else { 0 };
    c.sources += with_current + with_offset;
    if let Some(n) = nudge {
        c.sources += n.cost.outputs.len();
        for _ in &n.cost.outputs {
            edge(n.conductance);
        }
    }
    c
}

/// A number as SPICE reads it, exactly (shortest round-trip form).
fn num(x: f64) -> String {
    format!("{x:e}")
}

/// Writes the netlist of `net` (a plain ngspice deck, one element per line, comments saying what
/// each is). Refuses non-finite values and decks of more than [`MAX_ELEMENTS`] elements.
pub fn netlist(
    net: &FhnNetwork,
    names: &dyn NodeNames,
    nudge: Option<&Nudge>,
    analyses: &Analyses,
    title: &str,
) -> Result<String> {
    let counts = count(net, nudge);
    if counts.total() > MAX_ELEMENTS {
        return Err(Error::Invalid(format!(
            "the netlist would have {} elements ({} resistors, {} controlled sources); at most \
             {MAX_ELEMENTS} make a sensible deck",
            counts.total(),
            counts.resistors,
            counts.controlled_sources
        )));
    }
    check_finite(net, nudge, analyses)?;
    let p = &net.params;
    let mut d = String::with_capacity(48 * counts.total() + 4096);
    let title = title.replace(['\n', '\r'], " ");
    let _ = writeln!(d, "* {title}");
    let _ = writeln!(
        d,
        "* fhn-eqprop FHN network: {} nodes, {} elements; docs/CIRCUIT.md.\n\
         * tau_u = {}, tau_v = {}, d_u = {}, d_v = {}, eps = {}, alpha = {}, beta = {}\n\
         * Activator nodes u*, inhibitor nodes v*; volts are the model's u and v, amperes its\n\
         * currents, farads its time constants (C_u = tau_u, C_v = tau_v/eps).\n\
         * Active elements: {} negative conductances (G elements named with N).",
        net.n(),
        counts.total(),
        num(p.tau_u),
        num(p.tau_v),
        num(p.d_u),
        num(p.d_v),
        num(p.eps),
        num(p.alpha),
        num(p.beta),
        counts.negative_conductances
    );
    let mut clamp = vec![None; net.n()];
    for c in &net.clamps {
        clamp[c.node] = Some(*c);
    }
    let cv = p.tau_v / p.eps;
    for i in 0..net.n() {
        let s = names.name(i);
        let _ = writeln!(d, "\n* {}", names.describe(i));
        if let Some(c) = clamp[i] {
            let _ = writeln!(d, "Vu{s} u{s} 0 DC {} ; clamp: voltage source", num(c.u));
            let _ = writeln!(d, "Vv{s} v{s} 0 DC {} ; clamp: voltage source", num(c.v));
            continue;
        }
        let _ = writeln!(d, "Cu{s} u{s} 0 {} ; tau_u", num(p.tau_u));
        let _ = writeln!(
            d,
            "Bu{s} u{s} 0 I = V(u{s})*V(u{s})*V(u{s}) - V(u{s}) ; N-shaped element: draws u^3 - u"
        );
        let _ = writeln!(d, "Gvu{s} u{s} 0 v{s} 0 1 ; u <- v: draws v");
        if net.current[i] != 0.0 {
            let _ = writeln!(
                d,
                "Iu{s} 0 u{s} DC {} ; input current I",
                num(net.current[i])
            );
        }
        let _ = writeln!(d, "Cv{s} v{s} 0 {} ; tau_v/eps", num(cv));
        let _ = writeln!(d, "Guv{s} 0 v{s} u{s} 0 1 ; v <- u: injects u");
        conductance(
            &mut d,
            &format!("v{s}"),
            &format!("v{s}"),
            "0",
            p.alpha,
            "alpha",
        );
        if p.beta != 0.0 {
            let _ = writeln!(d, "Iv{s} v{s} 0 DC {} ; offset beta", num(p.beta));
        }
    }
    let _ = writeln!(d, "\n* activator couplings d_u*g");
    for (k, e) in net.activator.edges.iter().enumerate() {
        let (a, b) = (names.name(e.a), names.name(e.b));
        let what = format!("edge {k}");
        conductance(
            &mut d,
            &format!("a{k}"),
            &format!("u{a}"),
            &format!("u{b}"),
            p.d_u * e.g,
            &what,
        );
    }
    if !net.inhibitor.edges.is_empty() {
        let _ = writeln!(d, "\n* inhibitor couplings d_v/eps*g");
    }
    for (k, e) in net.inhibitor.edges.iter().enumerate() {
        let (a, b) = (names.name(e.a), names.name(e.b));
        let what = format!("edge {k}");
        let g = p.d_v / p.eps * e.g;
        conductance(
            &mut d,
            &format!("i{k}"),
            &format!("v{a}"),
            &format!("v{b}"),
            g,
            &what,
        );
    }
    if let Some(n) = nudge {
        let _ = writeln!(
            d,
            "\n* EqProp nudge: conductance {} from each output to its target",
            num(n.conductance)
        );
        for (&o, &y) in n.cost.outputs.iter().zip(&n.cost.targets) {
            let s = names.name(o);
            let _ = writeln!(d, "Vy{s} y{s} 0 DC {} ; target", num(y));
            conductance(
                &mut d,
                &format!("y{s}"),
                &format!("u{s}"),
                &format!("y{s}"),
                n.conductance,
                "nudge",
            );
        }
    }
    analysis_cards(&mut d, net, names, analyses);
    let _ = writeln!(d, ".end");
    Ok(d)
}

/// A conductance `g` between `a` and `b`: a resistor when positive, a VCCS of gain g (an active
/// element, name prefix `GN`) when negative, nothing when zero.
fn conductance(d: &mut String, name: &str, a: &str, b: &str, g: f64, what: &str) {
    if g > 0.0 {
        let _ = writeln!(
            d,
            "R{name} {a} {b} {} ; {what}: g = {}",
            num(1.0 / g),
            num(g)
        );
    } else if g < 0.0 {
        let _ = writeln!(
            d,
            "GN{name} {a} {b} {a} {b} {} ; {what}: negative conductance (active element)",
            num(g)
        );
    }
}

fn analysis_cards(d: &mut String, net: &FhnNetwork, names: &dyn NodeNames, a: &Analyses) {
    let reltol = if a.reltol > 0.0 { a.reltol } else { 1e-9 };
    let _ = writeln!(
        d,
        "\n.options reltol={} vntol={} abstol={} acct",
        num(reltol),
        num(reltol * 1e-3),
        num(reltol * 1e-6)
    );
    if let Some(s) = &a.nodeset {
        for &i in net.free_nodes() {
            let n = names.name(i);
            let _ = writeln!(
                d,
                ".nodeset V(u{n})={} V(v{n})={}",
                num(s.u[i]),
                num(s.v[i])
            );
        }
    }
    if a.op {
        let _ = writeln!(d, ".op");
    }
    if let Some((step, stop)) = a.tran {
        let _ = writeln!(d, ".tran {} {} uic", num(step), num(stop));
    }
}

fn check_finite(net: &FhnNetwork, nudge: Option<&Nudge>, a: &Analyses) -> Result<()> {
    let bad = |what: &str| Err(Error::Invalid(format!("{what} is not finite")));
    if let Some(n) = nudge {
        if !n.conductance.is_finite() || n.cost.targets.iter().any(|y| !y.is_finite()) {
            return bad("the nudge");
        }
        let o = &n.cost.outputs;
        if o.len() != n.cost.targets.len() {
            return Err(Error::Invalid(format!(
                "the nudge has {} outputs and {} targets",
                o.len(),
                n.cost.targets.len()
            )));
        }
        let mut seen = vec![false; net.n()];
        for &i in o {
            if i >= net.n() || std::mem::replace(&mut seen[i], true) {
                return Err(Error::Invalid(format!(
                    "nudge output {i} is outside 0..{} or listed twice",
                    net.n()
                )));
            }
        }
    }
    // A resistor holds 1/g: a positive conductance so small that 1/g overflows cannot be written.
    let p = &net.params;
    let tiny = |g: f64| g > 0.0 && !(1.0 / g).is_finite();
    let edges = net.activator.edges.iter().map(|e| p.d_u * e.g);
    let inhib = net.inhibitor.edges.iter().map(|e| p.d_v / p.eps * e.g);
    let extra = [p.alpha, nudge.map_or(0.0, |n| n.conductance)];
    if let Some(g) = edges.chain(inhib).chain(extra).find(|&g| tiny(g)) {
        return Err(Error::Invalid(format!(
            "a conductance of {g:e} is too small to write as a resistance (1/g overflows)"
        )));
    }
    if let Some(s) = &a.nodeset {
        if s.u.len() != net.n() || s.v.len() != net.n() {
            return Err(Error::Invalid(format!(
                "the nodeset has {} values for {} nodes",
                s.u.len(),
                net.n()
            )));
        }
        if s.u.iter().chain(&s.v).any(|x| !x.is_finite()) {
            return bad("the nodeset");
        }
    }
    if let Some((step, stop)) = a.tran {
        if !(step > 0.0 && stop > 0.0 && step.is_finite() && stop.is_finite()) {
            return Err(Error::Invalid(format!(
                "transient step {step} and stop {stop} must be finite and > 0"
            )));
        }
    }
    // Graphs, currents, clamps and parameters are checked when the network is built.
    Ok(())
}
