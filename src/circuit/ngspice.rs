//! Running ngspice in batch mode and reading its binary raw file.

use crate::{Error, Result};
use std::path::Path;
use std::process::Command;

/// One analysis ngspice wrote (`Plotname`): variable names and rows of values.
#[derive(Clone, Debug)]
pub struct Plot {
    /// `Operating Point`, `Transient Analysis`, …
    pub name: String,
    /// Variable names as ngspice writes them (`time`, `v(u3)`, `i(vu0)`), lower case.
    pub variables: Vec<String>,
    /// One row per point, one value per variable.
    pub rows: Vec<Vec<f64>>,
}

impl Plot {
    /// Index of variable `name` (case-insensitive), e.g. `v(u3)`.
    pub fn index(&self, name: &str) -> Result<usize> {
        let name = name.to_ascii_lowercase();
        self.variables
            .iter()
            .position(|v| *v == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "ngspice wrote no variable {name} in '{}'",
                    self.name
                ))
            })
    }

    /// The values of variable `name` at every point.
    pub fn column(&self, name: &str) -> Result<Vec<f64>> {
        let i = self.index(name)?;
        Ok(self.rows.iter().map(|r| r[i]).collect())
    }
}

/// What a batch run of ngspice produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Run {
    /// The analyses, in the order of the deck.
    #[serde(skip)]
    pub plots: Vec<Plot>,
    /// `Total elapsed time (seconds)` as ngspice reports it (`.options acct`).
    pub elapsed_seconds: Option<f64>,
    /// `Maximum ngspice program size` in MB.
    pub max_memory_mb: Option<f64>,
    /// Wall time of the process as we measured it, seconds.
    pub wall_seconds: f64,
}

impl Run {
    /// The first plot whose name starts with `prefix` (`Operating`, `Transient`).
    pub fn plot(&self, prefix: &str) -> Result<&Plot> {
        self.plots
            .iter()
            .find(|p| p.name.starts_with(prefix))
            .ok_or_else(|| Error::Invalid(format!("ngspice wrote no '{prefix}…' analysis")))
    }
}

/// Whether an `ngspice` executable runs here.
pub fn available() -> bool {
    Command::new("ngspice")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `ngspice -n -b -r <dir>/out.raw <dir>/deck.cir` on `deck` and reads every analysis.
/// ngspice's errors (a missing executable, a deck it rejects, an analysis that fails to
/// converge) come back as errors with its own message.
pub fn run(deck: &str, dir: &Path) -> Result<Run> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let cir = dir.join("deck.cir");
    let raw = dir.join("out.raw");
    std::fs::write(&cir, deck).map_err(|e| Error::io(&cir, e))?;
    let _ = std::fs::remove_file(&raw);
    let t0 = std::time::Instant::now();
    let out = Command::new("ngspice")
        .arg("-n") // no user or system init file (it could change the raw file's format)
        .arg("-b")
        .arg("-r")
        .arg(&raw)
        .arg(&cir)
        .output()
        .map_err(|e| {
            Error::Invalid(format!(
                "cannot run ngspice ({e}); install it (Debian: apt-get install ngspice)"
            ))
        })?;
    let wall_seconds = t0.elapsed().as_secs_f64();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let failed = text.lines().find(|l| {
        let l = l.trim_start().to_ascii_lowercase();
        l.starts_with("error")
            || l.contains("timestep too small")
            || l.contains("iteration limit reached")
            || l.contains("simulation(s) aborted")
    });
    if !out.status.success() || failed.is_some() {
        return Err(Error::Invalid(format!(
            "ngspice failed ({}): {}",
            out.status,
            failed.unwrap_or("see its output").trim()
        )));
    }
    let bytes = std::fs::read(&raw).map_err(|e| Error::io(&raw, e))?;
    let plots = parse_raw(&bytes).map_err(|msg| Error::Parse {
        path: raw.clone(),
        line: None,
        msg,
    })?;
    Ok(Run {
        plots,
        elapsed_seconds: report(&text, "Total elapsed time (seconds) ="),
        max_memory_mb: report(&text, "Maximum ngspice program size ="),
        wall_seconds,
    })
}

/// The number after `key` on ngspice's accounting line (`… = 0.056`, `… =   21.859 MB.`).
fn report(text: &str, key: &str) -> Option<f64> {
    let rest = text.lines().find_map(|l| l.trim().strip_prefix(key))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Parses a binary raw file: for each plot a text header (`Plotname:`, `Flags: real`,
/// `No. Variables:`, `No. Points:`, `Variables:` lines, `Binary:`) then points × variables
/// little-endian f64.
pub fn parse_raw(mut b: &[u8]) -> std::result::Result<Vec<Plot>, String> {
    let mut plots = Vec::new();
    while !b.is_empty() {
        let (mut name, mut nvars, mut npoints, mut vars) = (String::new(), 0, 0, Vec::new());
        let mut in_vars = false;
        loop {
            let end = b
                .iter()
                .position(|&c| c == b'\n')
                .ok_or("raw file ends inside a header")?;
            let line = String::from_utf8_lossy(&b[..end]).into_owned();
            b = &b[end + 1..];
            let field = |key: &str| line.strip_prefix(key).map(|r| r.trim().to_string());
            if line.starts_with("Binary:") {
                break;
            } else if in_vars {
                let mut parts = line.split_whitespace();
                let name = parts.nth(1).ok_or(format!("bad variable line '{line}'"))?;
                vars.push(name.to_ascii_lowercase());
            } else if let Some(v) = field("Plotname:") {
                name = v;
            } else if let Some(v) = field("Flags:") {
                if !v.contains("real") {
                    return Err(format!(
                        "plot '{name}' has flags '{v}'; only real data is read"
                    ));
                }
            } else if let Some(v) = field("No. Variables:") {
                nvars = v.parse().map_err(|_| format!("bad variable count '{v}'"))?;
            } else if let Some(v) = field("No. Points:") {
                npoints = v.parse().map_err(|_| format!("bad point count '{v}'"))?;
            } else if line.starts_with("Variables:") {
                in_vars = true;
            }
        }
        if vars.len() != nvars || nvars == 0 {
            return Err(format!(
                "plot '{name}': {} variables listed, {nvars} declared",
                vars.len()
            ));
        }
        let need = nvars
            .checked_mul(npoints)
            .and_then(|n| n.checked_mul(8))
            .filter(|&n| n <= b.len())
            .ok_or(format!(
                "plot '{name}': {npoints} points of {nvars} values do not fit the file"
            ))?;
        let rows = b[..need]
            .chunks_exact(8 * nvars)
            .map(|row| {
                row.chunks_exact(8)
                    .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes")))
                    .collect()
            })
            .collect();
        b = &b[need..];
        plots.push(Plot {
            name,
            variables: vars,
            rows,
        });
    }
    Ok(plots)
}
