//! `fhn`: the command-line front end (see README.md for a tour).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "fhn",
    version,
    about = "Equilibrium Propagation in diffusive FitzHugh–Nagumo networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Steady state of a network file (time stepping + Newton polishing).
    Steady(cli::physics::SteadyArgs),
    /// Time simulation of a network file, or `turing` for the Turing-pattern demo.
    Simulate(cli::physics::SimulateArgs),
    /// Numerical checks: energy, adjoint (self-adjointness), gradient (EqProp vs exact).
    Check(cli::physics::CheckArgs),
    /// Train a layered FHN (or Hopfield) network with EqProp on MNIST.
    Train(cli::train::TrainArgs),
    /// Layer-wise (Hamiltonian) inference: forward recursion vs steady state, stable sweep.
    Hamiltonian(cli::hamiltonian::HamiltonianArgs),
    /// Run a sweep (a grid or list of configurations × seeds, each a run folder) and gather
    /// its table; shares the runs among MPI ranks or Slurm array tasks, and resumes.
    Sweep(cli::sweep::SweepArgs),
    /// Evaluate a checkpoint on the test (or validation) split.
    Eval(cli::train::EvalArgs),
    /// Gradient quality of a checkpoint: the trainer's EqProp estimate vs the exact gradient,
    /// per weight layer.
    Probe(cli::train::ProbeArgs),
    /// Export as a circuit: `fhn export spice` writes an ngspice netlist (and checks it).
    Export(cli::export::ExportArgs),
    /// Test error of a checkpoint with k-bit, mismatched or passive-only conductances.
    Hardware(cli::hardware::HardwareArgs),
    /// Time (or dump for a cross-check) the EqProp training step; see bench/reference/.
    BenchStep(cli::bench::BenchStepArgs),
    /// Steps and time to reach residuals 1e-4 / 1e-6 per equilibrium solver on a test batch.
    BenchSolvers(cli::solvers::BenchSolversArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print to stdout and succeed; every usage error exits 1.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Steady(a) => cli::physics::steady(a),
        Command::Simulate(a) => cli::physics::simulate(a),
        Command::Check(a) => cli::physics::check(a),
        Command::Train(a) => cli::train::train(a),
        Command::Sweep(a) => cli::sweep::sweep(a),
        Command::Eval(a) => cli::train::eval(a),
        Command::Probe(a) => cli::train::probe(a),
        Command::Hamiltonian(a) => cli::hamiltonian::hamiltonian(a),
        Command::Export(a) => cli::export::export(a),
        Command::Hardware(a) => cli::hardware::hardware(a),
        Command::BenchStep(a) => cli::bench::bench_step(a),
        Command::BenchSolvers(a) => cli::solvers::bench_solvers(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            if !cli::errors_are_quiet() {
                let _ = writeln!(std::io::stderr(), "error: {e}");
            }
            ExitCode::from(1)
        }
    }
}
