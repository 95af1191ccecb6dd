//! Deterministic pseudo-random numbers for the kill tests: a generator from a seed the test
//! prints, and a stateless mix for what each instance derives from its own seed.

/// xorshift64* from a printed seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// splitmix64's finalizer: a well-spread number from any number, the same in every process (an
/// instance's failures and sleep times from its seed).
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed in the environment variable `var`, or one from the clock; the caller prints it
/// (with `var`) so that a failing run can be repeated.
pub(crate) fn seed(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// The seed an instance id ends with (`i-17` → 17).
pub(crate) fn seed_of(id: &str) -> u64 {
    id.rsplit('-').next().unwrap().parse().unwrap()
}
