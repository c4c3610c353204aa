//! `fhn bench-solvers`: iterations and time to reach a residual, per equilibrium solver.

use clap::Args;
use faer::{Mat, Par};
use fhn_eqprop::layered::{LayeredNet, Phase, Real, Solver};
use fhn_eqprop::train::checkpoint;
use fhn_eqprop::train::load_data;
use fhn_eqprop::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `fhn bench-solvers`.
#[derive(Args)]
pub struct BenchSolversArgs {
    /// A checkpoint (`fhn train` output) whose network and data settings are used.
    checkpoint: PathBuf,
    /// Examples (the first of the test split).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Give up after this many steps.
    #[arg(long, default_value_t = 20_000)]
    max_steps: usize,
    /// Write the rows as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// One solver configuration of the comparison.
struct SolverCase {
    name: &'static str,
    solver: Solver,
    dt: f64,
    memory: usize,
}

/// `fhn bench-solvers`: force evaluations (= GEMM-equivalents: one relaxation step costs two
/// GEMMs per hidden weight layer) and wall time for the free phase of a test batch to reach
/// ‖∂Φ/∂s‖∞ ≤ 1e-4 and 1e-6, per solver, in f64 and f32, one thread.
pub fn bench_solvers(a: BenchSolversArgs) -> Result<()> {
    let c = checkpoint::load(&a.checkpoint)?;
    let data = load_data(&c.config)?;
    if data.test.is_empty() {
        return Err(Error::Invalid(
            "bench-solvers: the test split is empty".into(),
        ));
    }
    let n = a.batch.clamp(1, data.test.len());
    let scale = c.config.data.input_scale / 255.0;
    let x = Mat::<f64>::from_fn(data.test.pixels, n, |k, b| {
        data.test.image(b)[k] as f64 * scale
    });
    let cases = [
        SolverCase {
            name: "euler dt 0.1 (paper)",
            solver: Solver::Euler,
            dt: 0.1,
            memory: 0,
        },
        SolverCase {
            name: "jacobi dt 0.5",
            solver: Solver::Jacobi,
            dt: 0.5,
            memory: 0,
        },
        SolverCase {
            name: "jacobi dt 1.0",
            solver: Solver::Jacobi,
            dt: 1.0,
            memory: 0,
        },
        SolverCase {
            name: "anderson m=5 dt 0.5",
            solver: Solver::Anderson,
            dt: 0.5,
            memory: 5,
        },
        SolverCase {
            name: "anderson m=10 dt 0.5",
            solver: Solver::Anderson,
            dt: 0.5,
            memory: 10,
        },
        SolverCase {
            name: "anderson m=5 dt 1.0",
            solver: Solver::Anderson,
            dt: 1.0,
            memory: 5,
        },
        SolverCase {
            name: "red-black (exact layers)",
            solver: Solver::RedBlack,
            dt: 0.5,
            memory: 0,
        },
    ];
    let rows = solver_rows(&c.net.to_f64(), &c.net, &x, &cases, a.max_steps)?;
    if let Some(p) = &a.json {
        super::write_json(p, &json!({"checkpoint": a.checkpoint, "rows": rows}))?;
    }
    Ok(())
}

/// A measurement: (steps, seconds, residual), or why the solver failed (diverged…).
type Outcome = std::result::Result<(usize, f64, f64), String>;

/// Runs every case at tolerances 1e-4 and 1e-6 in f64 and f32, printing the table as it goes;
/// a solver that diverges is a row saying so, and the table goes on.
fn solver_rows(
    net64: &LayeredNet<f64>,
    net32: &LayeredNet<f32>,
    x: &Mat<f64>,
    cases: &[SolverCase],
    max_steps: usize,
) -> Result<Vec<serde_json::Value>> {
    let n = x.ncols();
    let x32 = Mat::<f32>::from_fn(x.nrows(), n, |i, j| x[(i, j)] as f32);
    let mut rows = Vec::new();
    outln!(
        "{:<24} {:>5} {:>7} {:>10} {:>10} {:>12}",
        "solver",
        "prec",
        "tol",
        "steps",
        "seconds",
        "residual"
    );
    for case in cases {
        for tol in [1e-4, 1e-6] {
            let r64 = measure(run_case(net64, x.clone(), case, tol, max_steps))?;
            let r32 = measure(run_case(net32, x32.clone(), case, tol, max_steps))?;
            for (prec, r) in [("f64", r64), ("f32", r32)] {
                match r {
                    Ok((steps, secs, res)) => {
                        let reached = res <= tol;
                        outln!(
                            "{:<24} {prec:>5} {tol:>7.0e} {:>10} {secs:>10.3} {res:>12.2e}",
                            case.name,
                            if reached {
                                steps.to_string()
                            } else {
                                format!(">{steps}")
                            }
                        );
                        rows.push(json!({"solver": case.name, "precision": prec, "tol": tol,
                            "steps": steps, "reached": reached, "seconds": secs,
                            "residual": res, "batch": n, "diverged": null}));
                    }
                    Err(why) => {
                        outln!(
                            "{:<24} {prec:>5} {tol:>7.0e} {:>10} ({why})",
                            case.name,
                            "DIVERGED"
                        );
                        rows.push(json!({"solver": case.name, "precision": prec, "tol": tol,
                            "steps": null, "reached": false, "seconds": null,
                            "residual": null, "batch": n, "diverged": why}));
                    }
                }
            }
        }
    }
    Ok(rows)
}

/// A numerical failure of one solver becomes its row's outcome; other errors propagate.
fn measure(r: Result<(usize, f64, f64)>) -> Result<Outcome> {
    match r {
        Ok(x) => Ok(Ok(x)),
        Err(e @ (Error::Diverged(_) | Error::NotConverged { .. } | Error::Singular(_))) => {
            Ok(Err(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

fn run_case<T: Real>(
    net: &LayeredNet<T>,
    x: Mat<T>,
    case: &SolverCase,
    tol: f64,
    max_steps: usize,
) -> Result<(usize, f64, f64)> {
    let mut ws = net.workspace(x.ncols());
    ws.anderson_memory = case.memory;
    let mut st = net.init_state(x);
    let t = std::time::Instant::now();
    net.prepare_input(&st, &mut ws, Par::Seq);
    let dt = T::lit(case.dt);
    let steps = net.relax(
        &mut st,
        &mut ws,
        Phase {
            nudge: None,
            dt,
            max_steps,
            tol,
            solver: case.solver,
        },
        Par::Seq,
    )?;
    let secs = t.elapsed().as_secs_f64();
    // The layered residual is a max that drops NaN: a blown-up state can read as "residual 0,
    // reached". Check the state itself.
    let layers = st.u.iter().chain(&st.v).enumerate();
    for (k, m) in layers {
        let mut entries = (0..m.ncols()).flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]));
        let bad = entries.find(|x| !x.as_f64().is_finite());
        if let Some(x) = bad {
            let (which, l) = if k < st.u.len() {
                ("u", k)
            } else {
                ("v", k - st.u.len())
            };
            return Err(Error::Diverged(format!(
                "{which} = {} in layer {l} after {steps} steps",
                x.as_f64()
            )));
        }
    }
    Ok((steps, secs, net.residual(&st, &mut ws, None, Par::Seq)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhn_eqprop::layered::{Kind, LayeredModel};
    use fhn_eqprop::model::FhnParams;
    use rand::SeedableRng;

    /// Explicit Euler at dt = 50 blows up on the cubic: that row says DIVERGED and the rows
    /// after it are still measured (the table used to stop at the first divergence).
    #[test]
    fn a_diverging_solver_is_a_row_and_the_table_goes_on() {
        let model = LayeredModel {
            widths: vec![6, 5, 3],
            kind: Kind::Fhn,
            fhn: FhnParams::table1(),
            inhibitor_coupling: false,
            leak: 0.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let net64 = LayeredNet::<f64>::random(model.clone(), 0.5, false, &mut rng).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let net32 = LayeredNet::<f32>::random(model, 0.5, false, &mut rng).unwrap();
        let x = Mat::<f64>::from_fn(6, 2, |i, j| 0.1 * (i + j) as f64);
        let case = |name, dt| SolverCase {
            name,
            solver: Solver::Euler,
            dt,
            memory: 0,
        };
        let cases = [case("euler dt 50", 50.0), case("euler dt 0.1", 0.1)];
        let rows = solver_rows(&net64, &net32, &x, &cases, 5000).unwrap();
        assert_eq!(rows.len(), 8);
        assert!(
            rows[..4].iter().all(|r| r["diverged"].is_string()),
            "{rows:?}"
        );
        assert!(
            rows[4..].iter().all(|r| r["diverged"].is_null()),
            "{rows:?}"
        );
        assert!(rows[4..].iter().all(|r| r["reached"] == true), "{rows:?}");
    }
}
