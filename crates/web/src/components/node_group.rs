//! "Your own nodes" on a cluster: the signed-in person's node group (provisioner.md, "Per-user
//! node groups"): its state, nodes and deadline; add or resize it (which also sets its deadline);
//! remove it. Polled every 5 s while it changes, every 30 s otherwise.

use leptos::prelude::*;
use sliderule_protocol::provisioner::{
    ClusterState, HostCluster, NodeGroupDeploy, NodeGroupStatus,
};

use super::cluster::{When, state_label};
use super::form::{SubmitRow, run_form};
use super::status::ErrorAlert;
use crate::api::{ApiError, Provisioner};
use crate::poll::{poll_while_mounted, use_ticker};
use crate::session::use_session;

/// The caller's node group on `cluster`, with its forms. `id` prefixes the element ids (a page
/// may show more than one).
#[component]
pub fn NodeGroupPanel(
    cluster: HostCluster,
    title: &'static str,
    id: &'static str,
) -> impl IntoView {
    let session = use_session();
    let provisioner = expect_context::<Provisioner>();
    let Some(signed_in) = session.user() else {
        return ().into_any();
    };
    let limits = signed_in.limits();
    let user = StoredValue::new(signed_in.claims.sub.to_ascii_lowercase());
    let cluster = StoredValue::new(cluster);
    let status = RwSignal::new(None::<NodeGroupStatus>);
    let loading = RwSignal::new(false);
    let nodes = RwSignal::new("1".to_owned());
    let ttl = RwSignal::new("60".to_owned());
    let problem = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let failed = RwSignal::new(None::<ApiError>);
    let removing = RwSignal::new(false);
    let remove_failed = RwSignal::new(None::<ApiError>);

    let load = move || {
        loading.set(true);
        leptos::task::spawn_local(async move {
            let answer = provisioner
                .node_group(&user.get_value(), &cluster.get_value())
                .await;
            match answer {
                Ok(found) => {
                    status.try_set(Some(found));
                }
                // None yet (a 404), or the cluster is not running: nothing to show.
                Err(error) if error.status() == Some(404) => {
                    status.try_set(None);
                }
                Err(_) => {}
            }
            loading.try_set(false);
        });
    };
    load();
    let state = move || status.with(|s| s.as_ref().map_or(ClusterState::NotFound, |s| s.state));
    let now = use_ticker();
    poll_while_mounted(
        now,
        move || state().is_busy(),
        move || loading.get_untracked(),
        load,
    );

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let checked = limits
            .capacity_from_text(&nodes.get_untracked())
            .and_then(|n| limits.ttl_from_text(&ttl.get_untracked()).map(|t| (n, t)));
        let (node_capacity, ttl) = match checked {
            Ok(checked) => checked,
            Err(why) => {
                problem.set(Some(why));
                return;
            }
        };
        problem.set(None);
        let request = NodeGroupDeploy {
            cluster: cluster.get_value(),
            node_capacity,
            ttl,
        };
        let call = async move {
            provisioner
                .deploy_node_group(&user.get_value(), &request)
                .await
        };
        run_form(sending, failed, call, move |answer| {
            status.try_set(Some(answer));
        });
    };
    let remove = move |_| {
        let call = async move {
            provisioner
                .destroy_node_group(&user.get_value(), &cluster.get_value())
                .await
        };
        run_form(removing, remove_failed, call, move |answer| {
            status.try_set(Some(answer));
        });
    };

    let (nodes_id, ttl_id, title_id) = (
        format!("{id}-count"),
        format!("{id}-ttl"),
        format!("{id}-title"),
    );
    let labelled_by = title_id.clone();
    let (nodes_label, ttl_label) = (nodes_id.clone(), ttl_id.clone());
    let deadline = Signal::derive(move || {
        status.with(|s| {
            s.as_ref()
                .and_then(|s| s.auto_shutdown)
                .map(|t| t.unix_timestamp())
        })
    });
    view! {
        <section class="card" aria-labelledby=labelled_by data-testid="node-group">
            <h2 id=title_id>{title}</h2>
            {move || {
                if state() == ClusterState::NotFound {
                    view! {
                        <p>
                            "You have no nodes of your own here. Add some: they join the cluster "
                            "for you alone, with their own time to live, and are paid from your "
                            "budget."
                        </p>
                    }
                        .into_any()
                } else {
                    view! {
                        <dl class="cluster-facts">
                            <dt>"State"</dt>
                            <dd data-testid="node-group-state">{move || state_label(state())}</dd>
                            <dt>"Nodes"</dt>
                            <dd data-testid="node-group-nodes">
                                {move || {
                                    status
                                        .with(|s| {
                                            s.as_ref()
                                                .map(|s| {
                                                    format!(
                                                        "{} of {}",
                                                        s.current_nodes,
                                                        s.node_capacity.get(),
                                                    )
                                                })
                                        })
                                        .unwrap_or_default()
                                }}
                            </dd>
                            <dt>"Destroyed at"</dt>
                            <dd>
                                <When at=deadline/>
                            </dd>
                        </dl>
                    }
                        .into_any()
                }
            }}
            <form on:submit=submit novalidate>
                <div class="field-grid">
                    <div class="field">
                        <label for=nodes_label>"Nodes of your own"</label>
                        <input
                            id=nodes_id
                            type="number"
                            inputmode="numeric"
                            min="1"
                            prop:value=move || nodes.get()
                            on:input=move |ev| nodes.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="field">
                        <label for=ttl_label>"Time to live (minutes)"</label>
                        <input
                            id=ttl_id
                            type="number"
                            inputmode="numeric"
                            min="15"
                            prop:value=move || ttl.get()
                            on:input=move |ev| ttl.set(event_target_value(&ev))
                        />
                    </div>
                </div>
                {move || {
                    problem
                        .get()
                        .map(|why| {
                            view! {
                                <p class="field-error" role="alert">
                                    {why}
                                </p>
                            }
                        })
                }}
                <SubmitRow label="Add or resize my nodes" sending failed/>
            </form>
            {move || {
                state()
                    .is_live()
                    .then(|| {
                        view! {
                            <div class="actions">
                                <button
                                    type="button"
                                    class="button"
                                    disabled=move || removing.get()
                                    on:click=remove
                                >
                                    {move || {
                                        if removing.get() { "Removing…" } else { "Remove my nodes" }
                                    }}
                                </button>
                            </div>
                        }
                    })
            }}
            {move || remove_failed.get().map(|error| view! { <ErrorAlert error/> })}
        </section>
    }
    .into_any()
}
