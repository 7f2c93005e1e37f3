//! `/clusters`: one card per cluster the signed-in member may use, kept current by polling.
//!
//! The list is what `/info` says the person may deploy (personal, teams, affiliates), plus every
//! cluster `/report/clusters` shows them (owners: every live cluster). Owners also get a name
//! field to open any cluster.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{
    Budget, ClusterReport, ClusterState, ClusterSummary, HostCluster,
};

use crate::api::{ApiError, Provisioner};
use crate::components::budget::BudgetBanner;
use crate::components::cluster::{StateBadge, When, time_left};
use crate::components::gate::{MembersOnly, SignedInOnly};
use crate::components::node_group::NodeGroupPanel;
use crate::components::status::{ErrorAlert, Loading};
use crate::components::title::set_page_title;
use crate::config::WebConfig;
use crate::poll::{poll_while_mounted, use_ticker};
use crate::session::use_session;

/// The list of clusters.
#[component]
pub fn Clusters() -> impl IntoView {
    set_page_title("Clusters");
    view! {
        <h1>"Clusters"</h1>
        <SignedInOnly>
            <MembersOnly>
                <ClusterList/>
            </MembersOnly>
        </SignedInOnly>
    }
}

/// What a card shows: a name, and its summary when the cluster exists.
type Cards = Vec<(String, Option<ClusterSummary>)>;

/// The cards to show: every deployable cluster (without `*`) and every reported one, in name
/// order, each once.
pub fn cards(deployable: &[String], report: &ClusterReport) -> Cards {
    let mut cards: BTreeMap<String, Option<ClusterSummary>> = deployable
        .iter()
        .filter(|name| ClusterName::parse(name).is_ok())
        .map(|name| (name.to_ascii_lowercase(), None))
        .collect();
    for (name, summary) in report {
        cards.insert(name.as_str().to_owned(), Some(summary.clone()));
    }
    cards.into_iter().collect()
}

