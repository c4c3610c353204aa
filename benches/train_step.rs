//! Throughput of the EqProp training step for the paper architecture, against measured GEMM
//! peak. Run: `cargo bench --bench train_step` (prints a table; nothing is asserted).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use fhn_eqprop::train::config::TrainConfig;
use fhn_eqprop::train::Trainer;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// f32 GEMM GFLOP/s for an m×k by k×n product (median of `reps`).
fn gemm_gflops(m: usize, k: usize, n: usize, par: Par, reps: usize) -> f64 {
    let a = Mat::<f32>::from_fn(m, k, |i, j| ((i * 7 + j * 3) % 11) as f32 * 0.1);
    let b = Mat::<f32>::from_fn(k, n, |i, j| ((i * 5 + j) % 13) as f32 * 0.1);
    let mut c = Mat::<f32>::zeros(m, n);
    matmul(c.as_mut(), Accum::Replace, &a, &b, 1.0, par);
    let times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            matmul(c.as_mut(), Accum::Replace, &a, &b, 1.0, par);
            t.elapsed().as_secs_f64()
        })
        .collect();
    2.0 * (m * k * n) as f64 / median(times) / 1e9
}

fn main() {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global();
    let dir = std::env::temp_dir().join(format!("fhn-bench-{}", std::process::id()));
    println!("f32 GEMM peak (faer):");
    let mut peak = [0.0; 3];
    for threads in [1usize, 2] {
        let par = if threads == 1 {
            Par::Seq
        } else {
            Par::rayon(threads)
        };
        peak[threads] = gemm_gflops(1024, 1024, 1024, par, 7);
        let shaped = gemm_gflops(512, 512, 128, par, 21);
        println!(
            "  {threads} thread(s): 1024³ {:.1} GFLOP/s; 512×512×128 {:.1} GFLOP/s",
            peak[threads], shaped
        );
    }
    println!(
        "\nEqProp training step, paper preset 784-512-512-512-512-10, 55 + 14 + 14 Euler steps:"
    );
    println!(
        "  {:>7} {:>6} {:>12} {:>14} {:>10} {:>12}",
        "threads", "batch", "examples/s", "MFLOP/example", "GFLOP/s", "% of peak"
    );
    for threads in [1usize, 2] {
        for batch in [1usize, 32, 128] {
            let mut cfg = TrainConfig::preset("paper").expect("preset");
            cfg.training.batch_size = batch;
            cfg.data.train_limit = 4096;
            cfg.data.eval_limit = 100;
            let mut t = Trainer::new(
                cfg,
                &dir.join(format!("t{threads}b{batch}")),
                false,
                threads,
            )
            .expect("trainer");
            t.time_steps(2).expect("warm-up");
            let batches = (512 / batch).max(4);
            let samples: Vec<f64> = (0..3)
                .map(|_| t.time_steps(batches).expect("steps").0)
                .collect();
            let flops = t.time_steps(1).expect("flops").1;
            let ex_s = (batches * batch) as f64 / median(samples);
            let gflops = ex_s * flops / 1e9;
            println!(
                "  {threads:>7} {batch:>6} {ex_s:>12.1} {:>14.1} {gflops:>10.1} {:>11.1}%",
                flops / 1e6,
                100.0 * gflops / peak[threads]
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
