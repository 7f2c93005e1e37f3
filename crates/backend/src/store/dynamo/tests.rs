//! The shared store suite on DynamoDB in moto, plus what only DynamoDB has: races through two
//! store instances on one table (as two replicas would), and `store migrate` on a table.
//!
//! One moto server serves the whole unit-test binary (started on first use); every test gets
//! a fresh table of its own, so tests share nothing but the process. moto is found like the
//! integration tests find it: `$MOTO_SERVER`, else the venv `scripts/lib/setup.sh` installs
//! (`${SRDEV_TOOLS_CACHE:-$HOME/.cache/sliderule-dev}/moto-venv`), else `PATH`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_dynamodb::config::Credentials;

use super::DynamoStore;
use super::schema::VERSION;
use crate::config::AwsConfig;
use crate::store::{Store, StoreError, TokenHash, suite};

/// The running moto: its endpoint, and the write end of its watchdog's pipe (moto is killed
/// when that closes, which the kernel does when this process exits in any way).
struct Moto {
    endpoint: String,
    _watchdog: Mutex<ChildStdin>,
}

/// Runs moto's server with the Python next to `moto_server` (`$0`, the code `$2`, port `$1`),
/// its log on our pipe, killed when our end of its stdin closes.
const WATCHDOG: &str = r#"exec 3<&0
"$0" -c "$2" -H 127.0.0.1 -p "$1" </dev/null 2>&1 &
moto=$!
(cat <&3 >/dev/null; kill -9 "$moto" 2>/dev/null) >/dev/null 2>&1 &
wait "$moto""#;

/// moto's server with one request at a time, and transactions that cost what they touch.
///
/// moto's DynamoDB checks a transaction's (or a conditional write's) conditions and then
/// applies it without a lock, so two requests on moto's threads can both pass the same
/// condition, which DynamoDB never allows; the races would then fail on moto, not on our code.
///
/// moto also backs a transaction up by deep-copying every table it names, once per item, so a
/// transaction's cost grows with the table: the ledger suite's 1,080 settlements took ~100 s.
/// Here the backup is the items the transaction names (copied before it runs, put back or
/// deleted if it fails), and the table copy is skipped; which items a failed transaction
/// leaves is checked by `a_failed_transaction_leaves_every_item_as_it_was`.
const SERIAL_MOTO: &str = r#"import copy, sys, threading
import moto.server as server
import moto.dynamodb.models as dynamodb

lock = threading.Lock()
dispatch = server.DomainDispatcherApplication.__call__
def serial(self, environ, start_response):
    with lock:
        return list(dispatch(self, environ, start_response))
server.DomainDispatcherApplication.__call__ = serial

class TablesUncopied:
    @staticmethod
    def deepcopy(value, *args):
        return value if isinstance(value, dynamodb.Table) else copy.deepcopy(value, *args)
dynamodb.copy = TablesUncopied

Backend = dynamodb.DynamoDBBackend
transact = Backend.transact_write_items
def backed_up(self, transact_items):
    before = []
    for entry in transact_items:
        op = next(iter(entry.values()))
        name = op.get("TableName")
        if name not in self.tables:
            continue
        table = self.tables[name]
        key = op.get("Key")
        if key is None:
            names = [table.hash_key_attr, table.range_key_attr]
            key = {n: op["Item"][n] for n in names if n is not None and n in op["Item"]}
        try:
            item = self.get_item(name, key)
        except Exception:
            continue
        before.append((name, key, copy.deepcopy(item.to_json()["Attributes"]) if item else None))
    try:
        return transact(self, transact_items)
    except Exception:
        for name, key, attrs in reversed(before):
            if attrs is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, attrs)
        raise
Backend.transact_write_items = backed_up
server.main(sys.argv[1:])
"#;

/// The Python that runs `moto_server`: the one beside it (a venv's, or pyenv's shim), else
/// `python3`.
fn python_of(moto_server: &std::path::Path) -> PathBuf {
    let resolved = std::fs::canonicalize(moto_server).unwrap_or_else(|_| moto_server.into());
    [moto_server, resolved.as_path()]
        .into_iter()
        .filter_map(|path| path.parent())
        .map(|dir| dir.join("python"))
        .find(|python| python.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("SRDEV_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/sliderule-dev"))
        });
    let venv = cache.map(|cache| cache.join("moto-venv/bin/moto_server"));
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("moto_server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    venv.into_iter()
        .chain(on_path)
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "moto_server not found: install it with ensure_moto (scripts/lib/setup.sh) or \
                 set MOTO_SERVER"
            )
        })
}

