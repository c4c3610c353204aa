//! `fhn export spice`: a network file or a trained checkpoint as an ngspice netlist, and with
//! `--check` ngspice's operating point against our steady state (docs/CIRCUIT.md).

use crate::cli::{print_json, write_json};
use clap::{Args, Subcommand};
use fhn_eqprop::circuit::compare::{
    flat, model_steady, operating_point, polish, relative_difference,
};
use fhn_eqprop::circuit::layered::layered_circuit;
use fhn_eqprop::circuit::netlist::count;
use fhn_eqprop::circuit::{netlist, Analyses, Indexed, NodeNames, Nudge};
use fhn_eqprop::network::{FhnNetwork, State};
use fhn_eqprop::stability::stability;
use fhn_eqprop::train::{checkpoint, evaluate, load_data};
use fhn_eqprop::{netfile, Error, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Arguments of `fhn export`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    what: ExportKind,
}

#[derive(Subcommand)]
enum ExportKind {
    /// An ngspice netlist of a network file (.toml) or of a trained checkpoint (.safetensors)
    /// with test images as inputs.
    Spice(SpiceArgs),
}

/// Arguments of `fhn export spice`.
#[derive(Args)]
pub struct SpiceArgs {
    /// A network file (.toml, docs/NETWORK_FILE.md) or a checkpoint of `fhn train`
    /// (.safetensors, FHN kind).
    file: PathBuf,
    /// The netlist to write; with several inputs, one per input (`net-7.cir` for image 7).
    #[arg(short, long)]
    out: PathBuf,
    /// Checkpoints: the test images to use as inputs: `7`, `0..10` or `1,5,9`.
    #[arg(long, default_value = "0")]
    input: String,
    /// Add the EqProp nudge of strength β (network file: towards its `outputs`; checkpoint:
    /// towards each image's label with the run's targets and cost scale); negative for −β.
    #[arg(long, allow_hyphen_values = true)]
    nudge: Option<f64>,
    /// Add `.tran STEP STOP uic` (a transient from rest), e.g. `--tran 0.01,50`.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    tran: Option<Vec<f64>>,
    /// Write our steady state into the deck as `.nodeset` (ngspice's Newton starts there).
    #[arg(long)]
    nodeset: bool,
    /// Run ngspice on each deck (from zero) and compare its operating point with our steady
    /// state; the report goes to `<out>.check.json`.
    #[arg(long)]
    check: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `fhn export`.
pub fn export(a: ExportArgs) -> Result<()> {
    match a.what {
        ExportKind::Spice(s) => spice(s),
    }
}

/// One deck to write: the network, its names, its nudge and what to report with it.
struct Deck {
    net: FhnNetwork,
    names: Box<dyn NodeNames>,
    nudge: Option<Nudge>,
    path: PathBuf,
    /// Output nodes for the class comparison (checkpoints).
    outputs: Vec<usize>,
    /// The model's own free state (checkpoints), polished by Newton into "our steady state";
    /// without it, time stepping from rest and Newton.
    start: Option<State>,
    info: Value,
}

fn spice(a: SpiceArgs) -> Result<()> {
    if let Some(b) = a.nudge {
        if !b.is_finite() || b == 0.0 {
            return Err(Error::Invalid(format!("--nudge {b}: a finite, non-zero β")));
        }
    }
    let tran = match a.tran.as_deref() {
        None => None,
        Some([step, stop]) => Some((*step, *stop)),
        Some(other) => {
            return Err(Error::Invalid(format!(
                "--tran takes STEP,STOP, got {other:?}"
            )))
        }
    };
    // One deck at a time: built, written, checked and dropped (a checkpoint's decks are large).
    let mut report = Vec::new();
    let mut each = |d: Deck| -> Result<()> {
        let entry = process(&a, &d, tran)?;
        if !a.json {
            summarise(&entry);
        }
        report.push(entry);
        Ok(())
    };
    if a.file.extension().is_some_and(|e| e == "safetensors") {
        checkpoint_decks(&a, &mut each)?;
    } else {
        each(network_deck(&a)?)?;
    }
    if a.check {
        let path = PathBuf::from(format!("{}.check.json", a.out.display()));
        write_json(&path, &report)?;
        if !a.json {
            outln!("report: {}", path.display());
        }
    }
    if a.json {
        print_json(&report)?;
    }
    Ok(())
}

/// Writes one deck (our steady state as `.nodeset` when asked) and, with `--check`, compares
/// ngspice's operating points with our steady state.
fn process(a: &SpiceArgs, d: &Deck, tran: Option<(f64, f64)>) -> Result<Value> {
    let ours = match (&d.start, a.nodeset || a.check) {
        (_, false) => None,
        (Some(start), true) => Some(polish(&d.net, start, d.nudge.as_ref())?),
        (None, true) => Some(model_steady(&d.net, d.nudge.as_ref())?),
    };
    let analyses = Analyses {
        op: true,
        nodeset: ours.clone().filter(|_| a.nodeset),
        tran,
        reltol: 0.0,
    };
    let title = match &d.info {
        Value::String(s) => s.clone(),
        info => format!("{} {info}", a.file.display()),
    };
    let text = netlist(
        &d.net,
        d.names.as_ref(),
        d.nudge.as_ref(),
        &analyses,
        &title,
    )?;
    fhn_eqprop::io::write_atomic(&d.path, text.as_bytes())?;
    let counts = count(&d.net, d.nudge.as_ref());
    let mut entry =
        json!({"deck": d.path, "elements": counts.total(), "counts": counts, "input": d.info});
    if let (true, Some(ours)) = (a.check, ours) {
        entry["check"] = check(d, &ours)?;
    }
    Ok(entry)
}

fn summarise(e: &Value) {
    outln!(
        "wrote {} ({} elements)",
        e["deck"].as_str().unwrap_or("?"),
        e["elements"]
    );
    let Some(c) = e.get("check") else { return };
    for (key, what) in [
        ("from_model_state", "from our state"),
        ("from_zero", "from zero"),
    ] {
        let r = &c[key];
        let class = match (&c["model"]["class"], &r["class"]) {
            (Value::Null, _) => String::new(),
            (m, c) => format!(", class: model {m}, circuit {c}"),
        };
        outln!(
            "  ngspice .op {what}: relative difference {:.2e} to our steady state, residual \
             {:.1e}, stable {}{class}",
            r["relative_difference"].as_f64().unwrap_or(f64::NAN),
            r["residual"].as_f64().unwrap_or(f64::NAN),
            r["stable"]
        );
    }
    outln!(
        "  ngspice: {} s, {} MB",
        c["ngspice_seconds"],
        c["ngspice_memory_mb"]
    );
}

/// ngspice's operating point started from our steady state `ours` (`.nodeset`) and from zero,
/// each against `ours`; the stability of each state where it can be computed (≤ 600 free nodes).
fn check(d: &Deck, ours: &State) -> Result<Value> {
    let dir = std::env::temp_dir().join(format!("fhn-export-{}", std::process::id()));
    let nudge = d.nudge.as_ref();
    let from_ours = operating_point(&d.net, d.names.as_ref(), nudge, Some(ours), &dir);
    let from_zero = operating_point(&d.net, d.names.as_ref(), nudge, None, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let (from_ours, run) = from_ours?;
    let out = |s: &State| d.outputs.iter().map(|&o| s.u[o]).collect::<Vec<_>>();
    let argmax = |s: &State| {
        out(s)
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k)
    };
    let stable = |s: &State| stability(&d.net, s).ok().and_then(|st| st.stable);
    let residual = |s: &State| d.net.residual(s, nudge.map(|n| (&n.cost, n.conductance)));
    let versus = |s: &State| {
        json!({
            "relative_difference": relative_difference(&flat(s), &flat(ours)),
            "output_relative_difference": (!d.outputs.is_empty())
                .then(|| relative_difference(&out(s), &out(ours))),
            "class": argmax(s),
            "residual": residual(s),
            "stable": stable(s),
        })
    };
    Ok(json!({
        "model": {"class": argmax(ours), "residual": residual(ours), "stable": stable(ours)},
        "from_model_state": versus(&from_ours),
        // Newton from zero may fail where Newton from our state does not: a finding, not an error.
        "from_zero": match &from_zero {
            Ok((s, _)) => versus(s),
            Err(e) => json!({"error": e.to_string()}),
        },
        "ngspice_seconds": run.elapsed_seconds,
        "ngspice_seconds_from_zero": from_zero.as_ref().ok().and_then(|r| r.1.elapsed_seconds),
        "ngspice_memory_mb": run.max_memory_mb,
    }))
}

fn network_deck(a: &SpiceArgs) -> Result<Deck> {
    let spec = netfile::load(&a.file)?;
    let nudge = match (a.nudge, spec.cost) {
        (Some(beta), Some(cost)) => Some(Nudge {
            cost,
            conductance: beta,
        }),
        (Some(_), None) => {
            return Err(Error::Invalid(format!(
                "--nudge needs `outputs` in {}",
                a.file.display()
            )))
        }
        _ => None,
    };
    Ok(Deck {
        net: spec.network,
        names: Box::new(Indexed),
        nudge,
        path: a.out.clone(),
        outputs: vec![],
        start: None,
        info: json!(a.file),
    })
}

/// `7`, `0..10` or `1,5,9`, each below `len`.
pub fn parse_inputs(s: &str, len: usize) -> Result<Vec<usize>> {
    let bad = || Error::Invalid(format!("--input '{s}': give `7`, `0..10` or `1,5,9`"));
    let list: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let (a, b): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        (a..b).collect()
    } else {
        s.split(',')
            .map(|x| x.trim().parse().map_err(|_| bad()))
            .collect::<Result<_>>()?
    };
    if list.is_empty() {
        return Err(bad());
    }
    if let Some(i) = list.iter().find(|&&i| i >= len) {
        return Err(Error::Invalid(format!(
            "--input {i}: the test split has {len} images"
        )));
    }
    Ok(list)
}

