//! The frame around every routed page: skip link, header with the product name and navigation,
//! the `<main>` landmark the page renders into, and a footer.

use leptos::prelude::*;
use leptos_router::components::A;

use super::title::PRODUCT_NAME;
use crate::config::{WebConfig, cluster_host};

/// Wraps a routed page. Must be rendered inside the `Router`, because `A` needs it.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let config = expect_context::<WebConfig>();
    let main_ref = NodeRef::<leptos::html::Main>::new();

    // The router turns in-page links into client-side navigations that scroll but leave focus
    // where it was, which defeats a skip link; move focus ourselves instead.
    let skip_to_main = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Some(main) = main_ref.get() {
            let _ = main.focus();
        }
    };

    view! {
        <a class="skip-link" href="#main" on:click=skip_to_main>
            "Skip to main content"
        </a>
        <header class="site-header">
            <div class="container header-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span class="brand-name">{PRODUCT_NAME}</span>
                </A>
                // TODO(sign-in): show only the links the signed-in user's level allows
                // (Report for owners; nothing but the landing page when signed out).
                <nav class="site-nav" aria-label="Main">
                    <ul>
                        <li>
                            <A href="/clusters">"Clusters"</A>
                        </li>
                        <li>
                            <A href="/report">"Report"</A>
                        </li>
                        <li>
                            <A href="/account">"Account"</A>
                        </li>
                    </ul>
                </nav>
            </div>
        </header>
        <main id="main" class="container site-main" tabindex="-1" node_ref=main_ref>
            {children()}
        </main>
        <footer class="site-footer">
            <div class="container footer-inner">
                {cluster_host(&config, "<name>")
                    .map(|host| {
                        view! {
                            <p>
                                "Private clusters on " <strong>{config.domain.clone()}</strong>
                                " are reachable at " <code>{host}</code> "."
                            </p>
                        }
                    })}
                <p>
                    <a href="https://slideruleearth.io" rel="external noopener">
                        "About SlideRule"
                    </a>
                </p>
            </div>
        </footer>
    }
}
