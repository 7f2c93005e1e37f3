//! The shared store suite on SQLite, plus what only SQLite has: files, migrations, several
//! processes on one database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::macros::datetime;

use super::SqliteStore;
use super::migrations::MIGRATIONS;
use crate::store::{
    ClusterStore, CodeGrant, Family, RefreshRules, Rotation, Store, StoreError, TokenHash, suite,
};

/// Runs each suite function as its own test on a fresh in-memory store.
macro_rules! suite_on_memory {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = SqliteStore::open_in_memory().unwrap();
                suite::$name(&store).await;
            }
        )*
    };
}

suite_on_memory!(
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

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.db")
}

/// `count` stores opened on one file, each with its own connection, like separate processes.
fn stores_on_one_file(path: &Path, count: usize) -> Vec<Arc<dyn Store>> {
    (0..count)
        .map(|_| Arc::new(SqliteStore::open(path).unwrap()) as Arc<dyn Store>)
        .collect()
}

fn user_version(store: &SqliteStore) -> i64 {
    let conn = store.conn.lock().unwrap();
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

// Races

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_one_file_backed_store_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_redemptions_redeem_exactly_once(&stores_on_one_file(&db_path(&dir), 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_two_stores_on_one_file_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_redemptions_redeem_exactly_once(&stores_on_one_file(&db_path(&dir), 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_a_connection_per_racer_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_redemptions_redeem_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_one_file_backed_store_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 1);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_two_stores_on_one_file_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_a_connection_per_racer_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_one_file_backed_store_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_deploys_start_exactly_once(&stores_on_one_file(&db_path(&dir), 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_two_stores_on_one_file_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_deploys_start_exactly_once(&stores_on_one_file(&db_path(&dir), 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_a_connection_per_racer_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_deploys_start_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lease_acquisitions_through_two_stores_on_one_file_grant_one_holder() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_lease_acquisitions_grant_exactly_one_holder(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allowance_credits_through_two_stores_on_one_file_credit_a_month_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_allowance_credits_credit_a_month_once(&stores).await;
}

// Files and migrations

#[tokio::test]
async fn reopening_a_database_keeps_its_rows_and_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let nonce = TokenHash::of("nonce-1");
    let expires_at = datetime!(2030-01-01 0:00 UTC);
    {
        let store = SqliteStore::open(&db_path(&dir)).unwrap();
        store
            .insert_pending_login(&nonce, expires_at)
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
    let now = datetime!(2029-01-01 0:00 UTC);
    assert!(store.take_pending_login(&nonce, now).await.unwrap());
}

#[test]
fn user_version_counts_the_migrations() {
    let store = SqliteStore::open_in_memory().unwrap();
    // Every file in migrations/ is compiled in: a new one left out of the list would never run.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.extension().is_some_and(|ext| ext == "sql")
        })
        .count();
    assert_eq!(MIGRATIONS.len(), files);
    assert!(MIGRATIONS.len() >= 2, "authenticator and provisioner");
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn a_database_of_the_authenticator_alone_is_upgraded_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let nonce = TokenHash::of("nonce-1");
    {
        // What a binary with only the first migration left behind.
        let mut conn = rusqlite::Connection::open(db_path(&dir)).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute(
            "INSERT INTO pending_logins (nonce_hash, expires_at) VALUES (?1, ?2)",
            rusqlite::params![nonce.as_str(), i64::MAX],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
    let now = datetime!(2029-01-01 0:00 UTC);
    assert!(store.take_pending_login(&nonce, now).await.unwrap());
    assert!(store.open_clusters().await.unwrap().is_empty());
}

#[test]
fn stores_opening_a_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
}

#[test]
fn open_creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/store.db");
    SqliteStore::open(&path).unwrap();
    assert!(path.exists());
}

#[test]
fn a_file_database_runs_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    let conn = store.conn.lock().unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), foreign_keys), ("wal", 1));
}

#[test]
fn a_database_from_a_newer_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(&db_path(&dir)).unwrap();
        let conn = store.conn.lock().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let reopened = SqliteStore::open(&db_path(&dir));
    assert!(
        matches!(reopened, Err(StoreError::Corrupt(_))),
        "{reopened:?}"
    );
}

// What is stored

const RULES: RefreshRules = RefreshRules {
    grace: Duration::from_secs(5),
    idle: Duration::from_secs(3600),
    absolute: Duration::from_secs(86_400),
};

#[tokio::test]
async fn the_database_files_hold_hashes_and_never_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    let now = datetime!(2024-05-01 12:00 UTC);
    let secrets = [
        "plaintext-code-5b1f0c2e",
        "plaintext-refresh-a9d3e771",
        "plaintext-refresh-successor-04c8b6",
        "plaintext-nonce-7e22f9d1",
        "plaintext-device-code-c3a1",
    ];
    let [code, refresh, successor, nonce, device] = secrets.map(TokenHash::of);
    let grant = CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        code_challenge: "challenge".into(),
        grant: "{}".into(),
        expires_at: now,
    };
    store.insert_code(&code, &grant).await.unwrap();
    store.insert_pending_login(&nonce, now).await.unwrap();
    store
        .insert_device_code(&device, Duration::from_secs(5), now, "sliderule:access")
        .await
        .unwrap();
    let family = Family {
        id: "fam-1".into(),
        login: "alice".into(),
        grant: "{}".into(),
        created_at: now,
        last_used_at: now,
        revoked: false,
    };
    store.create_family(&family, &refresh).await.unwrap();
    let rotated = store
        .rotate_refresh(&refresh, &successor, b"sealed", now, RULES)
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated { .. }));

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    // The scan sees what was written...
    assert!(contains(successor.as_str()));
    // ...and no secret was.
    for secret in secrets {
        assert!(!contains(secret), "{secret} is in the database files");
    }
}

#[tokio::test]
async fn purge_clears_sealed_successors_once_the_grace_window_is_over() {
    let store = SqliteStore::open_in_memory().unwrap();
    let now = datetime!(2024-05-01 12:00 UTC);
    let family = Family {
        id: "fam-1".into(),
        login: "alice".into(),
        grant: "{}".into(),
        created_at: now,
        last_used_at: now,
        revoked: false,
    };
    let (first, second) = (TokenHash::of("rt-1"), TokenHash::of("rt-2"));
    store.create_family(&family, &first).await.unwrap();
    store
        .rotate_refresh(&first, &second, b"sealed", now, RULES)
        .await
        .unwrap();
    let sealed_count = || {
        let conn = store.conn.lock().unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM refresh_tokens WHERE sealed_successor IS NOT NULL",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
    };
    let window = Duration::from_secs(3600);

    store
        .purge_expired(now + RULES.grace, RULES, window)
        .await
        .unwrap();
    assert_eq!(sealed_count(), 1);
    let after = now + RULES.grace + Duration::from_millis(1);
    store.purge_expired(after, RULES, window).await.unwrap();
    assert_eq!(sealed_count(), 0);
}
