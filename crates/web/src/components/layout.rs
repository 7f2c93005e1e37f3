//! The frame around every routed page: skip link, header with the product name and navigation,
//! the `<main>` landmark the page renders into, and a footer.

use leptos::prelude::*;
use leptos_router::components::A;

use leptos_router::hooks::use_navigate;

use super::title::PRODUCT_NAME;
use crate::config::{WebConfig, cluster_host};
use crate::session::use_session;

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
                <Nav/>
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

/// The main navigation: only what the signed-in person's level allows, nothing when signed out.
#[component]
fn Nav() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    // (signed in, owner) only changes on sign-in or sign-out, not on every refresh.
    let who = Memo::new(move |_| {
        session
            .user()
            .map(|u| (u.claims.sub.clone(), u.is_owner(), u.may_provision()))
    });
    let signing_out = RwSignal::new(false);
    let sign_out = move |_| {
        signing_out.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            session.sign_out().await;
            signing_out.set(false);
            navigate("/", Default::default());
        });
    };
    move || {
        who.get().map(|(login, owner, member)| {
            let sign_out = sign_out.clone();
            view! {
                <nav class="site-nav" aria-label="Main">
                    <ul>
                        <li>
                            <A href="/clusters">"Clusters"</A>
                        </li>
                        <li>
                            <A href="/organizations">"Organizations"</A>
                        </li>
                        {member.then(|| view! { <li><A href="/budgets">"Budgets"</A></li> })}
                        {owner.then(|| view! { <li><A href="/report">"Report"</A></li> })}
                        <li>
                            <A href="/account">"Account"</A>
                        </li>
                    </ul>
                    <span class="signed-in-as">
                        <span class="visually-hidden">"Signed in as "</span>
                        {login}
                    </span>
                    <button
                        type="button"
                        class="button button-small"
                        on:click=sign_out
                        disabled=move || signing_out.get()
                    >
                        "Sign out"
                    </button>
                </nav>
            }
        })
    }
}
