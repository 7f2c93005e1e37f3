//! The root component: loads the run-time configuration, then hands over to the router.
//!
//! Nothing below this point can work without the service URLs, so the routed app is only built
//! once `config.json` is in hand; until then the user sees a loading state, and if it fails, a
//! full-page error that an operator can act on.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::Provisioner;
use crate::components::layout::Layout;
use crate::components::title::{PRODUCT_NAME, set_page_title};
use crate::config::{self, ConfigError, WebConfig};
use crate::pages::{
    account::Account, auth_callback::AuthCallback, budgets::BudgetPage, budgets::Budgets,
    cluster::Cluster, clusters::Clusters, landing::Landing, not_found::NotFound,
    organizations::Organizations, report::Report,
};
use crate::session::Session;

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // A plain signal and a task rather than a LocalResource: this runs once (or again on "Try
    // again"), and the resource machinery costs wasm size for nothing here.
    let state = RwSignal::new(None::<Result<WebConfig, ConfigError>>);
    let load = move || {
        state.set(None);
        leptos::task::spawn_local(async move { state.set(Some(config::load().await)) });
    };
    load();
    move || match state.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(config)) => view! { <Routed config/> }.into_any(),
        Some(Err(error)) => view! { <ConfigFailed error retry=load/> }.into_any(),
    }
}

/// The routed app, with the configuration available to every page through context.
#[component]
fn Routed(config: WebConfig) -> impl IntoView {
    let session = Session::start(&config);
    provide_context(session);
    provide_context(Provisioner::new(
        config.provisioner_url.clone(),
        session,
        config.owner_signatures,
    ));
    provide_context(config);
    view! {
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Landing/>
                    <Route path=path!("/clusters") view=Clusters/>
                    <Route path=path!("/clusters/:name") view=Cluster/>
                    <Route path=path!("/report") view=Report/>
                    <Route path=path!("/budgets") view=Budgets/>
                    <Route path=path!("/budgets/:account") view=BudgetPage/>
                    <Route path=path!("/organizations") view=Organizations/>
                    <Route path=path!("/account") view=Account/>
                    <Route path=path!("/auth/callback") view=AuthCallback/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// Shown while `config.json` is on its way; usually for a moment only.
#[component]
fn Loading() -> impl IntoView {
    view! {
        <main class="fullpage">
            <p class="loading" role="status">
                <span class="spinner" aria-hidden="true"></span>
                "Loading " {PRODUCT_NAME} "…"
            </p>
        </main>
    }
}

/// Replaces the whole app when the configuration is unusable: names what failed and what an
/// operator should do, since a user can do little more than pass the message on.
#[component]
fn ConfigFailed(error: ConfigError, retry: impl Fn() + 'static) -> impl IntoView {
    set_page_title("Configuration error");
    view! {
        <main class="fullpage">
            <section class="card error-card" role="alert" aria-labelledby="config-error-title">
                <p class="eyebrow">{PRODUCT_NAME}</p>
                <h1 id="config-error-title">{error.title()}</h1>
                <p>"The web client cannot start without its configuration file."</p>
                <dl class="details">
                    <dt>"What failed"</dt>
                    <dd>{error.to_string()}</dd>
                    <dt>"What to do"</dt>
                    <dd>{error.remedy()}</dd>
                </dl>
                <p class="hint">
                    "If you are not the operator of this site, please pass this message on to them."
                </p>
                <button type="button" class="button" on:click=move |_| retry()>
                    "Try again"
                </button>
            </section>
        </main>
    }
}
