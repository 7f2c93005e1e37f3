//! `/report`: the owners' table of every cluster.
//!
//! A placeholder that shows its heading; later work fills it in.

use leptos::prelude::*;

use crate::components::title::set_page_title;

/// The report of all clusters.
#[component]
pub fn Report() -> impl IntoView {
    set_page_title("Report");
    view! {
        <h1>"Report"</h1>
        <p class="placeholder">"The report of every cluster will appear here."</p>
    }
}
