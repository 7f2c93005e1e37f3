//! `/clusters/:name`: one cluster's status, the Deploy / Update form, Extend, Destroy and its
//! events (for an organization's shared cluster: its requests, "Request nodes" and, for admins,
//! its bounds and members), polled every 5 s while an operation runs and every 30 s otherwise.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use sliderule_protocol::provisioner::{ClusterState, ClusterStatus, HostCluster};
use sliderule_protocol::{ClusterName, Limits};

use crate::api::{ApiError, Provisioner};
use crate::components::budget::{BudgetBanner, Funds};
use crate::components::cluster::{ClusterContext, StateBadge, When, state_label, time_left};
use crate::components::cluster_actions::{DestroyForm, ExtendForm};
use crate::components::deploy_form::DeployForm;
use crate::components::events::EventList;
use crate::components::gate::{MembersOnly, SignedInOnly};
use crate::components::node_group::NodeGroupPanel;
use crate::components::organization::{OrganizationAdminLoader, OrganizationPanel};
use crate::components::status::{ErrorAlert, Loading};
use crate::components::title::set_page_title;
use crate::poll::{poll_while_mounted, use_ticker};
use crate::session::use_session;

/// The page of one cluster.
#[component]
pub fn Cluster() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    // The router reuses this page when only `:name` changes, so the title has to follow it.
    Effect::new(move || set_page_title(&format!("Cluster {}", name.get())));
    view! {
        <h1>"Cluster " <code>{move || name.get()}</code></h1>
        <SignedInOnly>
            <MembersOnly>
                {move || match ClusterName::parse(&name.get()) {
                    Ok(cluster) => view! { <ClusterPage cluster/> }.into_any(),
                    Err(error) => {
                        view! {
                            <div class="alert alert-error" role="alert">
                                <p>{error.to_string()}</p>
                            </div>
                        }
                            .into_any()
                    }
                }}
            </MembersOnly>
        </SignedInOnly>
    }
}

/// What loading the status found.
#[derive(Clone, Debug, PartialEq)]
enum Loaded {
    Waiting,
    Ready,
    /// The caller may not use this cluster.
    Forbidden(String),
    Failed(ApiError),
}

