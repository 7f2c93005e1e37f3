//! `/auth/callback`: where GitHub sends the browser back to finish signing in (PKCE).
//!
//! A placeholder that shows its heading; later work fills it in.

use leptos::prelude::*;

use crate::components::title::set_page_title;

/// The sign-in callback.
#[component]
pub fn AuthCallback() -> impl IntoView {
    set_page_title("Signing in");
    view! {
        <h1>"Signing in"</h1>
        <p class="placeholder">"Finishing sign-in…"</p>
    }
}