/// Starts moto on a free port and waits for its "Running on" line (no polling).
fn start_moto() -> Moto {
    let program = python_of(&moto_server());
    let mut last_failure = String::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(&program)
            .arg(port.to_string())
            .arg(SERIAL_MOTO)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let watchdog = child.stdin.take().expect("the watchdog's stdin");
        let mut log = BufReader::new(child.stdout.take().expect("moto's log"));
        let mut line = String::new();
        let mut running = false;
        while log.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("Running on") {
                running = true;
                break;
            }
            last_failure = line.trim().to_owned();
            line.clear();
        }
        if running {
            // moto logs every request: keep reading so it never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = std::io::sink();
                let _ = std::io::copy(&mut log, &mut sink);
                let _ = child.wait();
            });
            return Moto {
                endpoint: format!("http://127.0.0.1:{port}"),
                _watchdog: Mutex::new(watchdog),
            };
        }
        let _ = child.wait();
    }
    panic!("cannot start moto: {last_failure}");
}

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start_moto)
}

/// The SDK configuration for moto, with fixed fake credentials.
async fn sdk() -> aws_config::SdkConfig {
    let aws = AwsConfig {
        region: "us-west-2".into(),
        endpoint_url: Some(moto().endpoint.clone()),
    };
    crate::cloud::cloudformation::config_loader(&aws)
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .empty_test_environment()
        .load()
        .await
}

/// A table name no other test uses.
fn fresh_table(test: &str) -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let name = format!("t{n}-{test}");
    name.chars().take(200).collect()
}

/// `count` stores on one new table, each with its own client, like separate replicas.
async fn stores_on_one_table(test: &str, count: usize) -> Vec<Arc<dyn Store>> {
    let sdk = sdk().await;
    let table = fresh_table(test);
    DynamoStore::migrate(&sdk, &table).await.unwrap();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..count {
        let store = DynamoStore::open_existing(&sdk, &table).await.unwrap();
        stores.push(Arc::new(store));
    }
    stores
}

/// Runs each suite function as its own test on a fresh table.
macro_rules! suite_on_dynamodb {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let sdk = sdk().await;
                let store = DynamoStore::open(&sdk, &fresh_table(stringify!($name)))
                    .await
                    .unwrap();
                suite::$name(&store).await;
            }
        )*
    };
}

suite::every_suite_function!(suite_on_dynamodb);

/// Runs each suite function as its own test on a fresh table read one item per request, so
/// every listing follows `LastEvaluatedKey` through many pages.
macro_rules! suite_one_item_per_page {
    ($($name:ident),* $(,)?) => {
        mod one_item_per_page {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let sdk = sdk().await;
                    let store = DynamoStore::open(&sdk, &fresh_table(stringify!($name)))
                        .await
                        .unwrap()
                        .with_page_size(1);
                    suite::$name(&store).await;
                }
            )*
        }
    };
}

suite_one_item_per_page!(
    open_clusters_lists_pending_and_live_records_by_name,
    due_clusters_are_the_open_ones_past_their_deadline_soonest_first,
    audit_pages_run_newest_first_before_an_exclusive_id,
    a_clusters_audit_entries_are_read_newest_first_without_the_others,
    ledger_pages_run_newest_first_before_an_exclusive_id,
    a_day_is_reconciled_once_with_aws_figure_minus_ours,
    purge_deletes_what_expired_and_keeps_what_lives,
    an_organization_is_created_once_with_sorted_admins,
    memberships_are_listed_per_organization_and_per_person,
    capacity_requests_are_live_until_they_expire_and_redundant_when_repeated,
    a_replacing_request_withdraws_the_users_others_in_the_same_step,
    open_node_groups_leave_out_closed_ones_and_a_closed_one_is_reused,
    a_new_current_stack_replaces_the_clusters_previous_one,
    revoking_one_family_leaves_the_other_families_of_the_login_working,
);

