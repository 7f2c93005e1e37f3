//! Keeping pages current: a one-second ticker that drives countdowns and decides when to ask the
//! provisioner again.
//!
//! The spec's rhythm is every 5 s while an operation runs and every 30 s otherwise, and nothing
//! while the tab is hidden. One ticker per page does all of it through `window.setInterval`, so
//! Playwright's fake clock drives it in the browser tests like real time.

use leptos::prelude::*;

use crate::time::now_secs;

/// How often to ask again while an operation is under way, seconds.
pub const BUSY_SECS: i64 = 5;
/// How often to ask again otherwise, seconds.
pub const IDLE_SECS: i64 = 30;

/// The polling interval for a page showing something busy or not.
pub fn interval_secs(busy: bool) -> i64 {
    if busy { BUSY_SECS } else { IDLE_SECS }
}

/// Whether it is time to load again: visible, nothing in flight, and the interval has passed.
pub fn due(now: i64, last_load: i64, busy: bool, hidden: bool, in_flight: bool) -> bool {
    !hidden && !in_flight && now - last_load >= interval_secs(busy)
}

/// Whether the tab is hidden (minimised, in the background).
pub fn tab_hidden() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Hidden
}

/// The browser's clock in seconds, updated every second for as long as the calling component
/// lives.
pub fn use_ticker() -> ReadSignal<i64> {
    let (now, set_now) = signal(now_secs());
    let handle = set_interval_with_handle(
        move || set_now.set(now_secs()),
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(handle) = handle {
            handle.clear();
        }
    });
    now
}

/// Calls `load` whenever [`due`]: `busy` says which interval applies, `in_flight` whether a load
/// is still running. The first load is the caller's to start.
pub fn poll_while_mounted(
    now: ReadSignal<i64>,
    busy: impl Fn() -> bool + 'static,
    in_flight: impl Fn() -> bool + 'static,
    load: impl Fn() + 'static,
) {
    let last = StoredValue::new(now_secs());
    Effect::new(move || {
        let now = now.get();
        if due(now, last.get_value(), busy(), tab_hidden(), in_flight()) {
            last.set_value(now);
            load();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_cluster_is_polled_every_five_seconds_and_an_idle_one_every_thirty() {
        assert!(!due(104, 100, true, false, false));
        assert!(due(105, 100, true, false, false));
        assert!(!due(129, 100, false, false, false));
        assert!(due(130, 100, false, false, false));
    }

    #[test]
    fn nothing_is_polled_while_the_tab_is_hidden_or_a_load_is_running() {
        assert!(!due(200, 100, true, true, false));
        assert!(!due(200, 100, true, false, true));
    }
}
