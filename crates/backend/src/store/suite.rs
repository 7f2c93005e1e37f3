//! The behaviour every [`Store`] must have, as functions over `&dyn Store`, so each
//! implementation runs the same checks from its own tests (see `sqlite/tests.rs`). Each function
//! is one test; its name says what it checks.

mod audit;
mod budgets;
mod clients;
mod clusters;
mod codes;
mod device;
mod leases;
mod node_groups;
mod organizations;
mod purge;
mod races;
mod refresh;
mod simulated;

pub(crate) use audit::*;
pub(crate) use budgets::*;
pub(crate) use clients::*;
pub(crate) use clusters::*;
pub(crate) use codes::*;
pub(crate) use device::*;
pub(crate) use leases::*;
pub(crate) use node_groups::*;
pub(crate) use organizations::*;
pub(crate) use purge::*;
pub(crate) use races::*;
pub(crate) use refresh::*;
pub(crate) use simulated::*;

/// Calls `$runner!` with the name of every suite function that takes one store, so each store's
/// tests name them once, here: a function added to the suite runs on every store.
macro_rules! every_suite_function {
    ($runner:ident) => {
        $runner!(
            ping_answers,
            a_node_group_is_created_once_and_read_back,
            a_node_group_changes_only_from_the_revision_it_was_read_at,
            open_node_groups_leave_out_closed_ones_and_a_closed_one_is_reused,
            a_code_is_redeemed_once_and_then_reused_with_its_family,
            a_reuse_before_the_family_is_attached_is_reported_by_attach,
            a_code_is_redeemable_until_its_expiry_and_unknown_after,
            an_unknown_code_is_unknown,
            a_redeemed_code_presented_after_its_expiry_is_still_reused,
            a_pending_login_is_taken_exactly_once,
            an_expired_or_unknown_pending_login_is_refused,
            an_unknown_device_code_is_recorded_and_proceeds,
            a_device_poll_too_soon_slows_down_and_one_after_the_interval_proceeds,
            a_device_client_that_keeps_polling_too_soon_keeps_slowing_down,
            set_device_interval_changes_the_interval_in_force,
            inserting_a_device_code_again_replaces_its_interval,
            a_finished_device_code_is_forgotten,
            a_device_code_keeps_the_scope_it_was_started_with,
            a_device_code_first_seen_in_a_poll_or_finished_has_no_scope,
            reading_a_device_codes_scope_does_not_count_as_a_poll,
            a_client_used_within_its_window_is_returned_and_its_window_extends,
            a_client_unused_beyond_its_window_is_gone,
            a_live_refresh_token_rotates_into_its_successor,
            a_spent_token_inside_the_grace_window_gets_its_sealed_successor_every_time,
            a_spent_token_after_the_grace_window_revokes_the_family,
            an_unknown_refresh_token_is_invalid,
            revoking_one_family_leaves_the_other_families_of_the_login_working,
            revoking_reports_whether_a_family_was_found,
            a_family_past_its_absolute_lifetime_is_invalid_even_if_used_recently,
            a_family_idle_longer_than_its_idle_lifetime_is_invalid,
            family_of_finds_the_family_of_spent_tokens_and_of_revoked_families,
            purge_deletes_what_expired_and_keeps_what_lives,
            purge_forgets_a_redeemed_code_once_no_family_it_issued_can_live,
            a_deploy_starts_once_and_then_sees_the_open_record,
            a_live_record_also_blocks_a_new_deploy,
            a_closed_record_lets_the_name_be_deployed_again,
            an_update_swaps_only_the_revision_it_read,
            an_update_of_an_unknown_cluster_is_refused,
            every_field_of_a_record_round_trips,
            open_clusters_lists_pending_and_live_records_by_name,
            due_clusters_are_the_open_ones_past_their_deadline_soonest_first,
            clusters_whose_destroy_is_due_are_due_with_the_others_soonest_first,
            a_held_lease_is_refused_to_another_holder,
            an_expired_lease_is_taken_over,
            the_holder_renews_its_lease,
            a_released_lease_is_free_and_only_its_holder_releases_it,
            audit_entries_get_increasing_ids_and_round_trip,
            audit_pages_run_newest_first_before_an_exclusive_id,
            a_clusters_audit_entries_are_read_newest_first_without_the_others,
            a_request_signature_is_accepted_once,
            a_new_current_stack_replaces_the_clusters_previous_one,
            putting_a_stack_again_replaces_its_state,
            opening_a_budget_writes_its_opening_balance_once,
            a_posting_moves_the_balance_and_records_the_balance_after_it,
            the_allowance_is_credited_once_a_month_up_to_the_cap,
            limits_change_only_what_is_given,
            the_warning_is_marked_once_a_month,
            ledger_pages_run_newest_first_before_an_exclusive_id,
            three_nodes_for_ninety_minutes_settled_every_five_seconds_cost_exactly_2_55,
            a_capacity_change_splits_the_interval,
            settling_again_at_the_same_time_or_earlier_charges_nothing,
            a_day_is_reconciled_once_with_aws_figure_minus_ours,
            an_organization_is_created_once_with_sorted_admins,
            an_organization_update_swaps_only_the_revision_it_read,
            a_membership_request_is_pending_until_decided_and_asked_again_after_a_refusal,
            memberships_are_listed_per_organization_and_per_person,
            capacity_requests_are_live_until_they_expire_and_redundant_when_repeated,
            a_replacing_request_withdraws_the_users_others_in_the_same_step,
            capacity_requests_are_extended_and_withdrawn_per_user_or_all,
            a_local_account_is_created_once_and_enabled_disabled_and_rehashed,
            ten_failures_within_the_window_lock_the_username_for_the_lock_time,
            failures_spread_beyond_the_window_or_cleared_do_not_lock,
        );
    };
}
pub(crate) use every_suite_function;

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::{
    AuditEntry, BeginDeploy, ClusterPhase, ClusterRecord, CodeGrant, CodeRedemption, DevicePoll,
    Family, RefreshRules, Rotation, SimulatedStackRow, Store, StoredClient, TokenHash,
};