#[component]
fn ClusterList() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let session = use_session();
    let owner = session.user().is_some_and(|u| u.is_owner());
    let public_node_groups = expect_context::<WebConfig>().public_node_groups;
    let data = RwSignal::new(None::<Result<Cards, ApiError>>);
    let loading = RwSignal::new(false);

    // Which clusters a person may deploy does not change within a session, so `/info` is asked
    // once; each poll asks only for the report.
    let deployable = StoredValue::new(None::<Vec<String>>);
    let poll_failed = RwSignal::new(None::<ApiError>);
    // With budgets on, a banner for each budget of the person's clusters that runs low; asked
    // once per visit, like `/info`.
    let low = RwSignal::new(Vec::<Budget>::new());
    let load_low_budgets = move |deployable: Vec<String>| {
        leptos::task::spawn_local(async move {
            if let Ok(budgets) = provisioner.budgets().await {
                low.try_set(low_budgets(budgets, &deployable));
            }
        });
    };
    // The report also lists a cluster where the person only has nodes of their own (the public
    // one): its card would lead to a page they may not use; the node-group panel shows it.
    let claims = StoredValue::new(session.user().map(|u| u.claims.clone()));
    let usable = move |report: Result<ClusterReport, ApiError>| {
        report.map(|mut report| {
            claims.with_value(|claims| {
                report.retain(|name, _| claims.as_ref().is_some_and(|c| c.may_use_cluster(name)));
            });
            report
        })
    };
    let load = move || {
        loading.set(true);
        leptos::task::spawn_local(async move {
            let result = match deployable.get_value() {
                Some(names) => usable(provisioner.report().await).map(|r| cards(&names, &r)),
                None => {
                    let (info, report) = futures::join!(provisioner.info(), provisioner.report());
                    let report = usable(report);
                    info.and_then(|info| {
                        let cards = cards(&info.deployable_clusters, &report?);
                        if info.pricing.is_some() {
                            load_low_budgets(info.deployable_clusters.clone());
                        }
                        deployable.set_value(Some(info.deployable_clusters));
                        Ok(cards)
                    })
                }
            };
            let shown = data.with_untracked(|d| matches!(d, Some(Ok(_))));
            match result {
                // A failed poll keeps the cards already shown and says why above them.
                Err(error) if shown => poll_failed.set(Some(error)),
                result => {
                    poll_failed.set(None);
                    data.set(Some(result));
                }
            }
            loading.set(false);
        });
    };
    load();

    let now = use_ticker();
    let busy = move || {
        data.with(|d| match d {
            Some(Ok(cards)) => cards
                .iter()
                .any(|(_, s)| s.as_ref().is_some_and(|s| s.state.is_busy())),
            _ => false,
        })
    };
    poll_while_mounted(now, busy, move || loading.get_untracked(), load);

    view! {
        {move || {
            low.get()
                .into_iter()
                .map(|budget| view! { <BudgetBanner budget=Signal::stored(Some(budget))/> })
                .collect_view()
        }}
        {owner.then(|| view! { <OpenCluster/> })}
        {public_node_groups
            .then(|| {
                view! {
                    <NodeGroupPanel
                        cluster=HostCluster::Public
                        title="Your nodes on the public cluster"
                        id="public-nodes"
                    />
                }
            })}
        {move || poll_failed.get().map(|error| view! { <ErrorAlert error/> })}
        {move || match data.get() {
            None => view! { <Loading what="your clusters"/> }.into_any(),
            Some(Err(error)) => {
                view! { <ErrorAlert error retry=Callback::new(move |()| load())/> }.into_any()
            }
            Some(Ok(cards)) if cards.is_empty() => {
                view! {
                    <p class="card">
                        "There are no clusters you may use yet. Owners can open any cluster by name."
                    </p>
                }
                    .into_any()
            }
            Some(Ok(cards)) => {
                view! {
                    <ul class="cluster-grid" aria-label="Your clusters">
                        {cards
                            .into_iter()
                            .map(|(name, summary)| {
                                view! {
                                    <li>
                                        <ClusterCard name summary now/>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }
        }}
    }
}

#[component]
fn ClusterCard(
    name: String,
    summary: Option<ClusterSummary>,
    now: ReadSignal<i64>,
) -> impl IntoView {
    let heading_id = format!("card-{name}");
    let labelled_by = heading_id.clone();
    let href = format!("/clusters/{name}");
    let state = summary.as_ref().map_or(ClusterState::NotFound, |s| s.state);
    let nodes = summary.as_ref().map_or("0 / 0".to_owned(), |s| {
        format!("{} / {}", s.current_nodes, s.node_capacity.get())
    });
    let deadline = summary
        .as_ref()
        .and_then(|s| s.auto_shutdown)
        .map(|t| t.unix_timestamp());
    let created = summary
        .as_ref()
        .and_then(|s| s.created)
        .map(|t| t.unix_timestamp());
    let version = summary
        .as_ref()
        .map_or("—".to_owned(), |s| s.version.as_str().to_owned());
    let access = summary
        .as_ref()
        .map_or("—", |s| if s.is_public { "Public" } else { "Private" });
    view! {
        <article class="card cluster-card" aria-labelledby=labelled_by>
            <header class="cluster-card-head">
                <h2 id=heading_id>
                    <A href=href>{name.clone()}</A>
                </h2>
                <StateBadge state=state/>
            </header>
            <dl class="cluster-facts">
                <dt>"Nodes"</dt>
                <dd data-testid="cluster-nodes">{nodes}</dd>
                <dt>"Auto-shutdown"</dt>
                <dd>
                    <When at=deadline/>
                    <span class="countdown" data-testid="cluster-countdown">
                        {move || time_left(deadline, now.get())}
                    </span>
                </dd>
                <dt>"Version"</dt>
                <dd>{version}</dd>
                <dt>"Access"</dt>
                <dd>{access}</dd>
                <dt>"Created"</dt>
                <dd>
                    <When at=created/>
                </dd>
            </dl>
        </article>
    }
}

/// Owners may act on any cluster: a name field that opens its page.
#[component]
fn OpenCluster() -> impl IntoView {
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match ClusterName::parse(name.get_untracked().trim()) {
            Ok(cluster) => {
                problem.set(None);
                navigate(
                    &format!("/clusters/{}", cluster.as_str()),
                    Default::default(),
                );
            }
            Err(error) => problem.set(Some(error.to_string())),
        }
    };
    view! {
        <form class="card open-cluster" aria-labelledby="open-cluster-title" on:submit=submit>
            <h2 id="open-cluster-title">"Open a cluster"</h2>
            <div class="field-row">
                <div class="field">
                    <label for="open-cluster-name">"Cluster name"</label>
                    <input
                        id="open-cluster-name"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=move || problem.get().is_some().to_string()
                        aria-describedby="open-cluster-error"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </div>
                <button type="submit" class="button button-primary">"Open"</button>
            </div>
            <p id="open-cluster-error" class="field-error" role="alert">
                {move || problem.get()}
            </p>
        </form>
    }
}

/// The budgets among `budgets` that pay for one of `deployable` (every one for an owner's `*`)
/// and have at most 10 % of their allowance left.
fn low_budgets(budgets: Vec<Budget>, deployable: &[String]) -> Vec<Budget> {
    let all = deployable.iter().any(|c| c == "*");
    budgets
        .into_iter()
        .filter(|b| b.warning && (all || deployable.contains(&b.account)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::{NodeCapacity, Version};

    fn summary(state: ClusterState) -> ClusterSummary {
        ClusterSummary {
            state,
            auto_shutdown: None,
            current_nodes: 1,
            node_capacity: NodeCapacity::new(2),
            version: Version::latest(),
            is_public: false,
            owner: "bob".into(),
            created: None,
            destroy_pending: false,
            users: Default::default(),
        }
    }

    #[test]
    fn every_deployable_and_every_reported_cluster_gets_one_card_in_name_order() {
        let mut report = ClusterReport::new();
        report.insert(
            ClusterName::parse("bob").unwrap(),
            summary(ClusterState::Running),
        );
        report.insert(
            ClusterName::parse("alice").unwrap(),
            summary(ClusterState::Deploying),
        );
        let cards = cards(&["*".into(), "bob".into(), "icesat2".into()], &report);
        let names: Vec<&str> = cards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "icesat2"]);
        assert!(cards[1].1.is_some(), "bob has its summary");
        assert!(cards[2].1.is_none(), "icesat2 is not deployed");
    }

    #[test]
    fn banners_are_for_the_low_budgets_of_ones_own_clusters() {
        let budget = |account: &str, warning: bool| Budget {
            account: account.into(),
            kind: sliderule_protocol::provisioner::BudgetKind::Organization,
            balance: sliderule_protocol::Usd::from_dollars(1),
            monthly_allowance: sliderule_protocol::Usd::from_dollars(100),
            max_balance: sliderule_protocol::Usd::from_dollars(200),
            burn_rate_per_hour: sliderule_protocol::Usd::ZERO,
            runs_out_at: None,
            runs_out_at_max: None,
            warning,
            ledger: None,
        };
        let all = || {
            vec![
                budget("bob", false),
                budget("icesat2", true),
                budget("x", true),
            ]
        };
        let mine = low_budgets(all(), &["bob".into(), "icesat2".into()]);
        assert_eq!(
            mine.iter().map(|b| b.account.as_str()).collect::<Vec<_>>(),
            ["icesat2"]
        );
        assert_eq!(low_budgets(all(), &["*".into()]).len(), 2);
    }
}
