//! Time as the browser sees it: the current instant, countdowns and local date-times.
//!
//! Everything reads `Date.now()` through js-sys, so Playwright's fake clock drives countdowns and
//! token expiry in the browser tests exactly as real time would.

use time::OffsetDateTime;

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Seconds since the epoch, from the browser's clock.
pub fn now_secs() -> i64 {
    (now_ms() / 1000.0).floor() as i64
}

/// A compact duration for countdowns: `2 h 05 min`, `29 min 58 s`, `42 s`.
pub fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// How long a TTL in minutes is, for presets and previews: `15 min`, `1 hour`, `4 hours`,
/// `1 h 30 min`.
pub fn minutes_label(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (1, 0) => "1 hour".to_owned(),
        (h, 0) => format!("{h} hours"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// An epoch time in the user's locale and time zone, e.g. `23 Nov 2026, 14:05`.
pub fn local_datetime(epoch_secs: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_secs as f64 * 1000.0));
    let options = js_sys::Object::new();
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date.to_locale_string("default", &options).into()
}

/// The machine-readable form for `<time datetime=…>`.
pub fn iso(epoch_secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_drop_the_smallest_unit_once_hours_are_shown() {
        assert_eq!(countdown(7500), "2 h 05 min");
        assert_eq!(countdown(1798), "29 min 58 s");
        assert_eq!(countdown(42), "42 s");
        assert_eq!(countdown(-5), "0 s");
    }

    #[test]
    fn ttl_labels_read_like_the_presets() {
        assert_eq!(minutes_label(15), "15 min");
        assert_eq!(minutes_label(60), "1 hour");
        assert_eq!(minutes_label(240), "4 hours");
        assert_eq!(minutes_label(90), "1 h 30 min");
    }
}
