//! `/account`: the signed-in user's identity, roles, limits and token.
//!
//! A placeholder that shows its heading; later work fills it in.

use leptos::prelude::*;

use crate::components::title::set_page_title;

/// The account page.
#[component]
pub fn Account() -> impl IntoView {
    set_page_title("Account");
    view! {
        <h1>"Account"</h1>
        <p class="placeholder">"Your identity, roles and limits will appear here."</p>
    }
}
