//! An organization's shared cluster on its page: the live capacity requests and the bounds, the
//! caller's own request ("Request nodes", "Withdraw my request"), and for its admins the bounds
//! form and the members with their requests to join.

use leptos::prelude::*;
use sliderule_protocol::organizations::{
    Bounds, ConfigureRequest, MAX_REQUEST_TTL, Membership, MembershipDecision, MembershipState,
    Organization, Standing, paths, pooled_target,
};
use sliderule_protocol::provisioner::DeployRequest;

use super::cluster::{ClusterContext, When};
use super::form::{BoundsFields, SubmitRow, run_form};
use super::status::ErrorAlert;
use crate::api::{ApiError, Provisioner};
use crate::session::use_session;

/// The requests, bounds and the caller's own request.
#[component]
pub fn OrganizationPanel() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let session = use_session();
    let me = session
        .user()
        .map(|u| u.claims.sub.to_ascii_lowercase())
        .unwrap_or_default();
    let requests = move || {
        cluster
            .status
            .get()
            .and_then(|s| s.requests)
            .unwrap_or_default()
    };
    let bounds = move || {
        cluster.status.get().map(|s| Bounds {
            min_nodes: s.min_nodes.unwrap_or(0),
            max_nodes: s.max_nodes.unwrap_or(0),
        })
    };
    let target = move || {
        bounds().map(|b| {
            let requests = requests();
            pooled_target(requests.iter().map(|r| (r.user.as_str(), r.nodes)), b)
        })
    };
    let mine = {
        let me = me.clone();
        move || requests().iter().any(|r| r.user == me)
    };
    view! {
        <section class="card" aria-labelledby="organization-title">
            <h2 id="organization-title">"Shared cluster"</h2>
            <p>
                "Members ask for nodes for a while; the cluster runs the sum of each member's "
                "largest request, between its bounds, and sleeps when nobody asks."
            </p>
            <dl class="cluster-facts">
                <dt>"Bounds"</dt>
                <dd data-testid="org-bounds">
                    {move || bounds().map(|b| format!("{} to {} nodes", b.min_nodes, b.max_nodes))}
                </dd>
                <dt>"Target now"</dt>
                <dd data-testid="org-target">
                    {move || target().map(|t| format!("{t} nodes"))}
                </dd>
            </dl>
            <table class="requests" data-testid="org-requests">
                <caption>"Live requests"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Member"</th>
                        <th scope="col">"Nodes"</th>
                        <th scope="col">"Until"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let rows = requests();
                        if rows.is_empty() {
                            view! {
                                <tr>
                                    <td colspan="3">"Nobody is asking for nodes: the cluster sleeps."</td>
                                </tr>
                            }
                                .into_any()
                        } else {
                            rows.into_iter()
                                .map(|r| {
                                    let at = Signal::stored(Some(r.expires.unix_timestamp()));
                                    view! {
                                        <tr>
                                            <td>{r.user}</td>
                                            <td>{r.nodes}</td>
                                            <td>
                                                <When at/>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </tbody>
            </table>
        </section>
        <RequestNodesForm/>
        {move || mine().then(|| view! { <WithdrawForm/> })}
    }
}

/// "Request nodes": the caller's request, replacing their previous one.
#[component]
fn RequestNodesForm() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let nodes = RwSignal::new("1".to_owned());
    let ttl = RwSignal::new("60".to_owned());
    let problem = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let limits = cluster.limits.get_untracked();
        let limits = sliderule_protocol::Limits {
            max_ttl: limits.max_ttl.min(MAX_REQUEST_TTL),
            ..limits
        };
        let checked = limits
            .capacity_from_text(&nodes.get_untracked())
            .and_then(|n| limits.ttl_from_text(&ttl.get_untracked()).map(|t| (n, t)));
        let (n, t) = match checked {
            Ok(pair) => pair,
            Err(why) => {
                problem.set(Some(why));
                return;
            }
        };
        problem.set(None);
        let request = DeployRequest::new(cluster.cluster.get_value(), n, t);
        run_form(
            sending,
            failed,
            async move { provisioner.deploy(&request).await },
            move |status| {
                cluster.status.try_set(Some(status));
                cluster.reload();
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="request-title">
            <h2 id="request-title">"Request nodes"</h2>
            <p class="hint">"Your new request replaces your previous one."</p>
            <form on:submit=submit novalidate>
                <div class="field">
                    <label for="request-nodes">"Nodes"</label>
                    <input
                        id="request-nodes"
                        type="number"
                        inputmode="numeric"
                        min="1"
                        aria-describedby="request-error"
                        prop:value=move || nodes.get()
                        on:input=move |ev| nodes.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="request-ttl">"For how long (minutes, 15 to 720)"</label>
                    <input
                        id="request-ttl"
                        type="number"
                        inputmode="numeric"
                        min="15"
                        max="720"
                        aria-describedby="request-error"
                        prop:value=move || ttl.get()
                        on:input=move |ev| ttl.set(event_target_value(&ev))
                    />
                </div>
                <p id="request-error" class="field-error" role="alert">
                    {move || problem.get()}
                </p>
                <SubmitRow label="Request nodes" sending failed/>
            </form>
        </section>
    }
}

/// "Withdraw my request": the cluster shrinks, or sleeps when it was the last.
#[component]
fn WithdrawForm() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let failed = RwSignal::new(None::<ApiError>);
    let sending = RwSignal::new(false);
    let withdraw = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let target = cluster.cluster.get_value();
        run_form(
            sending,
            failed,
            async move { provisioner.destroy(&target).await },
            move |_| cluster.reload(),
        );
    };
    view! {
        <section class="card" aria-labelledby="withdraw-title">
            <h2 id="withdraw-title">"Withdraw my request"</h2>
            <p>"The cluster shrinks by your share, or goes to sleep if nobody else is asking."</p>
            <form on:submit=withdraw>
                <SubmitRow label="Withdraw my request" sending failed/>
            </form>
        </section>
    }
}

/// Loads the organization and, for its admins, shows the bounds form and the members.
#[component]
pub fn OrganizationAdminLoader() -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let org = RwSignal::new(None::<Organization>);
    let name = cluster.cluster.get_value();
    leptos::task::spawn_local(async move {
        if let Ok(found) = provisioner.organization(&name).await {
            org.try_set(Some(found));
        }
    });
    move || {
        org.get()
            .filter(|o| o.standing == Standing::Admin)
            .map(|o| view! { <OrganizationAdmin org=o/> })
    }
}

