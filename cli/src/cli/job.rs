//! The processes of one command: this process alone, or the ranks of an MPI job when an MPI
//! launcher (`mpirun`, `srun`) started it and the binary has the `mpi` feature. Commands that
//! can spread over processes (`train`, `sweep`, `bench-step`) start a [`Job`].

#[cfg(feature = "mpi")]
use fhn_eqprop::train::mpi::Mpi;
use fhn_eqprop::train::{checkpoint::Checkpoint, GradientReducer};
use fhn_eqprop::{Error, Result};

/// This command's processes.
pub struct Job {
    #[cfg(feature = "mpi")]
    mpi: Option<Mpi>,
}

/// The number of processes an MPI launcher started, if one started this process.
fn launched_processes() -> Option<usize> {
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    var("OMPI_COMM_WORLD_SIZE")
        .or_else(|| var("PMI_SIZE"))
        .or_else(|| std::env::var_os("PMIX_RANK").and(var("SLURM_NTASKS")))
}

impl Job {
    /// Joins the MPI job this process was launched into, or runs alone.
    pub fn start() -> Result<Self> {
        let launched = launched_processes();
        #[cfg(feature = "mpi")]
        {
            let mpi = match launched {
                Some(_) => Some(Mpi::init()?),
                None => None,
            };
            Ok(Self { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        match launched {
            Some(n) if n > 1 => Err(Error::Invalid(format!(
                "started as one of {n} MPI processes, but this fhn was built without MPI: every \
                 process would do the whole job. Rebuild with `cargo build --release --features mpi` \
                 (scripts/install_mpi.sh installs Open MPI)"
            ))),
            _ => Ok(Self {}),
        }
    }

    /// This process's rank and the number of processes.
    pub fn place(&self) -> (usize, usize) {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return m.place();
        }
        (0, 1)
    }

    /// Whether this is the first process (the one that writes and prints).
    pub fn is_leader(&self) -> bool {
        self.place().0 == 0
    }

    /// Waits until every process gets here.
    pub fn barrier(&self) {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            m.barrier();
        }
    }

    /// The gradient reducer over this job's processes.
    pub fn reducer(&self) -> Box<dyn GradientReducer> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return Box::new(m.reducer());
        }
        Box::new(fhn_eqprop::train::reduce::Local)
    }

    /// Rank 0's start of a data-parallel run (`Some` there, `None` elsewhere), shared with all.
    pub fn share_start(&self, leader: Option<Result<Checkpoint, String>>) -> Result<Checkpoint> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return m.share_start(leader);
        }
        leader
            .ok_or_else(|| Error::Distributed("one process, and it is not rank 0".into()))?
            .map_err(Error::Distributed)
    }

    /// Ends a command of this job. An error that the other processes may not know of (one
    /// that is not [`Error::Distributed`]) ends the whole job at once, with its message, instead
    /// of leaving them waiting; an error all processes share is printed by rank 0 only (the
    /// others still exit with status 1).
    pub fn finish(&self, result: Result<()>) -> Result<()> {
        let (rank, ranks) = self.place();
        let Err(e) = result else { return Ok(()) };
        if ranks == 1 {
            return Err(e);
        }
        let shared = matches!(e, Error::Distributed(_));
        if shared {
            // Rank 0 prints before any rank exits: mpirun ends the job at the first failed exit.
            if rank == 0 {
                eprintln!("error: {e}");
            }
            self.barrier();
            super::quiet_errors();
            return Err(e);
        }
        #[cfg(feature = "mpi")]
        if let (false, Some(m)) = (shared, &self.mpi) {
            eprintln!("error on rank {rank} of {ranks}: {e}; stopping every process");
            m.abort(1);
        }
        Err(e)
    }
}
