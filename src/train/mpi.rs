//! Data-parallel training over MPI (feature `mpi`; docs/SCALING.md). Every process (rank)
//! holds the whole network and data, estimates its part of each minibatch ([`super::reduce::part`])
//! and takes part in [`MpiReducer::reduce`]: a sum in rank order, so that the job computes the
//! bits one process with one thread per rank computes.
//!
//! The sum is bandwidth-optimal and deterministic: an all-to-all sends chunk c of every
//! process's estimate to rank c, which adds the P pieces in rank order, and an all-gather
//! returns the sums: 2·(P−1)/P of the gradient's bytes leave each process per update, as in a
//! ring all-reduce, but the order of the additions never depends on timing or the MPI library.

use super::checkpoint::{self, Checkpoint};
use super::estimate::BatchStats;
use super::reduce::{part, sum_in_order, GradientReducer, Traffic};
use crate::error::{Error, Result};
use crate::layered::Grads;
use ::mpi::datatype::{Partition, PartitionMut};
use ::mpi::environment::Universe;
use ::mpi::topology::SimpleCommunicator;
use ::mpi::traits::*;
use ::mpi::{Count, Threading};
use std::path::Path;
use std::time::Instant;

/// MPI, initialised for the life of this value (finalised when it is dropped).
pub struct Mpi {
    _universe: Universe,
}