/// An admin's controls: bounds and members.
#[component]
fn OrganizationAdmin(org: Organization) -> impl IntoView {
    let cluster = expect_context::<ClusterContext>();
    let provisioner = expect_context::<Provisioner>();
    let min = RwSignal::new(org.min_nodes.to_string());
    let max = RwSignal::new(org.max_nodes.to_string());
    let failed = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let name = org.name.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse = |text: String| text.trim().parse::<u32>().ok();
        let (Some(min_nodes), Some(max_nodes)) =
            (parse(min.get_untracked()), parse(max.get_untracked()))
        else {
            saved.set(Some("Give whole numbers of nodes.".into()));
            return;
        };
        saved.set(None);
        let request = ConfigureRequest {
            organization: name.clone(),
            min_nodes: Some(min_nodes),
            max_nodes: Some(max_nodes),
            version: None,
            is_public: None,
            admins: None,
        };
        run_form(
            sending,
            failed,
            async move { provisioner.configure(&request).await },
            move |org| {
                saved.try_set(Some(format!(
                    "Saved: {} to {} nodes.",
                    org.min_nodes, org.max_nodes
                )));
                cluster.reload();
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="bounds-title">
            <h2 id="bounds-title">"Bounds (admins)"</h2>
            <form on:submit=submit novalidate>
                <BoundsFields id="bounds" min max min_label="Minimum nodes (0 lets it sleep)"/>
                <SubmitRow label="Save bounds" sending failed/>
                <p class="hint" role="status">{move || saved.get()}</p>
            </form>
        </section>
        <Members org=org.name/>
    }
}

/// The members and requests to join, with an admin's decisions.
#[component]
fn Members(org: sliderule_protocol::ClusterName) -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let members = RwSignal::new(None::<Result<Vec<Membership>, ApiError>>);
    let org = StoredValue::new(org);
    let load = move || {
        leptos::task::spawn_local(async move {
            let loaded = provisioner.memberships(&org.get_value()).await;
            members.try_set(Some(loaded));
        });
    };
    load();
    let failed = RwSignal::new(None::<ApiError>);
    let decide = move |path: &'static str, user: String| {
        failed.set(None);
        let decision = MembershipDecision {
            organization: org.get_value(),
            user,
        };
        leptos::task::spawn_local(async move {
            match provisioner.decide(path, &decision).await {
                Ok(_) => load(),
                Err(error) => {
                    failed.try_set(Some(error));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="members-title">
            <h2 id="members-title">"Members and requests to join (admins)"</h2>
            {move || failed.get().map(|error| view! { <ErrorAlert error/> })}
            {move || match members.get() {
                None => view! { <p>"Loading members…"</p> }.into_any(),
                Some(Err(error)) => view! { <ErrorAlert error/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p>"Nobody has asked to join yet."</p> }.into_any()
                }
                Some(Ok(list)) => {
                    view! {
                        <ul class="members" data-testid="org-members">
                            {list
                                .into_iter()
                                .map(|m| {
                                    let user = m.user.clone();
                                    let actions = decisions(m.state);
                                    view! {
                                        <li>
                                            <span class="member-name">{m.user.clone()}</span>
                                            " "
                                            <span class="badge">{state_text(m.state)}</span>
                                            {actions
                                                .into_iter()
                                                .map(|(label, path)| {
                                                    let user = user.clone();
                                                    let aria = format!("{label} {user}");
                                                    view! {
                                                        <button
                                                            type="button"
                                                            class="button button-small"
                                                            aria-label=aria
                                                            on:click=move |_| decide(path, user.clone())
                                                        >
                                                            {label}
                                                        </button>
                                                    }
                                                })
                                                .collect_view()}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The decisions an admin may take on a membership in `state`.
pub fn decisions(state: MembershipState) -> Vec<(&'static str, &'static str)> {
    match state {
        MembershipState::Pending => vec![
            ("Approve", paths::MEMBERSHIP_APPROVE),
            ("Deny", paths::MEMBERSHIP_DENY),
        ],
        MembershipState::Active => vec![("Deactivate", paths::MEMBERSHIP_DEACTIVATE)],
        MembershipState::Denied | MembershipState::Deactivated => {
            vec![("Approve", paths::MEMBERSHIP_APPROVE)]
        }
        MembershipState::None => Vec::new(),
    }
}

/// A membership's state in words.
pub fn state_text(state: MembershipState) -> &'static str {
    match state {
        MembershipState::None => "not requested",
        MembershipState::Pending => "pending",
        MembershipState::Active => "member",
        MembershipState::Denied => "denied",
        MembershipState::Deactivated => "deactivated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_decide_pending_requests_and_suspend_members() {
        let labels = |state| {
            decisions(state)
                .into_iter()
                .map(|(l, _)| l)
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(MembershipState::Pending), ["Approve", "Deny"]);
        assert_eq!(labels(MembershipState::Active), ["Deactivate"]);
        assert_eq!(labels(MembershipState::Denied), ["Approve"]);
        assert!(labels(MembershipState::None).is_empty());
    }
}
