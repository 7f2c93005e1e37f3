//! What time it is, as far as choosing a signing key goes.
//!
//! Which key signs depends on the time (a rotated key starts signing at its `signs_from`), so
//! the running keyring reads the time through a [`Clock`] that tests replace: they move time
//! past a rotation instead of sleeping through it. Token `exp`/`nbf` checks are not affected;
//! they always use the system time.

use std::sync::Arc;

use time::OffsetDateTime;

#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system's UTC time.
    pub fn system() -> Self {
        Self(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that asks `now` (tests: a fixed time, or the system time plus an offset).
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}