impl Mpi {
    /// Initialises MPI (calls into MPI come from one thread at a time).
    pub fn init() -> Result<Self> {
        let (universe, _) = ::mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::Distributed("MPI is already initialised".into()))?;
        Ok(Self {
            _universe: universe,
        })
    }

    /// This process's rank and the number of processes.
    pub fn place(&self) -> (usize, usize) {
        let w = world();
        (w.rank() as usize, w.size() as usize)
    }

    /// A gradient reducer over all processes.
    pub fn reducer(&self) -> MpiReducer {
        let (rank, size) = self.place();
        MpiReducer {
            rank,
            size,
            flat: Vec::new(),
            pieces: Vec::new(),
            sum: Vec::new(),
            traffic: Traffic::default(),
        }
    }

    /// Waits until every process gets here.
    pub fn barrier(&self) {
        world().barrier();
    }

    /// Ends the whole job at once (every process), with `code`: for an error on one process
    /// that the others cannot learn of at a collective call.
    pub fn abort(&self, code: i32) -> ! {
        world().abort(code)
    }

    /// The leader's start of a data-parallel run, shared: rank 0 passes its trainer's snapshot
    /// (or the error that stopped it from making one), every other rank `None`; each gets the
    /// checkpoint, or the leader's error as [`Error::Distributed`].
    pub fn share_start(
        &self,
        leader: Option<std::result::Result<Checkpoint, String>>,
    ) -> Result<Checkpoint> {
        let w = world();
        let root = w.process_at_rank(0);
        let (mut head, mut body) = ([0u64; 2], Vec::new());
        if let Some(start) = leader {
            let bytes = start.and_then(|c| checkpoint::to_bytes(&c).map_err(|e| e.to_string()));
            (head[0], body) = match bytes {
                Ok(b) => (0, b),
                Err(e) => (1, e.into_bytes()),
            };
            head[1] = body.len() as u64;
        }
        root.broadcast_into(&mut head[..]);
        body.resize(head[1] as usize, 0);
        root.broadcast_into(&mut body[..]);
        if head[0] != 0 {
            return Err(Error::Distributed(format!(
                "rank 0: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        checkpoint::from_bytes(&body, Path::new("<the checkpoint rank 0 sent>"))
    }
}

fn world() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

/// The [`GradientReducer`] of a data-parallel MPI job ([`Mpi::reducer`]).
pub struct MpiReducer {
    rank: usize,
    size: usize,
    /// This process's estimate, flat; after the reduction, the sum.
    flat: Vec<f32>,
    /// Every process's piece of this rank's chunk, in rank order.
    pieces: Vec<f32>,
    /// This rank's chunk of the sum.
    sum: Vec<f32>,
    traffic: Traffic,
}

/// Element counts and offsets of the pieces of a partitioned buffer.
fn layout(sizes: impl Iterator<Item = usize>) -> (Vec<Count>, Vec<Count>) {
    let counts: Vec<Count> = sizes.map(|n| n as Count).collect();
    let displs = counts
        .iter()
        .scan(0, |at, &n| {
            let d = *at;
            *at += n;
            Some(d)
        })
        .collect();
    (counts, displs)
}

impl MpiReducer {
    /// Every process's `local` values in rank order; an error on any process is an error on
    /// all, naming the failing ranks and their errors.
    fn all_gather_checked(&mut self, local: Result<Vec<f64>>) -> Result<Vec<Vec<f64>>> {
        let w = world();
        let (data, msg) = match local {
            Ok(v) => (v, String::new()),
            Err(e) => (Vec::new(), e.to_string()),
        };
        let head = [
            u64::from(!msg.is_empty()),
            msg.len() as u64,
            data.len() as u64,
        ];
        let mut heads = vec![0u64; 3 * self.size];
        w.all_gather_into(&head[..], &mut heads[..]);
        let heads: Vec<&[u64]> = heads.chunks(3).collect();
        if heads.iter().any(|h| h[0] != 0) {
            let (counts, displs) = layout(heads.iter().map(|h| h[1] as usize));
            let mut text = vec![0u8; heads.iter().map(|h| h[1] as usize).sum()];
            let mut recv = PartitionMut::new(&mut text[..], counts, &displs[..]);
            w.all_gather_varcount_into(msg.as_bytes(), &mut recv);
            let mut failures = Vec::new();
            for (r, h) in heads.iter().enumerate().filter(|(_, h)| h[0] != 0) {
                let at = displs[r] as usize;
                let m = String::from_utf8_lossy(&text[at..at + h[1] as usize]);
                failures.push(format!("rank {r}: {m}"));
            }
            return Err(Error::Distributed(failures.join("; ")));
        }
        let (counts, displs) = layout(heads.iter().map(|h| h[2] as usize));
        let mut all = vec![0.0f64; heads.iter().map(|h| h[2] as usize).sum()];
        let mut recv = PartitionMut::new(&mut all[..], counts.clone(), &displs[..]);
        w.all_gather_varcount_into(&data[..], &mut recv);
        Ok((0..self.size)
            .map(|r| {
                let at = displs[r] as usize;
                all[at..at + counts[r] as usize].to_vec()
            })
            .collect())
    }

    /// `grads` ← the sum over processes, in rank order (module docs).
    fn sum_grads(&mut self, grads: &mut Grads<f32>) {
        let (w, p, n) = (world(), self.size, grads.len());
        self.flat.resize(n, 0.0);
        grads.write_to(&mut self.flat);
        let mine = part(n, self.rank, p).len();
        // Chunk c of every estimate goes to rank c.
        let (counts, displs) = layout((0..p).map(|c| part(n, c, p).len()));
        let send = Partition::new(&self.flat[..], counts.clone(), &displs[..]);
        self.pieces.resize(p * mine, 0.0);
        let (rc, rd) = layout((0..p).map(|_| mine));
        let mut recv = PartitionMut::new(&mut self.pieces[..], rc, &rd[..]);
        w.all_to_all_varcount_into(&send, &mut recv);
        self.sum.resize(mine, 0.0);
        sum_in_order(&mut self.sum, self.pieces.chunks(mine.max(1)).take(p));
        let mut back = PartitionMut::new(&mut self.flat[..], counts, &displs[..]);
        w.all_gather_varcount_into(&self.sum[..], &mut back);
        grads.read_from(&self.flat);
        self.traffic.bytes_sent += 4 * ((n - mine) + (p - 1) * mine) as u64;
    }
}

fn encode(s: &BatchStats) -> [f64; 5] {
    [
        s.errors as f64,
        s.cost,
        s.residual,
        s.steps as f64,
        s.shards as f64,
    ]
}

fn decode(v: &[f64]) -> BatchStats {
    BatchStats {
        errors: v[0] as usize,
        cost: v[1],
        residual: v[2],
        steps: v[3] as usize,
        shards: v[4] as usize,
    }
}

impl GradientReducer for MpiReducer {
    fn place(&self) -> (usize, usize) {
        (self.rank, self.size)
    }

    fn reduce(&mut self, local: Result<BatchStats>, grads: &mut Grads<f32>) -> Result<BatchStats> {
        let start = Instant::now();
        let all = self.all_gather_checked(local.map(|s| encode(&s).to_vec()))?;
        let stats = all
            .iter()
            .fold(BatchStats::default(), |s, v| s.merge(decode(v)));
        self.sum_grads(grads);
        self.traffic.reductions += 1;
        self.traffic.seconds += start.elapsed().as_secs_f64();
        Ok(stats)
    }

    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>> {
        let flat = local.map(|v| v.iter().flat_map(encode).collect());
        let all = self.all_gather_checked(flat)?;
        Ok(all
            .iter()
            .map(|v| v.chunks(5).map(decode).collect())
            .collect())
    }

    fn traffic(&self) -> Traffic {
        self.traffic
    }
}
