//! Data parallelism without MPI: processes simulated by threads that meet at a barrier
//! ([`ThreadRank`], the test double of `mpi::MpiReducer`: parts of each minibatch, sums in rank
//! order). Two of them, one thread each, must compute the bits one trainer with two threads
//! computes; a failure in a reduction must stop the run with the last checkpoint intact.

use super::reduce::{sum_in_order, GradientReducer};
use super::tests::{scratch, small_config, synthetic_data};
use super::*;
use std::sync::{Arc, Barrier, Mutex};

/// What a simulated process contributes: its statistics (or its error) and its flat estimate.
type Payload = (std::result::Result<Vec<BatchStats>, String>, Vec<f32>);

struct Meeting {
    barrier: Barrier,
    slots: Mutex<Vec<Option<Payload>>>,
}

/// One of `size` simulated processes.
struct ThreadRank {
    rank: usize,
    size: usize,
    meeting: Arc<Meeting>,
}

impl ThreadRank {
    fn group(size: usize) -> Vec<ThreadRank> {
        let meeting = Arc::new(Meeting {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![None; size]),
        });
        (0..size)
            .map(|rank| ThreadRank {
                rank,
                size,
                meeting: meeting.clone(),
            })
            .collect()
    }

    /// Every process's payload, in rank order; an error anywhere is an error everywhere.
    fn exchange(&self, mine: Payload) -> Result<Vec<(Vec<BatchStats>, Vec<f32>)>> {
        self.meeting.slots.lock().unwrap()[self.rank] = Some(mine);
        self.meeting.barrier.wait();
        let all: Vec<Payload> = self
            .meeting
            .slots
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect();
        self.meeting.barrier.wait();
        let failed: Vec<String> = (all.iter().enumerate())
            .filter_map(|(r, (s, _))| s.as_ref().err().map(|e| format!("rank {r}: {e}")))
            .collect();
        if !failed.is_empty() {
            return Err(Error::Distributed(failed.join("; ")));
        }
        Ok(all.into_iter().map(|(s, g)| (s.unwrap(), g)).collect())
    }
}

impl GradientReducer for ThreadRank {
    fn place(&self) -> (usize, usize) {
        (self.rank, self.size)
    }

    fn reduce(&mut self, local: Result<BatchStats>, grads: &mut Grads<f32>) -> Result<BatchStats> {
        let mut flat = vec![0.0; grads.len()];
        grads.write_to(&mut flat);
        let all = self.exchange((
            local.map(|s| vec![s]).map_err(|e| e.to_string()),
            flat.clone(),
        ))?;
        sum_in_order(&mut flat, all.iter().map(|(_, g)| &g[..]));
        grads.read_from(&flat);
        Ok(all
            .iter()
            .fold(BatchStats::default(), |s, (v, _)| s.merge(v[0])))
    }

    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>> {
        let all = self.exchange((local.map_err(|e| e.to_string()), Vec::new()))?;
        Ok(all.into_iter().map(|(s, _)| s).collect())
    }
}

/// metrics.jsonl without the wall-clock fields.
fn metrics_without_times(dir: &Path) -> Vec<serde_json::Value> {
    read_metrics(dir)
        .unwrap()
        .into_iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("train_seconds");
            o.remove("examples_per_second");
            v
        })
        .collect()
}

