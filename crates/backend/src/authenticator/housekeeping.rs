//! Periodic deletion of what has expired in the store (codes, pending logins, device codes, dead
//! refresh-token families, stale client registrations), so it does not grow without bound.

use std::time::Duration;

use crate::app::AppState;

/// How often the store is swept.
pub const PERIOD: Duration = Duration::from_secs(600);

/// One sweep; returns how many rows went.
pub async fn sweep(state: &AppState) -> u64 {
    let auth = &state.authenticator;
    match auth
        .store
        .purge_expired(
            state.clock.now(),
            auth.refresh_rules,
            auth.client_unused_for,
        )
        .await
    {
        Ok(purged) => {
            if purged > 0 {
                tracing::info!(purged, "expired sign-in records deleted");
            }
            purged
        }
        Err(error) => {
            // Nothing is lost by skipping a sweep; the next one catches up.
            tracing::warn!(%error, "could not delete expired sign-in records");
            0
        }
    }
}

/// Sweeps every [`PERIOD`] until the task is dropped.
pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        sweep(&state).await;
    }
}
