//! Entry point of the SlideRule private-cluster web client, a Leptos single-page app that Trunk
//! builds into `dist/`.

mod api;
mod app;
mod components;
mod config;
mod pages;
mod poll;
mod session;
mod time;

fn main() {
    // Without the hook a Rust panic shows up in the console only as "unreachable executed".
    console_error_panic_hook::set_once();

    // index.html shows a "Loading…" message inside #app for browsers that are still fetching the
    // wasm; it has served its purpose once the app can render, so it is replaced rather than kept.
    let root = leptos::prelude::document()
        .get_element_by_id("app")
        .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok());
    match root {
        Some(root) => {
            root.set_inner_html("");
            leptos::mount::mount_to(root, app::App).forget();
        }
        None => leptos::mount::mount_to_body(app::App),
    }
}