// Races, through two stores on one table

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_two_stores_on_one_table_redeem_exactly_once() {
    let stores = stores_on_one_table("redemptions", 2).await;
    suite::concurrent_redemptions_redeem_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_two_stores_on_one_table_rotate_once_and_replay_to_the_rest() {
    let stores = stores_on_one_table("rotations", 2).await;
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_two_stores_on_one_table_start_exactly_once() {
    let stores = stores_on_one_table("deploys", 2).await;
    suite::concurrent_deploys_start_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lease_acquisitions_through_two_stores_on_one_table_grant_one_holder() {
    let stores = stores_on_one_table("leases", 2).await;
    suite::concurrent_lease_acquisitions_grant_exactly_one_holder(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allowance_credits_through_two_stores_on_one_table_credit_a_month_once() {
    let stores = stores_on_one_table("allowances", 2).await;
    suite::concurrent_allowance_credits_credit_a_month_once(&stores).await;
}

// Migrations

#[tokio::test]
async fn migrate_creates_the_table_once_and_then_finds_it_up_to_date() {
    let sdk = sdk().await;
    let table = fresh_table("migrate");
    assert_eq!(
        DynamoStore::migrate(&sdk, &table).await.unwrap(),
        (0, VERSION)
    );
    assert_eq!(
        DynamoStore::migrate(&sdk, &table).await.unwrap(),
        (VERSION, VERSION)
    );
    let store = DynamoStore::open_existing(&sdk, &table).await.unwrap();
    store.ping().await.unwrap();
    let described = store
        .client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = described.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(super::schema::TTL_ATTRIBUTE));
}

#[tokio::test]
async fn a_missing_table_is_refused_naming_store_migrate() {
    let sdk = sdk().await;
    let table = fresh_table("missing");
    let refused = DynamoStore::open_existing(&sdk, &table).await.unwrap_err();
    assert!(matches!(refused, StoreError::Schema(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("there is no DynamoDB table {table}")),
        "{message}"
    );
    assert!(
        message.contains("run `sliderule-backend store migrate --config FILE` first"),
        "{message}"
    );
}

#[tokio::test]
async fn a_table_of_an_older_schema_is_refused_and_one_of_a_newer_is_corrupt() {
    let sdk = sdk().await;
    let table = fresh_table("versions");
    let store = DynamoStore::open(&sdk, &table).await.unwrap();
    let set_version = |version: usize| {
        let store = store.clone();
        async move {
            let item = super::item::with(
                super::item::item(super::schema::PK, super::schema::PK),
                &[("version", Some(super::item::n(version)))],
            );
            assert!(store.put(item, None, super::Expr::default()).await.unwrap());
        }
    };
    set_version(VERSION - 1).await;
    let older = DynamoStore::open_existing(&sdk, &table).await.unwrap_err();
    assert!(
        older.to_string().contains(&format!(
            "has schema version {}, and this release needs",
            VERSION - 1
        )),
        "{older}"
    );
    set_version(VERSION + 1).await;
    let newer = DynamoStore::migrate(&sdk, &table).await.unwrap_err();
    assert!(matches!(newer, StoreError::Corrupt(_)), "{newer:?}");
}

#[tokio::test]
async fn migrate_adds_the_indexes_a_table_made_elsewhere_lacks_and_keeps_its_items() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };

    let sdk = sdk().await;
    let table = fresh_table("bare");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    // The table as a template with only the primary key would make it.
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("sk"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        DynamoStore::migrate(&sdk, &table).await.unwrap(),
        (0, VERSION)
    );
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<&str> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|index| index.index_name())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["by_group", "by_kind"]);
    let store = DynamoStore::open_existing(&sdk, &table).await.unwrap();
    suite::audit_entries_get_increasing_ids_and_round_trip(&store).await;
    suite::a_clusters_audit_entries_are_read_newest_first_without_the_others(&store).await;
}

// The harness

/// The serialized moto backs a transaction up by the items it names (see `SERIAL_MOTO`): one
/// that fails its last condition must leave a put, an update and a delete before it undone.
#[tokio::test]
async fn a_failed_transaction_leaves_every_item_as_it_was() {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::{
        AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
    };

    let sdk = sdk().await;
    let table = fresh_table("rollback");
    DynamoStore::migrate(&sdk, &table).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let s = |value: &str| AttributeValue::S(value.to_owned());
    let key = |pk: &str| HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("-"))]);
    let item = |pk: &str, value: &str| {
        let mut item = key(pk);
        item.insert("value".to_owned(), s(value));
        item
    };
    for pk in ["updated", "deleted"] {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(pk, "before")))
            .send()
            .await
            .unwrap();
    }
    let put = Put::builder()
        .table_name(&table)
        .set_item(Some(item("added", "new")))
        .build()
        .unwrap();
    let update = Update::builder()
        .table_name(&table)
        .set_key(Some(key("updated")))
        .update_expression("SET #v = :v")
        .expression_attribute_names("#v", "value")
        .expression_attribute_values(":v", s("after"))
        .build()
        .unwrap();
    let delete = Delete::builder()
        .table_name(&table)
        .set_key(Some(key("deleted")))
        .build()
        .unwrap();
    let failing = ConditionCheck::builder()
        .table_name(&table)
        .set_key(Some(key("absent")))
        .condition_expression("attribute_exists(pk)")
        .build()
        .unwrap();
    let refused = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(failing)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        refused
            .as_service_error()
            .is_some_and(|e| e.is_transaction_canceled_exception()),
        "{refused:?}"
    );
    let value = |pk: &'static str| {
        let client = client.clone();
        let table = table.clone();
        async move {
            let found = client
                .get_item()
                .table_name(table)
                .set_key(Some(key(pk)))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            found
                .item()
                .and_then(|item| item.get("value"))
                .map(|value| value.as_s().unwrap().clone())
        }
    };
    assert_eq!(value("added").await, None);
    assert_eq!(value("updated").await.as_deref(), Some("before"));
    assert_eq!(value("deleted").await.as_deref(), Some("before"));
}

