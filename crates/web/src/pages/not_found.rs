//! Any path no route matches.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::title::set_page_title;

/// The "page not found" page.
#[component]
pub fn NotFound() -> impl IntoView {
    set_page_title("Page not found");
    view! {
        <section class="card narrow" aria-labelledby="not-found-title">
            <h1 id="not-found-title">"Page not found"</h1>
            <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
            <p>
                <A href="/" attr:class="button">"Go to the start page"</A>
            </p>
        </section>
    }
}
