//! How a cluster's state, size and deadline look, the same on cards, the detail page and the
//! report.

use leptos::prelude::*;
use sliderule_protocol::provisioner::ClusterState;

use crate::time::{countdown, iso, local_datetime};

/// The words for a state; the badge shows them, so colour is never the only signal.
pub fn state_label(state: ClusterState) -> &'static str {
    match state {
        ClusterState::NotFound => "Not deployed",
        ClusterState::Deploying => "Deploying",
        ClusterState::Running => "Running",
        ClusterState::Updating => "Updating",
        ClusterState::Destroying => "Destroying",
        ClusterState::Failed => "Failed",
    }
}

fn state_class(state: ClusterState) -> &'static str {
    match state {
        ClusterState::NotFound => "badge badge-idle",
        ClusterState::Deploying | ClusterState::Updating => "badge badge-busy",
        ClusterState::Running => "badge badge-ok",
        ClusterState::Destroying => "badge badge-busy",
        ClusterState::Failed => "badge badge-bad",
    }
}

/// A state badge: a shape and the state in words.
#[component]
pub fn StateBadge(#[prop(into)] state: Signal<ClusterState>) -> impl IntoView {
    view! {
        <span class=move || state_class(state.get()) data-testid="cluster-state">
            <span class="badge-dot" aria-hidden="true"></span>
            {move || state_label(state.get())}
        </span>
    }
}

/// Time left until a deadline, e.g. "29 min 58 s left"; "—" without one.
pub fn time_left(deadline: Option<i64>, now: i64) -> String {
    match deadline {
        Some(at) if at > now => format!("{} left", countdown(at - now)),
        Some(_) => "due now".to_owned(),
        None => "—".to_owned(),
    }
}

/// A deadline as a `<time>`, or "—".
#[component]
pub fn When(#[prop(into)] at: Signal<Option<i64>>) -> impl IntoView {
    move || match at.get() {
        Some(at) => view! { <time datetime=iso(at)>{local_datetime(at)}</time> }.into_any(),
        None => "—".into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_counts_down_to_the_deadline() {
        assert_eq!(time_left(Some(1_800), 2), "29 min 58 s left");
        assert_eq!(time_left(Some(10), 10), "due now");
        assert_eq!(time_left(None, 10), "—");
    }

    #[test]
    fn every_state_has_words() {
        assert_eq!(state_label(ClusterState::NotFound), "Not deployed");
        assert_eq!(state_label(ClusterState::Running), "Running");
    }
}

/// What the parts of a cluster's page share: the cluster, its latest status, events and the
/// caller's limits, and a way to load them again. Copy, so every form and button can hold it.
#[derive(Clone, Copy)]
pub struct ClusterContext {
    pub cluster: StoredValue<sliderule_protocol::ClusterName>,
    /// The latest status; `None` when the cluster is not deployed.
    pub status: RwSignal<Option<sliderule_protocol::provisioner::ClusterStatus>>,
    pub events: RwSignal<Vec<sliderule_protocol::provisioner::StackEvent>>,
    pub limits: RwSignal<sliderule_protocol::Limits>,
    /// The prices and the budget that pays for the cluster, when budgets are on.
    pub funds: RwSignal<Option<super::budget::Funds>>,
    /// Set by the page; forms call it after an action so status and events follow at once.
    pub reload: StoredValue<Option<Callback<()>>, LocalStorage>,
}

impl ClusterContext {
    /// The state now (tracked); not deployed without a status.
    pub fn state(&self) -> ClusterState {
        self.status
            .with(|s| s.as_ref().map_or(ClusterState::NotFound, |s| s.state))
    }

    /// Whether a destroy was asked for and waits for the cloud (tracked).
    pub fn destroy_pending(&self) -> bool {
        self.status
            .with(|s| s.as_ref().is_some_and(|s| s.destroy_pending))
    }

    /// Why deploying or extending cannot be done while a destroy is pending.
    pub fn blocked_by_destroy(&self) -> Option<&'static str> {
        self.destroy_pending()
            .then_some("A destroy is pending: the cluster is deleted as soon as the cloud allows.")
    }

    pub fn name(&self) -> String {
        self.cluster.with_value(|c| c.as_str().to_owned())
    }

    pub fn reload(&self) {
        if let Some(reload) = self.reload.get_value() {
            reload.run(());
        }
    }
}

/// Why deploying (or updating) cannot be done now; `None` when it can.
pub fn deploy_blocked(state: ClusterState) -> Option<&'static str> {
    match state {
        ClusterState::Destroying => {
            Some("Wait until the cluster is destroyed, then deploy it again.")
        }
        ClusterState::Failed => Some("The cluster failed: destroy it first, then deploy it again."),
        ClusterState::Deploying | ClusterState::Updating => {
            Some("Wait until the current operation finishes.")
        }
        ClusterState::NotFound | ClusterState::Running => None,
    }
}

/// Why extending cannot be done now.
pub fn extend_blocked(state: ClusterState) -> Option<&'static str> {
    match state {
        ClusterState::NotFound => {
            Some("The cluster is not deployed, so there is nothing to extend.")
        }
        ClusterState::Destroying => Some("The cluster is being destroyed."),
        ClusterState::Failed => Some("The cluster failed: destroy it instead."),
        ClusterState::Deploying | ClusterState::Running | ClusterState::Updating => None,
    }
}

/// Why destroying cannot be done now.
pub fn destroy_blocked(state: ClusterState) -> Option<&'static str> {
    match state {
        ClusterState::NotFound => Some("The cluster is not deployed."),
        ClusterState::Destroying => Some("The cluster is already being destroyed."),
        _ => None,
    }
}

#[cfg(test)]
mod blocked_tests {
    use super::*;

    #[test]
    fn buttons_say_why_they_cannot_apply_in_each_state() {
        assert_eq!(deploy_blocked(ClusterState::Running), None);
        assert!(
            deploy_blocked(ClusterState::Failed)
                .unwrap()
                .contains("destroy it first")
        );
        assert!(
            extend_blocked(ClusterState::NotFound)
                .unwrap()
                .contains("not deployed")
        );
        assert_eq!(extend_blocked(ClusterState::Deploying), None);
        assert_eq!(destroy_blocked(ClusterState::Failed), None);
        assert!(destroy_blocked(ClusterState::Destroying).is_some());
    }
}
