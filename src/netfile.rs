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
mod tests {
    #[test]
    fn a_written_file_parses_back_to_the_same_network() {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ring.toml");
        let spec = super::load(&p).unwrap();
        let text = super::RawNetwork::of(&spec).to_toml();
        let back = super::parse(&text, &p).unwrap();
        assert_eq!(back.network.activator, spec.network.activator);
        assert_eq!(back.network.inhibitor, spec.network.inhibitor);
        assert_eq!(back.network.current, spec.network.current);
        assert_eq!(back.network.clamps, spec.network.clamps);
        assert_eq!(back.network.params, spec.network.params);
        assert_eq!(back.cost, spec.cost);
        let mut raw = super::RawNetwork::of(&spec);
        raw.currents.push((3, f64::NAN));
        let e = super::parse(&raw.to_toml(), &p).unwrap_err().to_string();
        assert!(e.contains("currents entry 2"), "{e}");
    }

    use super::*;

    fn parse_str(s: &str) -> Result<NetworkSpec> {
        parse(s, Path::new("test.toml"))
    }

    #[test]
    fn parses_the_example_file() {
        let spec = load(Path::new("examples/ring.toml")).unwrap();
        assert!(spec.network.n() >= 10);
        assert!(spec.cost.is_some());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let text = "nodes = 3\nactivator_edges = [\n  [0, 1, 1.0],\n  [1, 1, 1.0],\n]\n";
        let e = parse_str(text).unwrap_err().to_string();
        assert!(e.contains("test.toml:4") && e.contains("self-loop"), "{e}");
        let e = parse_str("nodes = 3\nactivator_edges = [[0, 7, 1.0]]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2") && e.contains("outside"), "{e}");
        let e = parse_str("nodes = 3\nactivator_edges = [[0, 1, nan]]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-finite"), "{e}");
        let e = parse_str("nodes = 0\n").unwrap_err().to_string();
        assert!(e.contains("no nodes"), "{e}");
        let e = parse_str("nodes = 3\nactivator_edges = [[0, 1, 1.0]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml:"), "{e}");
        let e = parse_str("nodes = 3\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = parse_str("nodes = 3\n[params]\neps = -1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("eps"), "{e}");
    }

    #[test]
    fn absurd_sizes_are_refused_before_allocating() {
        for n in ["9223372036854775807", "1000000000", "1000001"] {
            let e = parse_str(&format!("# big\nnodes = {n}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("test.toml:2") && e.contains("at most 1000000"),
                "{e}"
            );
        }
        assert_eq!(
            parse_str("nodes = 1000000\n").unwrap().network.n(),
            MAX_NODES
        );
    }

    #[test]
    fn crlf_and_multibyte_text_before_an_error_give_its_line() {
        let text = "# a\r\n# b\r\nnodes = 3 # réseau ✓\r\nactivator_edges = [\r\n  [0, 1, 1.0],\r\n  [1, 1, 1.0],\r\n]\r\n";
        let e = parse_str(text).unwrap_err().to_string();
        assert!(e.contains("test.toml:6") && e.contains("self-loop"), "{e}");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Values that exercise every check: huge, negative and non-finite numbers, arrays
        /// of the right and wrong shapes, strings, tables.
        fn value() -> impl Strategy<Value = String> {
            let int = prop_oneof![
                0i64..6,
                Just(-1i64),
                Just(1_000_000),
                Just(1_000_001),
                Just(i64::MAX),
                any::<i64>(),
            ];
            let num = prop_oneof![
                int.clone().prop_map(|i| i.to_string()),
                Just("nan".to_string()),
                Just("-inf".to_string()),
                Just("1e308".to_string()),
                Just("1e200".to_string()),
                (-3.0f64..3.0).prop_map(|x| format!("{x:?}")),
            ];
            let entry = proptest::collection::vec(num.clone(), 0..4)
                .prop_map(|xs| format!("[{}]", xs.join(", ")));
            prop_oneof![
                num,
                proptest::collection::vec(entry, 0..5)
                    .prop_map(|es| format!("[{}]", es.join(",\n  "))),
                Just("\"parra-rivas\"".to_string()),
                Just("\"é✓\"".to_string()),
                Just("{ a = 1 }".to_string()),
                Just("[".to_string()),
            ]
        }

        fn toml_ish() -> impl Strategy<Value = String> {
            let key = prop_oneof![
                Just("nodes"),
                Just("activator_edges"),
                Just("inhibitor_edges"),
                Just("currents"),
                Just("clamps"),
                Just("outputs"),
                Just("preset"),
                Just("delta"),
                Just("eps"),
                Just("alpha"),
                Just("tau_u"),
                Just("bogus"),
            ];
            let line = prop_oneof![
                4 => (key, value()).prop_map(|(k, v)| format!("{k} = {v}")),
                1 => Just("[params]".to_string()),
                1 => Just("# commentaire é".to_string()),
                1 => "[ -~]{0,12}",
            ];
            (
                0i64..8,
                proptest::collection::vec(line, 0..8),
                any::<bool>(),
            )
                .prop_map(|(n, lines, crlf)| {
                    let body = lines.join(if crlf { "\r\n" } else { "\n" });
                    format!("nodes = {n}\n{body}\n")
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let text = String::from_utf8_lossy(&bytes);
                let _ = parse(&text, Path::new("fuzz.toml"));
            }

            #[test]
            fn toml_ish_text_never_panics(text in toml_ish()) {
                match parse(&text, Path::new("fuzz.toml")) {
                    Ok(spec) => prop_assert!(spec.network.n() <= MAX_NODES),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
}
