//! `/report`: the owners' table of every cluster, sortable by any column.

use std::cmp::Ordering;

use leptos::prelude::*;
use leptos_router::components::A;
use sliderule_protocol::provisioner::{ClusterReport, ClusterSummary};

use crate::api::{ApiError, Provisioner};
use crate::components::cluster::{StateBadge, When, state_label};
use crate::components::gate::SignedInOnly;
use crate::components::status::{ErrorAlert, Loading};
use crate::components::test_runner::TestRunner;
use crate::components::title::set_page_title;
use crate::session::use_session;

/// The report of all clusters.
#[component]
pub fn Report() -> impl IntoView {
    set_page_title("Report");
    view! {
        <h1>"Report"</h1>
        <SignedInOnly>
            <OwnersOnly/>
        </SignedInOnly>
    }
}

#[component]
fn OwnersOnly() -> impl IntoView {
    let owner = use_session().user().is_some_and(|u| u.is_owner());
    if owner {
        view! {
            <ReportTable/>
            <TestRunner/>
        }
        .into_any()
    } else {
        view! {
            <div class="alert alert-warning" role="alert">
                <p>
                    "The report is for organization owners. Owners sign in with “Sign in as "
                    "administrator” ticked."
                </p>
            </div>
        }
        .into_any()
    }
}

/// A column of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Cluster,
    Owner,
    State,
    Nodes,
    Version,
    Public,
    AutoShutdown,
    Created,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Cluster,
        Column::Owner,
        Column::State,
        Column::Nodes,
        Column::Version,
        Column::Public,
        Column::AutoShutdown,
        Column::Created,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Cluster => "Cluster",
            Column::Owner => "Owner",
            Column::State => "State",
            Column::Nodes => "Nodes",
            Column::Version => "Version",
            Column::Public => "Public",
            Column::AutoShutdown => "Auto-shutdown",
            Column::Created => "Created",
        }
    }

    fn compare(self, a: &(String, ClusterSummary), b: &(String, ClusterSummary)) -> Ordering {
        let (an, a) = a;
        let (bn, b) = b;
        let by = match self {
            Column::Cluster => Ordering::Equal,
            Column::Owner => a.owner.cmp(&b.owner),
            Column::State => state_label(a.state).cmp(state_label(b.state)),
            Column::Nodes => {
                (a.current_nodes, a.node_capacity).cmp(&(b.current_nodes, b.node_capacity))
            }
            Column::Version => a.version.as_str().cmp(b.version.as_str()),
            Column::Public => a.is_public.cmp(&b.is_public),
            Column::AutoShutdown => a.auto_shutdown.cmp(&b.auto_shutdown),
            Column::Created => a.created.cmp(&b.created),
        };
        // Ties (and the cluster column itself) fall back to the name, so the order is stable.
        by.then_with(|| an.cmp(bn))
    }
}

/// The report's rows sorted by a column, ascending or not.
pub fn sorted(
    report: &ClusterReport,
    column: Column,
    ascending: bool,
) -> Vec<(String, ClusterSummary)> {
    let mut rows: Vec<_> = report
        .iter()
        .map(|(name, summary)| (name.as_str().to_owned(), summary.clone()))
        .collect();
    rows.sort_by(|a, b| {
        let order = column.compare(a, b);
        if ascending { order } else { order.reverse() }
    });
    rows
}