#[component]
fn ClusterPage(cluster: ClusterName) -> impl IntoView {
    let session = use_session();
    let provisioner = expect_context::<Provisioner>();
    let user = session.user();
    let allowed = user
        .as_ref()
        .is_some_and(|u| u.claims.may_use_cluster(&cluster));
    let name = cluster.as_str().to_owned();
    if !allowed {
        return view! {
            <div class="alert alert-error" role="alert">
                <p>
                    "You cannot use cluster " {name} ". It belongs to someone else; you may use "
                    "your own cluster and your teams' clusters, listed on the Clusters page."
                </p>
            </div>
        }
        .into_any();
    }

    let context = ClusterContext {
        cluster: StoredValue::new(cluster.clone()),
        status: RwSignal::new(None),
        events: RwSignal::new(Vec::new()),
        limits: RwSignal::new(user.map_or(Limits::NONE, |u| u.limits())),
        funds: RwSignal::new(None),
        reload: StoredValue::new_local(None),
    };
    provide_context(context);
    let loaded = RwSignal::new(Loaded::Waiting);
    let loading = RwSignal::new(false);
    let announcement = RwSignal::new(String::new());

    let load = move || {
        loading.set(true);
        leptos::task::spawn_local(async move {
            let target = context.cluster.get_value();
            let status = provisioner.status(&target).await;
            // A cluster that never had a stack has no events either; don't ask for a 404.
            let events = match &status {
                Err(error) if error.code() == Some("does_not_exist") => Ok(Vec::new()),
                Err(_) => Err(()),
                Ok(_) => provisioner.events(&target).await.map_err(|_| ()),
            };
            let before = context.state();
            match status {
                Ok(status) => {
                    context.status.set(Some(status));
                    loaded.set(Loaded::Ready);
                }
                Err(error) if error.code() == Some("does_not_exist") => {
                    context.status.set(None);
                    loaded.set(Loaded::Ready);
                }
                Err(error) if error.status() == Some(403) => {
                    loaded.set(Loaded::Forbidden(error.to_string()));
                }
                Err(error) => {
                    // Keep showing the last status after a failed poll; say why once.
                    if loaded.get_untracked() == Loaded::Waiting {
                        loaded.set(Loaded::Failed(error));
                    }
                }
            }
            if let Ok(events) = events {
                context.events.set(events);
            }
            let after = context.state();
            if before != after {
                announcement.set(format!(
                    "Cluster is now {}.",
                    state_label(after).to_lowercase()
                ));
            }
            loading.set(false);
        });
    };
    context
        .reload
        .set_value(Some(Callback::new(move |()| load())));
    load();
    // Limits from the provisioner are authoritative (the token's are a fallback); the forms wait
    // for them so that what they check is what the server will.
    let limits_ready = RwSignal::new(false);
    let account = cluster.as_str().to_owned();
    // The page may be gone when an answer arrives (the session ended, the user went elsewhere):
    // `try_set` then drops it instead of touching disposed signals.
    leptos::task::spawn_local(async move {
        let Ok(info) = provisioner.info().await else {
            limits_ready.try_set(true);
            return;
        };
        context.limits.try_set(Limits {
            max_nodes: info.max_nodes,
            max_ttl: info.max_ttl,
        });
        limits_ready.try_set(true);
        // With budgets on, the budget that pays for this cluster (named after it).
        if let Some(pricing) = info.pricing
            && let Ok(budget) = provisioner.budget(&account, None).await
        {
            context.funds.try_set(Some(Funds { pricing, budget }));
        }
    });

    // An organization's status carries its bounds; it never stops being one while shown.
    let is_organization = Memo::new(move |_| {
        context
            .status
            .with(|s| s.as_ref().is_some_and(|s| s.max_nodes.is_some()))
    });

    let now = use_ticker();
    poll_while_mounted(
        now,
        move || context.state().is_busy() || context.destroy_pending(),
        move || loading.get_untracked(),
        load,
    );

    view! {
        <p class="visually-hidden" aria-live="polite">{move || announcement.get()}</p>
        {move || match loaded.get() {
            Loaded::Waiting => view! { <Loading what="the cluster's status"/> }.into_any(),
            Loaded::Forbidden(why) => {
                view! {
                    <div class="alert alert-error" role="alert">
                        <p>"You cannot use cluster " {context.name()} ". " {why}</p>
                    </div>
                }
                    .into_any()
            }
            Loaded::Failed(error) => {
                view! { <ErrorAlert error retry=Callback::new(move |()| load())/> }.into_any()
            }
            Loaded::Ready => {
                view! {
                    <BudgetBanner budget=Signal::derive(move || {
                        context.funds.get().map(|f| f.budget)
                    })/>
                    <div class="cluster-layout">
                        <StatusCard now/>
                        <div class="cluster-actions">
                            {move || {
                                if !limits_ready.get() {
                                    view! { <Loading what="your limits"/> }.into_any()
                                } else if is_organization.get() {
                                    // A shared cluster: members ask for nodes; admins also
                                    // set its bounds, decide who joins and may destroy it.
                                    view! {
                                        <OrganizationPanel/>
                                        <OrganizationAdminLoader/>
                                    }
                                        .into_any()
                                } else {
                                    view! {
                                        <DeployForm/>
                                        <ExtendForm/>
                                        <DestroyForm/>
                                        <NodeGroupPanel
                                            cluster=HostCluster::Named(context.cluster.get_value())
                                            title="Your own nodes"
                                            id="own-nodes"
                                        />
                                    }
                                        .into_any()
                                }
                            }}
                        </div>
                        <EventList/>
                    </div>
                }
                    .into_any()
            }
        }}
    }
    .into_any()
}