const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

const RULES: RefreshRules = RefreshRules {
    grace: Duration::from_secs(5),
    idle: Duration::from_secs(24 * 60 * 60),
    absolute: Duration::from_secs(30 * 24 * 60 * 60),
};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What the authenticator writes as a device code's scope; the store keeps it as text.
const SCOPE: &str = "sliderule:access provisioner:access";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn grant(expires_at: OffsetDateTime) -> CodeGrant {
    CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "http://127.0.0.1:8123/callback".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        grant: r#"{"login":"alice","scope":"openid"}"#.into(),
        expires_at,
    }
}

fn family(id: &str, login: &str, created_at: OffsetDateTime) -> Family {
    Family {
        id: id.into(),
        login: login.into(),
        grant: format!(r#"{{"login":"{login}"}}"#),
        created_at,
        last_used_at: created_at,
        revoked: false,
    }
}

fn client(id: &str, at: OffsetDateTime) -> StoredClient {
    StoredClient {
        client_id: id.into(),
        record: format!(r#"{{"client_id":"{id}"}}"#),
        registered_at: at,
        last_used_at: at,
    }
}

/// A pending record of `cluster` created at `at`, due an hour later.
fn record(cluster: &str, at: OffsetDateTime) -> ClusterRecord {
    ClusterRecord {
        cluster: cluster.into(),
        owner: "alice".into(),
        node_capacity: 3,
        version: "latest".into(),
        is_public: false,
        deadline: Some(at + secs(3600)),
        stack_id: None,
        phase: ClusterPhase::Pending,
        created_at: at,
        updated_at: at,
        revision: 1,
        destroy: None,
    }
}

/// Begins a deploy that must start; returns the stored record.
async fn started(store: &dyn Store, record: ClusterRecord) -> ClusterRecord {
    match store.begin_deploy(&record).await.unwrap() {
        BeginDeploy::Started(stored) => stored,
        other => panic!("expected Started, got {other:?}"),
    }
}

/// Closes a record (as a destroy does); returns the stored record.
async fn close(store: &dyn Store, record: ClusterRecord) -> ClusterRecord {
    let closed = ClusterRecord {
        phase: ClusterPhase::Closed,
        deadline: None,
        ..record
    };
    store.update_cluster(&closed).await.unwrap().unwrap()
}

fn hash(secret: &str) -> TokenHash {
    TokenHash::of(secret)
}

async fn rotate(
    store: &dyn Store,
    presented: &str,
    successor: &str,
    now: OffsetDateTime,
    rules: RefreshRules,
) -> Rotation {
    let sealed = format!("sealed {successor}");
    store
        .rotate_refresh(
            &hash(presented),
            &hash(successor),
            sealed.as_bytes(),
            now,
            rules,
        )
        .await
        .unwrap()
}

async fn is_revoked(store: &dyn Store, token: &str) -> bool {
    store
        .family_of(&hash(token))
        .await
        .unwrap()
        .unwrap()
        .revoked
}

pub(crate) async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
}