#[component]
fn ReportTable() -> impl IntoView {
    let provisioner = expect_context::<Provisioner>();
    let report = RwSignal::new(None::<Result<ClusterReport, ApiError>>);
    let loading = RwSignal::new(false);
    let sort = RwSignal::new((Column::Cluster, true));

    let load = move || {
        loading.set(true);
        leptos::task::spawn_local(async move {
            report.set(Some(provisioner.report().await));
            loading.set(false);
        });
    };
    load();

    let header = move |column: Column| {
        let aria_sort = move || match sort.get() {
            (c, true) if c == column => "ascending",
            (c, false) if c == column => "descending",
            _ => "none",
        };
        let click = move |_| {
            sort.update(|(c, ascending)| {
                if *c == column {
                    *ascending = !*ascending;
                } else {
                    *c = column;
                    *ascending = true;
                }
            })
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button type="button" class="sort-button" on:click=click>
                    {column.title()}
                    <span class="sort-mark" aria-hidden="true">
                        {move || match aria_sort() {
                            "ascending" => "▲",
                            "descending" => "▼",
                            _ => "↕",
                        }}
                    </span>
                </button>
            </th>
        }
    };

    view! {
        <div class="toolbar">
            <button
                type="button"
                class="button"
                on:click=move |_| load()
                disabled=move || loading.get()
            >
                "Refresh"
            </button>
        </div>
        {move || match report.get() {
            None => view! { <Loading what="the report"/> }.into_any(),
            Some(Err(error)) => {
                view! { <ErrorAlert error retry=Callback::new(move |()| load())/> }.into_any()
            }
            Some(Ok(report)) => {
                let count = report.len();
                view! {
                    <div class="table-scroll" role="region" aria-label="Clusters report" tabindex="0">
                        <table class="report">
                            <caption>
                                {format!(
                                    "{count} cluster{} with a record. Select a column heading to sort.",
                                    if count == 1 { "" } else { "s" },
                                )}
                            </caption>
                            <thead>
                                <tr>{Column::ALL.into_iter().map(header).collect_view()}</tr>
                            </thead>
                            <tbody>
                                {move || {
                                    let (column, ascending) = sort.get();
                                    sorted(&report, column, ascending)
                                        .into_iter()
                                        .map(|(name, s)| {
                                            let href = format!("/clusters/{name}");
                                            view! {
                                                <tr>
                                                    <th scope="row">
                                                        <A href=href>{name}</A>
                                                    </th>
                                                    <td>{s.owner.clone()}</td>
                                                    <td>
                                                        <StateBadge state=s.state/>
                                                    </td>
                                                    <td>
                                                        {format!("{} / {}", s.current_nodes, s.node_capacity.get())}
                                                    </td>
                                                    <td>{s.version.as_str().to_owned()}</td>
                                                    <td>{if s.is_public { "Yes" } else { "No" }}</td>
                                                    <td>
                                                        <When at=s.auto_shutdown.map(|t| t.unix_timestamp())/>
                                                    </td>
                                                    <td>
                                                        <When at=s.created.map(|t| t.unix_timestamp())/>
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::provisioner::ClusterState;
    use sliderule_protocol::{ClusterName, NodeCapacity, Version};

    fn row(owner: &str, nodes: u32) -> ClusterSummary {
        ClusterSummary {
            state: ClusterState::Running,
            auto_shutdown: None,
            current_nodes: nodes,
            node_capacity: NodeCapacity::new(nodes),
            version: Version::latest(),
            is_public: false,
            owner: owner.into(),
            created: None,
            destroy_pending: false,
            users: Default::default(),
        }
    }

    fn names(rows: &[(String, ClusterSummary)]) -> Vec<&str> {
        rows.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn the_report_sorts_by_any_column_both_ways() {
        let mut report = ClusterReport::new();
        report.insert(ClusterName::parse("a").unwrap(), row("zed", 5));
        report.insert(ClusterName::parse("b").unwrap(), row("amy", 1));
        report.insert(ClusterName::parse("c").unwrap(), row("bob", 3));
        assert_eq!(
            names(&sorted(&report, Column::Cluster, true)),
            ["a", "b", "c"]
        );
        assert_eq!(
            names(&sorted(&report, Column::Cluster, false)),
            ["c", "b", "a"]
        );
        assert_eq!(
            names(&sorted(&report, Column::Owner, true)),
            ["b", "c", "a"]
        );
        assert_eq!(
            names(&sorted(&report, Column::Nodes, false)),
            ["a", "c", "b"]
        );
    }
}
