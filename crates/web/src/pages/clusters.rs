//! `/clusters`: the clusters the signed-in member may use, one card each.
//!
//! A placeholder that shows its heading; later work fills it in.

use leptos::prelude::*;

use crate::components::title::set_page_title;

/// The list of clusters.
#[component]
pub fn Clusters() -> impl IntoView {
    set_page_title("Clusters");
    view! {
        <h1>"Clusters"</h1>
        <p class="placeholder">"Your clusters will be listed here."</p>
    }
}