// Failures

#[tokio::test]
async fn an_unreachable_dynamodb_is_unavailable_naming_the_operation_and_never_a_key() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let aws = AwsConfig {
        region: "us-west-2".into(),
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
    };
    let sdk = crate::cloud::cloudformation::config_loader(&aws)
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .empty_test_environment()
        .load()
        .await;
    let store = DynamoStore::new(&sdk, "unreachable");
    let code = TokenHash::of("plaintext-code-for-the-error");
    let failed = store
        .redeem_code(&code, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap_err();
    let StoreError::Unavailable(message) = &failed else {
        panic!("expected Unavailable, got {failed:?}");
    };
    assert!(message.starts_with("DynamoDB GetItem: "), "{message}");
    assert!(!message.contains(code.as_str()), "{message}");
    assert!(!message.contains("plaintext"), "{message}");
}

// What is stored

#[tokio::test]
async fn the_table_holds_hashes_and_never_the_secrets() {
    use std::time::Duration;

    use time::macros::datetime;

    use crate::store::{CodeGrant, Family, RefreshRules, Rotation};

    let sdk = sdk().await;
    let table = fresh_table("secrets");
    let store = DynamoStore::open(&sdk, &table).await.unwrap();
    let now = datetime!(2024-05-01 12:00 UTC);
    let rules = RefreshRules {
        grace: Duration::from_secs(5),
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(86_400),
    };
    let secrets = [
        "plaintext-code-5b1f0c2e",
        "plaintext-refresh-a9d3e771",
        "plaintext-refresh-successor-04c8b6",
        "plaintext-nonce-7e22f9d1",
        "plaintext-device-code-c3a1",
        "plaintext-signature-91ab",
    ];
    let [code, refresh, successor, nonce, device, signature] = secrets.map(TokenHash::of);
    let grant = CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        code_challenge: "challenge".into(),
        grant: "{}".into(),
        expires_at: now,
    };
    store.insert_code(&code, &grant).await.unwrap();
    store.redeem_code(&code, now).await.unwrap();
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
        .rotate_refresh(&refresh, &successor, b"sealed", now, rules)
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated { .. }));
    use crate::store::ClusterStore;
    store.first_use_of_signature(&signature, now).await.unwrap();

    let mut dump = String::new();
    let mut start = None;
    loop {
        let page = store
            .client
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        dump.push_str(&format!("{:?}", page.items()));
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    // The scan sees what was written...
    assert!(dump.contains(successor.as_str()), "{dump}");
    // ...and no secret was.
    for secret in secrets {
        assert!(!dump.contains(secret), "{secret} is in the table");
    }
}
