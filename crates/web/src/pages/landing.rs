//! `/`: what SlideRule private clusters are, and the ways in (GitHub, or a local account's
//! username and password).

use leptos::prelude::*;

use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::api::ApiError;
use crate::components::sign_up::SignUp;
use crate::components::status::ErrorAlert;
use crate::components::title::set_page_title;
use crate::config::{WebConfig, cluster_host};
use crate::session::{AuthState, storage, use_session};

/// Where signing in leads when no other page was asked for.
const HOME: &str = "/clusters";

/// The landing page.
#[component]
pub fn Landing() -> impl IntoView {
    set_page_title("");
    let config = expect_context::<WebConfig>();
    let session = use_session();
    let as_admin = RwSignal::new(false);
    let starting = RwSignal::new(false);
    let failed = RwSignal::new(None::<ApiError>);

    // Someone already signed in has nothing to do here: on to the page they wanted.
    let navigate = use_navigate();
    Effect::new(move || {
        if matches!(session.state(), AuthState::SignedIn(_)) {
            let to = storage::tab_take(storage::RETURN_TO).unwrap_or_else(|| HOME.to_owned());
            navigate(
                &to,
                NavigateOptions {
                    replace: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if starting.get_untracked() {
            return;
        }
        starting.set(true);
        failed.set(None);
        let return_to = storage::tab_get(storage::RETURN_TO).unwrap_or_else(|| HOME.to_owned());
        let as_admin = as_admin.get_untracked();
        leptos::task::spawn_local(async move {
            // On success the browser is on its way to GitHub; the button stays busy until then.
            if let Err(error) = session.sign_in(as_admin, return_to).await {
                failed.set(Some(error));
                starting.set(false);
            }
        });
    };

    // Sign-in with a local account's username and password: no redirect, the answer is the
    // session, and the effect above then moves on.
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let local_busy = RwSignal::new(false);
    let local_failed = RwSignal::new(None::<ApiError>);
    let on_local = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if local_busy.get_untracked() {
            return;
        }
        local_busy.set(true);
        local_failed.set(None);
        let (user, pass) = (username.get_untracked(), password.get_untracked());
        leptos::task::spawn_local(async move {
            if let Err(error) = session.sign_in_local(user.trim(), &pass).await {
                local_failed.try_set(Some(error));
            }
            password.try_set(String::new());
            local_busy.try_set(false);
        });
    };

    let ended = move || {
        session.ended().then(|| {
            view! {
                <div class="alert alert-warning" role="alert">
                    <p>"Your session ended, sign in again."</p>
                </div>
            }
        })
    };

    let self_signup = config.self_signup;
    let public_cluster = config.public_cluster.clone().map(|name| {
        let host = cluster_host(&config, &name).unwrap_or(name);
        view! {
            <p>
                "Just want to process data? The public cluster at " <code>{host}</code>
                " is open to everyone and needs no sign-in."
            </p>
        }
    });

    view! {
        <div class="landing">
            <section class="hero" aria-labelledby="landing-title">
                <h1 id="landing-title">"Your own SlideRule cluster, when you need it"</h1>
                <p class="lead">
                    "SlideRule processes science data, such as ICESat-2 and GEDI, on demand in the cloud. "
                    "A private cluster is a SlideRule deployment of your own on AWS: you choose how many "
                    "nodes it has and how long it lives, nobody else's requests compete with yours, and it "
                    "shuts itself down when its time is up."
                </p>
                <ul class="facts">
                    <li>
                        <strong>"Sized for the job"</strong>
                        " — scale the number of nodes up or down while it runs."
                    </li>
                    <li>
                        <strong>"Never forgotten"</strong>
                        " — every cluster has a time-to-live and is deleted when it runs out."
                    </li>
                    <li>
                        <strong>"Works with your tools"</strong>
                        " — use it from the SlideRule Python client"
                        {cluster_host(&config, "<cluster>")
                            .map(|host| view! { ", reached at " <code>{host}</code> })} "."
                    </li>
                </ul>
            </section>

            <section class="card sign-in" aria-labelledby="sign-in-title">
                <h2 id="sign-in-title">"Sign in"</h2>
                <p>
                    "Members of the SlideRule GitHub organization can deploy and manage clusters. "
                    "Anyone with a GitHub account can sign in."
                </p>
                {ended}
                <form on:submit=on_submit>
                    <div class="check">
                        <input
                            type="checkbox"
                            id="sign-in-admin"
                            aria-describedby="sign-in-admin-hint"
                            prop:checked=move || as_admin.get()
                            on:change=move |ev| as_admin.set(event_target_checked(&ev))
                        />
                        <label for="sign-in-admin">"Sign in as administrator"</label>
                    </div>
                    <p id="sign-in-admin-hint" class="hint">
                        "For organization owners: gives access to every cluster and the report."
                    </p>
                    <button
                        type="submit"
                        class="button button-primary button-large"
                        disabled=move || starting.get()
                        aria-busy=move || starting.get().to_string()
                    >
                        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                            <path
                                fill="currentColor"
                                d="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 5.47 7.59.4.07.55-.17.55-.38 0-.19-.01-.82-.01-1.49-2.01.37-2.53-.49-2.69-.94-.09-.23-.48-.94-.82-1.13-.28-.15-.68-.52-.01-.53.63-.01 1.08.58 1.23.82.72 1.21 1.87.87 2.33.66.07-.52.28-.87.51-1.07-1.78-.2-3.64-.89-3.64-3.95 0-.87.31-1.59.82-2.15-.08-.2-.36-1.02.08-2.12 0 0 .67-.21 2.2.82.64-.18 1.32-.27 2-.27.68 0 1.36.09 2 .27 1.53-1.04 2.2-.82 2.2-.82.44 1.1.16 1.92.08 2.12.51.56.82 1.27.82 2.15 0 3.07-1.87 3.75-3.65 3.95.29.25.54.73.54 1.48 0 1.07-.01 1.93-.01 2.2 0 .21.15.46.55.38A8.013 8.013 0 0016 8c0-4.42-3.58-8-8-8z"
                            ></path>
                        </svg>
                        "Sign in with GitHub"
                    </button>
                </form>
                {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
                <h3 id="local-sign-in-title">"Sign in with a username"</h3>
                <p class="hint">
                    "For accounts created here (organizations' local accounts) rather than on GitHub."
                </p>
                <form class="local-sign-in" on:submit=on_local aria-labelledby="local-sign-in-title">
                    <div class="field">
                        <label for="local-username">"Username"</label>
                        <input
                            id="local-username"
                            name="username"
                            autocomplete="username"
                            required
                            prop:value=move || username.get()
                            on:input=move |ev| username.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="field">
                        <label for="local-password">"Password"</label>
                        <input
                            id="local-password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                    </div>
                    <button
                        type="submit"
                        class="button"
                        disabled=move || local_busy.get()
                        aria-busy=move || local_busy.get().to_string()
                    >
                        "Sign in"
                    </button>
                </form>
                {move || local_failed.get().map(|error| view! { <ErrorAlert error/> })}
                {self_signup.then(|| view! { <SignUp/> })}
                {public_cluster}
            </section>
        </div>
    }
}
