//! Pages for signed-in people only, and pages for those who may deploy.
//!
//! A signed-out visitor is sent to the landing page, and the page they asked for is remembered so
//! that signing in brings them back to it. The gate re-renders its page only when someone signs
//! in or out, not on every token refresh, so forms keep what was typed.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::status::Loading;
use crate::session::{AuthState, current_path, storage, use_session};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    Waiting,
    Out,
    In,
}

/// Renders `children` once someone is signed in; sends everyone else to `/`.
#[component]
pub fn SignedInOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let gate = Memo::new(move |_| match session.state() {
        AuthState::Restoring => Gate::Waiting,
        AuthState::SignedOut => Gate::Out,
        AuthState::SignedIn(_) => Gate::In,
    });
    let navigate = use_navigate();
    Effect::new(move || {
        if gate.get() == Gate::Out {
            storage::tab_set(storage::RETURN_TO, &current_path());
            navigate(
                "/",
                NavigateOptions {
                    replace: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });
    move || match gate.get() {
        Gate::Waiting => view! { <Loading what="your session"/> }.into_any(),
        Gate::Out => view! { <Loading what="the sign-in page"/> }.into_any(),
        Gate::In => children().into_any(),
    }
}

/// Renders `children` for people who may deploy (members, affiliates, owners); explains to
/// everyone else signed in why they cannot and how to join. Use inside [`SignedInOnly`].
#[component]
pub fn MembersOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let may = Memo::new(move |_| {
        session
            .user()
            .map(|u| (u.may_provision(), u.claims.org.clone()))
    });
    move || match may.get() {
        Some((true, _)) => children().into_any(),
        Some((false, org)) => view! { <NotAMember org/> }.into_any(),
        None => ().into_any(),
    }
}

/// What a signed-in person outside the organization reads instead of deploy controls.
#[component]
pub fn NotAMember(org: String) -> impl IntoView {
    let org_url = format!("https://github.com/{org}");
    view! {
        <section class="card notice" aria-labelledby="not-member-title">
            <h2 id="not-member-title">"You are not a member of " {org.clone()} " yet"</h2>
            <p>
                "Private clusters are for members of the " <a href=org_url rel="external noopener">
                    {org.clone()}
                </a> " GitHub organization. You are signed in, but GitHub does not list you as a member, "
                "so you cannot deploy or manage clusters."
            </p>
            <p>"To join:"</p>
            <ol>
                <li>"Ask an organization owner (your SlideRule contact) to invite your GitHub account."</li>
                <li>"Accept the invitation from GitHub's e-mail or notifications."</li>
                <li>"Sign out here and sign in again, so your new membership is picked up."</li>
            </ol>
            <p>
                "Or join one of the organizations that share a cluster: see "
                <a href="/organizations">"Organizations"</a> " and ask for membership there."
            </p>
            <p class="hint">
                "If the organization keeps its membership private, make sure the sign-in was allowed to "
                "read your organizations when GitHub asked."
            </p>
        </section>
    }
}
