//! [`StartOptions`]: how an instance is started beyond its id and input.

/// Options of [`Engine::start_with`](crate::Engine::start_with): a claim priority and a
/// concurrency key. Build it as a struct literal with `..Default::default()` or with the
/// setters:
///
/// ```
/// use sayiir::StartOptions;
///
/// let vip = StartOptions { priority: 5, ..Default::default() };
/// let one_at_a_time = StartOptions::default().concurrency_key("customer-42");
/// assert_eq!(vip.priority, 5);
/// assert_eq!(one_at_a_time.key_limit, 1);
/// ```
///
/// See `docs/flow-control.md` (`sayiir::docs::flow_control`) for the semantics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartOptions {
    /// Claim priority, higher first; 0 (the default) is normal, negative is below normal.
    /// Workers claim the instance's steps ahead of lower-priority work that fell due up to
    /// `priority` × [`WorkerConfig::priority_step`](crate::WorkerConfig::priority_step)
    /// earlier (the aging rule: nothing waits forever behind higher priorities).
    pub priority: i8,
    /// A concurrency key: at most [`StartOptions::key_limit`] instances with this key (of any
    /// workflow type) run at once; the others wait, in the order they were started. `None`
    /// (the default): no key.
    pub concurrency_key: Option<String>,
    /// How many instances of [`StartOptions::concurrency_key`] may run at once (default 1;
    /// the limit last asked by a start is the key's limit). Unused without a key.
    pub key_limit: u32,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            priority: 0,
            concurrency_key: None,
            key_limit: 1,
        }
    }
}

impl StartOptions {
    /// Options with every default: priority 0, no concurrency key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`StartOptions::priority`].
    #[must_use]
    pub fn priority(mut self, priority: i8) -> Self {
        self.priority = priority;
        self
    }

    /// Sets [`StartOptions::concurrency_key`].
    #[must_use]
    pub fn concurrency_key(mut self, key: impl Into<String>) -> Self {
        self.concurrency_key = Some(key.into());
        self
    }

    /// Sets [`StartOptions::key_limit`].
    #[must_use]
    pub fn key_limit(mut self, limit: u32) -> Self {
        self.key_limit = limit;
        self
    }
}
