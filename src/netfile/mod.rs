//! The user network file (TOML), documented in docs/NETWORK_FILE.md.
//!
//! ```toml
//! nodes = 4
//! [params]              # optional; start from a preset, then override fields
//! preset = "table1"     # "table1" (default) or "parra-rivas"
//! delta = 0.5           # Parra-Rivas: d_u = δ²
//! eps = 0.85
//! activator_edges = [[0, 1, 1.0], [1, 2, -0.3]]   # [a, b, conductance]
//! inhibitor_edges = [[0, 1, 1.0]]
//! currents = [[3, 0.2]]                            # [node, injected current]
//! clamps = [[0, 0.5, 0.0]]                         # [node, u, v]
//! outputs = [[3, 0.8]]                             # [node, target] for `check gradient`
//! ```
//! Top-level keys must precede `[params]` (TOML tables swallow the keys that follow them).
//! At most [`MAX_NODES`] nodes: larger sizes are refused before anything is allocated.

use crate::error::{Error, Result};
use crate::graph::{Edge, Graph};
use crate::model::FhnParams;
use crate::network::{Clamp, Cost, FhnNetwork};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    preset: Option<String>,
    delta: Option<f64>,
    tau_u: Option<f64>,
    tau_v: Option<f64>,
    d_u: Option<f64>,
    d_v: Option<f64>,
    eps: Option<f64>,
    alpha: Option<f64>,
    beta: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    nodes: usize,
    params: Option<RawParams>,
    #[serde(default)]
    activator_edges: Vec<(usize, usize, f64)>,
    #[serde(default)]
    inhibitor_edges: Vec<(usize, usize, f64)>,
    #[serde(default)]
    currents: Vec<(usize, f64)>,
    #[serde(default)]
    clamps: Vec<(usize, f64, f64)>,
    #[serde(default)]
    outputs: Vec<(usize, f64)>,
}

/// Largest `nodes` a network file may declare. Reading the file, time stepping (state, seven
/// Runge–Kutta stages, Laplacians) and the snapshots of `simulate` take about 2 kB per node
/// (184 MB measured at 10⁵ nodes): a few GB at this limit; `nodes = 1000000000` would need
/// terabytes and is refused before anything is allocated.
pub const MAX_NODES: usize = 1_000_000;

/// A parsed network file: the network and, if given, a cost on output nodes.
#[derive(Debug)]
pub struct NetworkSpec {
    /// The network.
    pub network: FhnNetwork,
    /// The output cost (`outputs`), if any.
    pub cost: Option<Cost>,
}

/// 1-based line of the first line that starts with `key` (best effort).
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
}

/// 1-based line of the `index`-th entry of the array `key` in `text` (best effort; works on
/// any text, `\r\n` line ends and multi-byte characters included).
fn entry_line(text: &str, key: &str, index: usize) -> Option<usize> {
    let mut offset = 0;
    let mut start = None;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if l.trim_start().starts_with(key) {
            start = Some(i);
            break;
        }
        offset += l.len();
    }
    let start = start?;
    let (mut depth, mut count, mut line) = (0i32, 0usize, start + 1);
    for ch in text.get(offset..)?.chars() {
        match ch {
            '\n' => line += 1,
            '[' => {
                depth += 1;
                if depth == 2 {
                    if count == index {
                        return Some(line);
                    }
                    count += 1;
                }
            }
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

fn params_from(raw: Option<RawParams>) -> std::result::Result<FhnParams, String> {
    let Some(r) = raw else {
        return Ok(FhnParams::table1());
    };
    let mut p = match r.preset.as_deref().unwrap_or("table1") {
        "table1" => FhnParams::table1(),
        "parra-rivas" => FhnParams::parra_rivas(1.0, 1.0, 1.0, 0.0),
        other => {
            return Err(format!(
                "unknown params preset '{other}' (table1, parra-rivas)"
            ))
        }
    };
    if let Some(d) = r.delta {
        p.d_u = d * d;
    }
    let set = |dst: &mut f64, x: Option<f64>| {
        if let Some(x) = x {
            *dst = x;
        }
    };
    set(&mut p.tau_u, r.tau_u);
    set(&mut p.tau_v, r.tau_v);
    set(&mut p.d_u, r.d_u);
    set(&mut p.d_v, r.d_v);
    set(&mut p.eps, r.eps);
    set(&mut p.alpha, r.alpha);
    set(&mut p.beta, r.beta);
    p.validate().map_err(Error::message)?;
    Ok(p)
}

/// Parses a network file's text; `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<NetworkSpec> {
    let err = |line: Option<usize>, msg: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| {
            let before = text.as_bytes().get(..s.start).unwrap_or(text.as_bytes());
            before.iter().filter(|&&b| b == b'\n').count() + 1
        });
        err(line, e.message().to_string())
    })?;
    if raw.nodes == 0 {
        return Err(err(
            key_line(text, "nodes"),
            "the network has no nodes (nodes = 0)".into(),
        ));
    }
    if raw.nodes > MAX_NODES {
        return Err(err(
            key_line(text, "nodes"),
            format!(
                "nodes = {} is more than this program handles (at most {MAX_NODES}; see \
                 docs/NETWORK_FILE.md)",
                raw.nodes
            ),
        ));
    }
    let params = params_from(raw.params).map_err(|m| err(key_line(text, "[params]"), m))?;
    let n = raw.nodes;
    let graph = |key: &str, list: &[(usize, usize, f64)]| -> Result<Graph> {
        let edges: Vec<Edge> = list.iter().map(|&(a, b, g)| Edge { a, b, g }).collect();
        if let Some((i, why)) = Graph::first_bad_edge(n, &edges) {
            return Err(err(
                entry_line(text, key, i),
                format!("{key}: edge {i} {why}"),
            ));
        }
        Graph::new(n, edges)
    };
    let g1 = graph("activator_edges", &raw.activator_edges)?;
    let g2 = graph("inhibitor_edges", &raw.inhibitor_edges)?;
    let mut current = vec![0.0; n];
    for (i, &(node, c)) in raw.currents.iter().enumerate() {
        if node >= n || !c.is_finite() {
            let why = if node >= n {
                format!("node {node} outside 0..{n}")
            } else {
                format!("non-finite current {c}")
            };
            return Err(err(
                entry_line(text, "currents", i),
                format!("currents entry {i}: {why}"),
            ));
        }
        current[node] += c;
    }
    let clamps = raw
        .clamps
        .iter()
        .map(|&(node, u, v)| Clamp { node, u, v })
        .collect();
    let network =
        FhnNetwork::new(params, g1, g2, current, clamps).map_err(|e| err(None, e.message()))?;
    let cost = if raw.outputs.is_empty() {
        None
    } else {
        for (i, &(node, y)) in raw.outputs.iter().enumerate() {
            if node >= n || !y.is_finite() {
                return Err(err(
                    entry_line(text, "outputs", i),
                    format!("outputs entry {i}: bad node {node} or target {y}"),
                ));
            }
        }
        Some(Cost {
            outputs: raw.outputs.iter().map(|o| o.0).collect(),
            targets: raw.outputs.iter().map(|o| o.1).collect(),
        })
    };
    Ok(NetworkSpec { network, cost })
}

