//! The engine's settings: those of its workers (claims, leases, group commit) and the
//! engine-wide ones (start batches, the payload limit), in one public type.

use std::time::Duration;

/// Worker settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// Instances driven at once by one worker.
    pub max_instances: usize,
    /// Instances claimed per store round trip.
    pub claim_batch: usize,
    /// Lease on a claimed instance; renewed every third of it while the worker drives it.
    /// Default 5 s: when a worker process dies, another one takes its instances over once
    /// their leases expire, so within about this long (SQLite, with one worker process per
    /// file, takes them over at once when the worker restarts). A driver whose lease was not
    /// renewed for nine tenths of it (the store unreachable, a renewal refused) stops, dropping
    /// its running task attempts, before anyone can claim the instance again.
    pub lease: Duration,
    /// Longest sleep while idle (work may be started by another process).
    pub idle_poll: Duration,
    /// How often to look for instances of unknown definition hashes.
    pub version_check: Duration,
    /// Most transitions committed in one store transaction. A transition that folds task
    /// results of a join (one history entry each) takes at most 8 times this many.
    pub max_commit_batch: usize,
    /// How long the committer waits for more transitions after the first one of a batch
    /// arrives, when fewer than `max_commit_batch` are queued. Zero (the default) writes what
    /// is queued at once: transitions that finish while a batch is being written still form
    /// the next batch, so batches grow with the load without adding latency to a lone step.
    /// See docs/performance.md for the measurements behind the default.
    pub commit_window: Duration,
    /// Most instances created in one store transaction by concurrent [`Engine::start`] calls
    /// (they are batched whether or not a worker runs).
    ///
    /// [`Engine::start`]: crate::Engine::start
    pub max_start_batch: usize,
    /// Largest encoded value the engine writes, in bytes: an instance's input, a signal's
    /// payload, a task's return value, a state, an output. Checked where the value is made
    /// (engine-wide, not only for workers): [`Engine::start`] and [`Engine::signal`] fail with
    /// [`EngineError::TooLarge`] and write nothing; a task return value, state or output over
    /// it blocks its instance ([`BlockKind::PayloadTooLarge`]) at its previous state. Default
    /// 16 MiB ([`DEFAULT_MAX_PAYLOAD`]); at most 256 MiB (the most the stored format reads).
    ///
    /// [`Engine::start`]: crate::Engine::start
    /// [`Engine::signal`]: crate::Engine::signal
    /// [`DEFAULT_MAX_PAYLOAD`]: crate::DEFAULT_MAX_PAYLOAD
    /// [`EngineError::TooLarge`]: crate::EngineError::TooLarge
    /// [`BlockKind::PayloadTooLarge`]: sayiir_store::BlockKind::PayloadTooLarge
    pub max_payload: usize,
    /// How often each worker samples the store for the gauges of the due backlog and of the
    /// instances needing attention (one query of an index each; see `sayiir::metrics`).
    /// Default 10 s; zero samples never.
    pub sample_every: Duration,
    /// The head start one level of [`StartOptions::priority`](crate::StartOptions::priority)
    /// gives an instance started by this engine: claims order it as if it had fallen due
    /// `priority` × this much earlier, so a higher priority goes first among instances that
    /// fell due within that much of each other, and an instance never waits behind newer
    /// work for longer than the difference of priorities times this (the aging rule of
    /// `docs/flow-control.md`). Default 1 minute.
    pub priority_step: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            max_instances: 1024,
            claim_batch: 128,
            lease: Duration::from_secs(5),
            idle_poll: Duration::from_secs(1),
            version_check: Duration::from_secs(30),
            max_commit_batch: 512,
            commit_window: Duration::ZERO,
            max_start_batch: 1024,
            max_payload: crate::DEFAULT_MAX_PAYLOAD,
            sample_every: Duration::from_secs(10),
            priority_step: Duration::from_secs(60),
        }
    }
}

impl WorkerConfig {
    /// Sets [`WorkerConfig::max_instances`].
    #[must_use]
    pub fn max_instances(mut self, n: usize) -> Self {
        self.max_instances = n.max(1);
        self
    }

    /// Sets [`WorkerConfig::lease`].
    #[must_use]
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d;
        self
    }

    /// Sets [`WorkerConfig::idle_poll`].
    #[must_use]
    pub fn idle_poll(mut self, d: Duration) -> Self {
        self.idle_poll = d;
        self
    }

    /// Sets [`WorkerConfig::claim_batch`].
    #[must_use]
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.claim_batch = n.max(1);
        self
    }

    /// Sets [`WorkerConfig::version_check`].
    #[must_use]
    pub fn version_check(mut self, d: Duration) -> Self {
        self.version_check = d;
        self
    }

    /// Sets [`WorkerConfig::max_commit_batch`].
    #[must_use]
    pub fn max_commit_batch(mut self, n: usize) -> Self {
        self.max_commit_batch = n.max(1);
        self
    }

    /// Sets [`WorkerConfig::commit_window`].
    #[must_use]
    pub fn commit_window(mut self, d: Duration) -> Self {
        self.commit_window = d;
        self
    }

    /// Sets [`WorkerConfig::max_start_batch`].
    #[must_use]
    pub fn max_start_batch(mut self, n: usize) -> Self {
        self.max_start_batch = n.max(1);
        self
    }

    /// Sets [`WorkerConfig::sample_every`] (zero: never).
    #[must_use]
    pub fn sample_every(mut self, d: Duration) -> Self {
        self.sample_every = d;
        self
    }

    /// Sets [`WorkerConfig::priority_step`].
    #[must_use]
    pub fn priority_step(mut self, d: Duration) -> Self {
        self.priority_step = d;
        self
    }

    /// Sets [`WorkerConfig::max_payload`], in bytes (at most
    /// 256 MiB, the most the stored format reads; larger values are lowered to it).
    #[must_use]
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes.min(crate::codec::MAX_BLOB);
        self
    }
}