fn weight_bits(net: &LayeredNet<f32>) -> Vec<u32> {
    let mut g = Grads::zeros_like(net);
    g.w.clone_from(&net.weights);
    g.b.clone_from(&net.biases);
    let mut flat = vec![0.0; g.len()];
    g.write_to(&mut flat);
    flat.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn two_processes_of_one_thread_compute_the_bits_of_one_process_with_two_threads() {
    let mut cfg = small_config();
    cfg.training.epochs = 2;
    // Early stopping makes the step counts differ between shards: they must add up alike.
    cfg.training.tolerance = 1e-3;
    processes_match_threads(cfg, "split");
}

/// Each shard (thread or process) starts from its own previous free state: the same bits.
#[test]
fn free_phases_from_the_previous_batch_split_over_processes_alike() {
    let mut cfg = small_config();
    cfg.training.epochs = 2;
    cfg.training.free_start = super::config::FreeStart::Previous;
    processes_match_threads(cfg, "split-previous");
}

/// A rank of a two-process group that never meets the other (for refusals).
pub(super) fn two_ranks_for_tests() -> impl GradientReducer {
    ThreadRank::group(2).remove(0)
}

fn processes_match_threads(cfg: super::config::TrainConfig, name: &str) {
    let (one_dir, two_dir) = (
        scratch(&format!("{name}-one")),
        scratch(&format!("{name}-two")),
    );
    let mut one =
        Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &one_dir, false, 2).unwrap();
    let summary = one.fit(2).unwrap();
    let log = std::fs::read_to_string(one_dir.join("log.txt")).unwrap();
    assert!(
        log.contains(", 2 thread(s),") && !log.contains("processes"),
        "{log}"
    );
    assert_eq!(summary.device, "cpu");

    let mut leader = Trainer::with_data(cfg, synthetic_data(16, 3), &two_dir, false, 1).unwrap();
    let start = leader.snapshot();
    let mut ranks = ThreadRank::group(2).into_iter();
    leader.set_reducer(Box::new(ranks.next().unwrap())).unwrap();
    let second = ranks.next().unwrap();
    // The trainer is not Send (a device may be attached): the follower lives in its thread.
    let follower = std::thread::spawn(move || {
        let mut f = Trainer::follower(start, synthetic_data(16, 3), 1).unwrap();
        assert!(
            !f.is_leader() && f.fit(1).is_err(),
            "a follower writes no run"
        );
        f.set_reducer(Box::new(second)).unwrap();
        f.follow().unwrap();
        weight_bits(&f.net)
    });
    leader.fit(1).unwrap();
    let follower_bits = follower.join().unwrap();

    let (m1, m2) = (
        metrics_without_times(&one_dir),
        metrics_without_times(&two_dir),
    );
    assert_eq!(m1.len(), 2);
    assert_eq!(m1, m2, "metrics of 1 process × 2 threads vs 2 × 1");
    let bits = weight_bits(&one.net);
    assert_eq!(bits, weight_bits(&leader.net), "leader's weights");
    assert_eq!(bits, follower_bits, "follower's weights");
    let log = std::fs::read_to_string(two_dir.join("log.txt")).unwrap();
    assert!(log.contains("2 processes × 1 thread(s)"), "{log}");
    for d in [one_dir, two_dir] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// Lets `ok` reductions through, then fails as if another process had diverged.
struct FailAfter {
    ok: usize,
}

impl GradientReducer for FailAfter {
    fn reduce(&mut self, local: Result<BatchStats>, _: &mut Grads<f32>) -> Result<BatchStats> {
        if self.ok == 0 {
            return Err(Error::Distributed("rank 1: divergence: simulated".into()));
        }
        self.ok -= 1;
        local
    }

    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>> {
        Ok(vec![local?])
    }
}

#[test]
fn a_failed_reduction_stops_the_run_and_keeps_the_last_checkpoint() {
    let mut cfg = small_config();
    cfg.training.epochs = 3;
    let dir = scratch("split-fail");
    let mut t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, false, 1).unwrap();
    // 40 examples in batches of 5: 8 updates per epoch; fail in the second epoch.
    t.set_reducer(Box::new(FailAfter { ok: 11 })).unwrap();
    let err = t.fit(1).unwrap_err();
    assert!(
        matches!(err, Error::Distributed(ref m) if m.contains("rank 1")),
        "{err}"
    );
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains("stopped: distributed: rank 1: divergence"),
        "{log}"
    );
    assert!(
        log.contains("holds epoch 1; --resume continues from it"),
        "{log}"
    );
    let c = checkpoint::load(&dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(c.epoch, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn more_processes_than_examples_per_batch_are_refused() {
    let dir = scratch("split-too-many");
    let mut t = Trainer::with_data(small_config(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    let err = t
        .set_reducer(Box::new(ThreadRank::group(6).remove(0)))
        .unwrap_err();
    assert!(err.to_string().contains("training.batch_size ≥ 6"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