/// What the page says while a destroy waits for the cloud.
fn pending_destroy_text(error: Option<&str>) -> String {
    match error {
        None => "Destroy pending: the cluster is deleted as soon as its current operation \
                 finishes. Nothing more to do."
            .to_owned(),
        Some(error) => format!(
            "Destroy pending: the last attempt to delete the cluster failed ({error}). \
             It is tried again automatically."
        ),
    }
}

#[component]
fn StatusCard(now: ReadSignal<i64>) -> impl IntoView {
    let context = expect_context::<ClusterContext>();
    let status = move || context.status.get();
    let field = move |f: fn(&ClusterStatus) -> String| {
        move || status().map_or_else(|| "—".to_owned(), |s| f(&s))
    };
    let deadline = Signal::derive(move || {
        status()
            .and_then(|s| s.auto_shutdown)
            .map(|t| t.unix_timestamp())
    });
    let created = Signal::derive(move || {
        status()
            .filter(|s| s.state != ClusterState::NotFound)
            .map(|s| s.response.creation_time.unix_timestamp())
    });
    let pending = move || {
        status()
            .filter(|s| s.destroy_pending)
            .map(|s| pending_destroy_text(s.destroy_error.as_deref()))
    };
    view! {
        <section class="card status-card" aria-labelledby="status-title">
            <h2 id="status-title">"Status"</h2>
            {move || {
                pending()
                    .map(|text| {
                        view! {
                            <div class="alert alert-warning" role="status" data-testid="destroy-pending">
                                <p>{text}</p>
                            </div>
                        }
                    })
            }}
            <dl class="cluster-facts">
                <dt>"State"</dt>
                <dd aria-live="polite">
                    <StateBadge state=Signal::derive(move || context.state())/>
                </dd>
                <dt>"Nodes"</dt>
                <dd data-testid="cluster-nodes">
                    {move || {
                        status()
                            .map_or_else(
                                || "0 / 0".to_owned(),
                                |s| format!("{} / {}", s.current_nodes, s.node_capacity.get()),
                            )
                    }}
                </dd>
                <dt>
                    {move || {
                        // An organization's cluster is re-sized, not shut down, when a request ends.
                        if status().is_some_and(|s| s.max_nodes.is_some()) {
                            "Next request ends"
                        } else {
                            "Auto-shutdown"
                        }
                    }}
                </dt>
                <dd>
                    <span data-testid="cluster-shutdown">
                        <When at=deadline/>
                    </span>
                    " "
                    <span class="countdown" data-testid="cluster-countdown">
                        {move || time_left(deadline.get(), now.get())}
                    </span>
                </dd>
                <dt>"Version"</dt>
                <dd>{field(|s| s.version.as_str().to_owned())}</dd>
                <dt>"Access"</dt>
                <dd>{field(|s| if s.is_public { "Public" } else { "Private" }.to_owned())}</dd>
                <dt>"Created"</dt>
                <dd>
                    <When at=created/>
                </dd>
                <dt>"Stack status"</dt>
                <dd>{field(|s| s.response.stack_status.as_str().to_owned())}</dd>
                <dt>"Reason"</dt>
                <dd>
                    {field(|s| s.response.stack_status_reason.clone().unwrap_or_else(|| "—".into()))}
                </dd>
            </dl>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::pending_destroy_text;

    #[test]
    fn a_pending_destroy_says_it_needs_nothing_more_and_why_a_failed_one_waits() {
        assert!(pending_destroy_text(None).contains("Nothing more to do"));
        let failed = pending_destroy_text(Some("AWS failed: Rate exceeded"));
        assert!(failed.contains("(AWS failed: Rate exceeded)"), "{failed}");
        assert!(failed.contains("tried again automatically"), "{failed}");
    }
}