/// Reads and parses a network file.
pub fn load(path: &Path) -> Result<NetworkSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path)
}

/// A network file's contents as plain lists (what the file's keys hold), for writing files and
/// for building networks from arrays through the same parser and checks.
#[derive(Clone, Debug)]
pub struct RawNetwork {
    /// `nodes`.
    pub nodes: usize,
    /// `activator_edges`: (a, b, conductance).
    pub activator_edges: Vec<(usize, usize, f64)>,
    /// `inhibitor_edges`.
    pub inhibitor_edges: Vec<(usize, usize, f64)>,
    /// `currents`: (node, I).
    pub currents: Vec<(usize, f64)>,
    /// `clamps`: (node, u, v).
    pub clamps: Vec<(usize, f64, f64)>,
    /// `outputs`: (node, target).
    pub outputs: Vec<(usize, f64)>,
    /// `[params]` (all seven values).
    pub params: FhnParams,
}

impl RawNetwork {
    /// The lists of a parsed network (non-zero currents only).
    pub fn of(spec: &NetworkSpec) -> Self {
        let net = &spec.network;
        let edges = |g: &Graph| g.edges.iter().map(|e| (e.a, e.b, e.g)).collect();
        Self {
            nodes: net.n(),
            activator_edges: edges(&net.activator),
            inhibitor_edges: edges(&net.inhibitor),
            currents: (0..net.n())
                .filter(|&i| net.current[i] != 0.0)
                .map(|i| (i, net.current[i]))
                .collect(),
            clamps: net.clamps.iter().map(|c| (c.node, c.u, c.v)).collect(),
            outputs: spec
                .cost
                .as_ref()
                .map(|c| {
                    c.outputs
                        .iter()
                        .copied()
                        .zip(c.targets.iter().copied())
                        .collect()
                })
                .unwrap_or_default(),
            params: net.params,
        }
    }

    /// The file's text; numbers in shortest round-trip form, so [`parse`] gives back exactly
    /// these values (non-finite numbers are written as TOML's `nan`/`inf`, which [`parse`]
    /// refuses with the entry's line).
    pub fn to_toml(&self) -> String {
        use std::fmt::Write;
        let f = |x: f64| {
            if x.is_finite() {
                format!("{x:e}")
            } else if x.is_nan() {
                "nan".into()
            } else if x > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }
        };
        let mut t = format!("nodes = {}\n", self.nodes);
        let mut list = |key: &str, items: Vec<String>| {
            let _ = writeln!(t, "{key} = [");
            for i in items {
                let _ = writeln!(t, "  [{i}],");
            }
            let _ = writeln!(t, "]");
        };
        let edges = |l: &[(usize, usize, f64)]| {
            l.iter()
                .map(|&(a, b, g)| format!("{a}, {b}, {}", f(g)))
                .collect()
        };
        list("activator_edges", edges(&self.activator_edges));
        list("inhibitor_edges", edges(&self.inhibitor_edges));
        list(
            "currents",
            self.currents
                .iter()
                .map(|&(n, c)| format!("{n}, {}", f(c)))
                .collect(),
        );
        list(
            "clamps",
            self.clamps
                .iter()
                .map(|&(n, u, v)| format!("{n}, {}, {}", f(u), f(v)))
                .collect(),
        );
        list(
            "outputs",
            self.outputs
                .iter()
                .map(|&(n, y)| format!("{n}, {}", f(y)))
                .collect(),
        );
        let p = &self.params;
        let _ = write!(
            t,
            "\n[params]\ntau_u = {}\ntau_v = {}\nd_u = {}\nd_v = {}\neps = {}\nalpha = {}\nbeta = {}\n",
            f(p.tau_u),
            f(p.tau_v),
            f(p.d_u),
            f(p.d_v),
            f(p.eps),
            f(p.alpha),
            f(p.beta)
        );
        t
    }
}

#[cfg(test)]
mod tests;
