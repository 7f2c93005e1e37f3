//! `/clusters/:name`: one cluster's status, deploy/update form, extend, destroy and events.
//!
//! A placeholder that shows its heading; later work fills it in.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::title::set_page_title;

/// The page of one cluster.
#[component]
pub fn Cluster() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    // The router reuses this page when only `:name` changes, so the title has to follow it.
    Effect::new(move || set_page_title(&format!("Cluster {}", name())));
    view! {
        <h1>"Cluster " <code>{name}</code></h1>
        <p class="placeholder">"This cluster's status, controls and events will appear here."</p>
    }
}