fn numbered(out: &Path, i: usize) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    out.with_file_name(format!("{stem}-{i}{ext}"))
}

fn checkpoint_decks(a: &SpiceArgs, each: &mut dyn FnMut(Deck) -> Result<()>) -> Result<()> {
    let c = checkpoint::load(&a.file)?;
    let net = c.net.to_f64();
    fhn_eqprop::circuit::layered::check_size(&net)?;
    let data = load_data(&c.config)?;
    let inputs = parse_inputs(&a.input, data.test.len())?;
    let scale = c.config.data.input_scale / 255.0;
    let t = &c.config.training;
    for &i in &inputs {
        let x: Vec<f64> = data
            .test
            .image(i)
            .iter()
            .map(|&p| p as f64 * scale)
            .collect();
        let circuit = layered_circuit(&net, &x)?;
        let start = (a.check || a.nodeset)
            .then(|| net.relaxed_graph_state(&x, t.solver, t.dt, t.eval_steps))
            .transpose()?;
        let label = data.test.labels[i] as usize;
        let nudge = a
            .nudge
            .map(|beta| circuit.nudge(label, t.target_on, t.target_off, t.cost_scale, beta));
        // The trainer's own evaluation (f32, its solver and steps) of this one image.
        let trained = evaluate(&c.net, &c.config, &data.test.slice(i..i + 1), 1)?;
        each(Deck {
            path: if inputs.len() == 1 {
                a.out.clone()
            } else {
                numbered(&a.out, i)
            },
            outputs: circuit.outputs,
            start,
            names: Box::new(circuit.names),
            net: circuit.net,
            nudge,
            info: json!({"test_image": i, "label": label, "trained_model_correct": trained.error == 0.0}),
        })?;
    }
    Ok(())
}
