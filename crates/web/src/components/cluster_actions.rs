//! Extend and Destroy on a cluster's page.
//!
//! Extend shows the deadline it will set before it is pressed (it replaces the current one, it
//! does not add to it). Destroy is only possible once the cluster's name has been typed.

use leptos::prelude::*;
use sliderule_protocol::provisioner::ExtendRequest;

use super::cluster::{ClusterContext, destroy_blocked, extend_blocked};
use super::deploy_form::preview;
use super::status::ErrorAlert;
use crate::api::{ApiError, Provisioner};
use crate::time::{local_datetime, now_secs};

#[component]
pub fn ExtendForm() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let ttl = RwSignal::new("60".to_owned());
    let problem = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let blocked = move || {
        cluster
            .blocked_by_destroy()
            .or_else(|| extend_blocked(cluster.state()))
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() || blocked().is_some() {
            return;
        }
        let checked = cluster
            .limits
            .get_untracked()
            .ttl_from_text(&ttl.get_untracked());
        let ttl = match checked {
            Ok(ttl) => ttl,
            Err(why) => {
                problem.set(Some(why));
                return;
            }
        };
        problem.set(None);
        failed.set(None);
        sending.set(true);
        let request = ExtendRequest {
            cluster: cluster.cluster.get_value(),
            ttl,
        };
        leptos::task::spawn_local(async move {
            match provisioner.extend(&request).await {
                Ok(status) => {
                    cluster.status.set(Some(status));
                    cluster.reload();
                }
                Err(error) => failed.set(Some(error)),
            }
            sending.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="extend-title">
            <h2 id="extend-title">"Extend"</h2>
            <form on:submit=submit novalidate>
                <div class="field">
                    <label for="extend-ttl">"New time to live (minutes)"</label>
                    <input
                        id="extend-ttl"
                        type="number"
                        inputmode="numeric"
                        min="15"
                        aria-invalid=move || problem.get().is_some().to_string()
                        aria-describedby="extend-preview extend-error"
                        prop:value=move || ttl.get()
                        on:input=move |ev| ttl.set(event_target_value(&ev))
                    />
                    <p id="extend-error" class="field-error" role="alert">
                        {move || problem.get()}
                    </p>
                </div>
                <p id="extend-preview" class="preview" aria-live="polite">
                    {move || {
                        preview(&ttl.get(), now_secs())
                            .map(|(at, _)| {
                                format!(
                                    "New auto-shutdown: {} (replaces the current one)",
                                    local_datetime(at),
                                )
                            })
                    }}
                </p>
                <div class="actions">
                    <button
                        type="submit"
                        class="button"
                        disabled=move || sending.get() || blocked().is_some()
                        aria-describedby="extend-blocked"
                        title=move || blocked().unwrap_or_default()
                    >
                        "Extend"
                    </button>
                    <p id="extend-blocked" class="hint">
                        {move || blocked()}
                    </p>
                </div>
                {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
            </form>
        </section>
    }
}

#[component]
pub fn DestroyForm() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let name = cluster.name();
    let typed = RwSignal::new(String::new());
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let blocked = move || {
        if cluster.destroy_pending() {
            Some("Destroy is pending already: nothing more to do.")
        } else {
            destroy_blocked(cluster.state())
        }
    };
    let expected = name.clone();
    let confirmed = move || typed.get().trim() == expected;

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() || blocked().is_some() {
            return;
        }
        sending.set(true);
        failed.set(None);
        let target = cluster.cluster.get_value();
        leptos::task::spawn_local(async move {
            match provisioner.destroy(&target).await {
                Ok(_) => {
                    typed.set(String::new());
                    cluster.reload();
                }
                Err(error) => failed.set(Some(error)),
            }
            sending.set(false);
        });
    };
    let label = format!("Type {name} to confirm");

    view! {
        <section class="card danger-zone" aria-labelledby="destroy-title">
            <h2 id="destroy-title">"Destroy"</h2>
            <p>
                "Deletes the cluster and everything on it now, before its time to live runs out. "
                "This cannot be undone."
            </p>
            <form on:submit=submit>
                <div class="field">
                    <label for="destroy-confirm">{label}</label>
                    <input
                        id="destroy-confirm"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))
                    />
                </div>
                <div class="actions">
                    <button
                        type="submit"
                        class="button button-danger"
                        disabled=move || sending.get() || blocked().is_some() || !confirmed()
                        aria-describedby="destroy-blocked"
                        title=move || blocked().unwrap_or("Type the cluster's name first.")
                    >
                        "Destroy"
                    </button>
                    <p id="destroy-blocked" class="hint">
                        {move || blocked()}
                    </p>
                </div>
                {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
            </form>
        </section>
    }
}
