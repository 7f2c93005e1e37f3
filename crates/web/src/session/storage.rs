//! The few values the app keeps in the browser's storage, each under one named key.
//!
//! `localStorage` is shared by every tab of the origin and survives reloads: the refresh token
//! (so a new tab or a reload stays signed in) and a dynamically registered client id.
//! `sessionStorage` is per tab: the sign-in in progress (PKCE verifier and state) and where to
//! return afterwards, which must not leak into another tab's sign-in.

use web_sys::Storage;

/// The rotating refresh token.
pub const REFRESH_TOKEN: &str = "sliderule.refresh_token";
/// A client id from dynamic registration, with the redirect URI it was registered for.
pub const REGISTERED_CLIENT: &str = "sliderule.client";
/// The sign-in this tab started: state, verifier, client and return path.
pub const PENDING_LOGIN: &str = "sliderule.pending_login";
/// The page to return to after signing in.
pub const RETURN_TO: &str = "sliderule.return_to";

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn per_tab() -> Option<Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Reads a shared value.
pub fn get(key: &str) -> Option<String> {
    local()?.get_item(key).ok().flatten()
}

/// Writes a shared value. Storage can be full or disabled (private windows); the session then
/// lasts as long as the page, which is the best that can be done.
pub fn set(key: &str, value: &str) {
    if let Some(storage) = local() {
        let _ = storage.set_item(key, value);
    }
}

/// Removes a shared value.
pub fn remove(key: &str) {
    if let Some(storage) = local() {
        let _ = storage.remove_item(key);
    }
}

/// Reads a value of this tab.
pub fn tab_get(key: &str) -> Option<String> {
    per_tab()?.get_item(key).ok().flatten()
}

/// Writes a value of this tab.
pub fn tab_set(key: &str, value: &str) {
    if let Some(storage) = per_tab() {
        let _ = storage.set_item(key, value);
    }
}

/// Reads and removes a value of this tab.
pub fn tab_take(key: &str) -> Option<String> {
    let value = tab_get(key);
    if let Some(storage) = per_tab() {
        let _ = storage.remove_item(key);
    }
    value
}
