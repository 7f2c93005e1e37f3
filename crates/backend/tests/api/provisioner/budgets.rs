//! Budgets through HTTP (provisioner.md, "Budgets"): refusals, charges to the second, the
//! owner's adjustments and settings, the monthly allowance, the warning, exhaustion, and who
//! sees which budget. The budget sweep is driven by hand on the manual clock.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::budgets::cost_explorer::{CostExplorer, day_text};
use sliderule_backend::budgets::reconcile::reconcile_recent;
use sliderule_backend::clock::Clock as _;
use sliderule_backend::jobs;
use sliderule_backend::provisioner::budget_sweep::BudgetSweep;

use super::support::{call, deploy, member, ok, owner, refused, status, until_state};
use crate::helpers::{RunningDemo, TestApp, TestConfig};
use crate::moto::MotoServer;

/// Budgets on, with the demo's prices, and every background job an hour apart so the tests
/// drive the sweep (and nothing races it) on the manual clock.
async fn budget_app(values: Vec<(&'static str, toml::Value)>) -> TestApp {
    let mut all = vec![
        ("budgets.enabled", toml::Value::Boolean(true)),
        ("budgets.charge_period_secs", toml::Value::Integer(3600)),
        ("provisioner.reaper_period_secs", toml::Value::Integer(3600)),
        ("provisioner.destroy_poll_secs", toml::Value::Integer(3600)),
        (
            "provisioner.reconcile_period_secs",
            toml::Value::Integer(3600),
        ),
    ];
    all.extend(values);
    TestApp::spawn_with(TestConfig {
        values: all,
        ..Default::default()
    })
    .await
}

/// Fails unless `/metrics` has the line `line` (a counter and its value).
async fn counted(app: &TestApp, line: &str) {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l == line),
        "no {line:?} in {metrics}"
    );
}

async fn sweep(app: &TestApp) -> BudgetSweep {
    app.state.provisioner.sweep_budgets().await.unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Moves the manual clock to `n` minutes after `started`.
fn advance_to(app: &TestApp, started: time::OffsetDateTime, n: u64) {
    let elapsed = Duration::try_from(app.clock.now() - started).unwrap();
    app.clock.advance(minutes(n) - elapsed);
}

/// One budget with its ledger, as `token` reads it.
async fn budget(app: &TestApp, token: &str, account: &str) -> Value {
    let body = ok(app, token, "/budget", json!({ "account": account })).await;
    body["budgets"][0].clone()
}

async fn balance(app: &TestApp, alice: &str, account: &str) -> f64 {
    budget(app, alice, account).await["balance"]
        .as_f64()
        .unwrap()
}

async fn adjust(
    app: &TestApp,
    alice: &str,
    account: &str,
    amount: Value,
    note: &str,
) -> reqwest::Response {
    call(
        app,
        alice,
        "/budget/adjust",
        json!({ "account": account, "amount": amount, "note": note }),
    )
    .await
}

/// The audit log's actions about `cluster`, oldest first.
async fn audited(app: &TestApp, alice: &str, cluster: &str) -> Vec<String> {
    let page = ok(app, alice, "/audit", json!({ "limit": 1000 })).await;
    let mut actions: Vec<String> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cluster"] == cluster)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn info_shows_the_callers_budget_with_the_demo_defaults() {
    let app = budget_app(vec![]).await;
    let info = ok(&app, &member(&app, "bob"), "/info", json!({})).await;
    let own = &info["budget"];
    assert_eq!(own["account"], "bob");
    assert_eq!(own["kind"], "personal");
    assert_eq!(own["balance"], 100.0);
    assert_eq!(own["monthly_allowance"], 100.0);
    assert_eq!(own["max_balance"], 200.0);
    assert_eq!(own["burn_rate_per_hour"], 0.0);
    assert_eq!(own["runs_out_at"], Value::Null);
    assert_eq!(own["warning"], false);
    // The prices, so a client can show a deploy's cost before sending it.
    assert_eq!(info["pricing"]["node_usd_per_hour"], 0.5);
    assert_eq!(info["pricing"]["cluster_usd_per_hour"], 0.2);
    // A team cluster's account opens when its member first looks, as at a first deploy.
    let team = budget(&app, &member(&app, "bob"), "icesat2").await;
    assert_eq!(
        (team["kind"].as_str(), team["balance"].as_f64()),
        (Some("organization"), Some(100.0))
    );
}

#[tokio::test]
async fn a_deploy_the_balance_cannot_pay_is_refused_with_the_affordable_ttl_and_records_nothing() {
    let app = budget_app(vec![("budgets.initial_balance", toml::Value::Integer(1))]).await;
    let bob = member(&app, "bob");
    let body = json!({ "cluster": "bob", "node_capacity": 3, "ttl": 60 });
    let (code, error, description) = refused(&app, &bob, "/deploy", body).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, "insufficient_funds");
    assert_eq!(
        description,
        "3 nodes for 60 minutes cost 1.70 USD but the balance of bob is 1.00 USD; it affords at most 35 minutes"
    );
    let (code, ..) = refused(&app, &bob, "/status", json!({ "cluster": "bob" })).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let ledger = budget(&app, &bob, "bob").await["ledger"].clone();
    assert_eq!(ledger.as_array().unwrap().len(), 1, "{ledger}");
    // What it affords goes through.
    deploy(&app, &bob, "bob", 3, 35).await;
    counted(&app, "sliderule_budget_refusals_total 1").await;
}

#[tokio::test]
async fn an_owner_credit_lets_a_refused_deploy_through_and_is_in_the_ledger_and_audit() {
    let app = budget_app(vec![("budgets.initial_balance", toml::Value::Integer(1))]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    let body = json!({ "cluster": "bob", "node_capacity": 3, "ttl": 60 });
    let (code, ..) = refused(&app, &bob, "/deploy", body.clone()).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);

    let response = adjust(&app, &alice, "bob", json!("10.00"), "workshop on Friday").await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["balance"], 11.0);
    let entry = &after["ledger"][0];
    assert_eq!(entry["kind"], "credit");
    assert_eq!(entry["amount"], 10.0);
    assert_eq!(entry["balance"], 11.0);
    assert_eq!(entry["note"], "workshop on Friday");
    assert_eq!(entry["actor"], "alice");

    ok(&app, &bob, "/deploy", body).await;
    assert_eq!(
        audited(&app, &alice, "bob").await,
        ["budget_adjust", "deploy"]
    );
}

#[tokio::test]
async fn extend_is_refused_when_the_balance_cannot_pay_to_the_new_deadline() {
    let app = budget_app(vec![("budgets.initial_balance", toml::Value::Integer(2))]).await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let before = status(&app, &bob, "bob").await["expires_in_secs"].clone();
    let (code, error, description) = refused(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 240 }),
    )
    .await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
    );
    assert!(
        description.starts_with("1 node for 240 minutes cost 2.80 USD but the balance of bob is"),
        "{description}"
    );
    assert_eq!(
        status(&app, &bob, "bob").await["expires_in_secs"],
        before,
        "the deadline did not move"
    );
    ok(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 120 }),
    )
    .await;
}

#[tokio::test]
async fn a_scale_up_the_balance_cannot_pay_is_refused_and_the_cluster_keeps_its_size() {
    let app = budget_app(vec![("budgets.initial_balance", toml::Value::Integer(3))]).await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let (code, error, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 10, "ttl": 60 }),
    )
    .await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
    );
    assert!(
        description.starts_with("10 nodes for 60 minutes cost 5.20 USD but the balance of bob is"),
        "{description}"
    );
    let after = status(&app, &bob, "bob").await;
    assert_eq!(
        (after["state"].as_str(), after["node_capacity"].as_u64()),
        (Some("RUNNING"), Some(1))
    );
}

#[tokio::test]
async fn three_nodes_for_ninety_minutes_cost_exactly_2_55() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    let started = app.clock.now();
    deploy(&app, &bob, "bob", 3, 120).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    advance_to(&app, started, 90);
    let swept = sweep(&app).await;
    assert!(swept.swept);
    assert_eq!(swept.charged, 1);
    assert_eq!(balance(&app, &alice, "bob").await, 97.45);
    let bob_budget = budget(&app, &bob, "bob").await;
    assert_eq!(bob_budget["burn_rate_per_hour"], 1.7);
    let charges: f64 = bob_budget["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "charge")
        .map(|e| {
            assert_eq!(e["cluster"], "bob");
            e["amount"].as_f64().unwrap()
        })
        .sum();
    assert!((charges + 2.55).abs() < 1e-9, "{charges}");
    // Sweeping again at the same instant charges nothing more.
    sweep(&app).await;
    assert_eq!(balance(&app, &alice, "bob").await, 97.45);
    counted(&app, "sliderule_budget_charges_total 1").await;
}

#[tokio::test]
async fn a_capacity_change_mid_way_closes_the_interval_at_the_old_size() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    let started = app.clock.now();
    deploy(&app, &bob, "bob", 3, 120).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    advance_to(&app, started, 30);
    // 30 minutes at 3 nodes: 0.85, charged by the update itself.
    deploy(&app, &bob, "bob", 1, 120).await;
    assert_eq!(balance(&app, &alice, "bob").await, 99.15);
    app.clock.advance(minutes(60));
    sweep(&app).await;
    // Then 60 minutes at 1 node: 0.70.
    assert_eq!(balance(&app, &alice, "bob").await, 98.45);
}

#[tokio::test]
async fn an_exhausted_account_has_its_clusters_destroyed_in_the_sweep_after_it_runs_out_not_before()
{
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    let started = app.clock.now();
    deploy(&app, &bob, "bob", 1, 60).await;
    // A negative adjustment: 0.20 USD left, which 1 node (0.70 USD/h) spends in 17 1/7 minutes.
    let response = adjust(&app, &alice, "bob", json!(-99.8), "testing exhaustion").await;
    assert_eq!(response.status(), StatusCode::OK);
    let info = ok(&app, &bob, "/info", json!({})).await;
    assert_eq!(info["budget"]["warning"], true);
    assert!(info["budget"]["runs_out_at"].is_string(), "{info}");

    advance_to(&app, started, 17);
    let swept = sweep(&app).await;
    assert!(swept.exhausted.is_empty());
    assert_eq!(status(&app, &bob, "bob").await.get("destroy_pending"), None);

    app.clock.advance(minutes(1));
    let swept = sweep(&app).await;
    assert_eq!(swept.exhausted, ["bob"]);
    let after = status(&app, &bob, "bob").await;
    assert!(
        after["state"] == "DESTROYING" || after["destroy_pending"] == true,
        "{after}"
    );
    let actions = audited(&app, &alice, "bob").await;
    assert!(
        actions.ends_with(&["budget_exhausted".to_owned(), "destroy".to_owned()]),
        "{actions:?}"
    );
    assert!(balance(&app, &alice, "bob").await <= 0.0);
    // Nothing is destroyed twice.
    assert!(sweep(&app).await.exhausted.is_empty());
    counted(&app, "sliderule_budget_exhaustion_destroys_total 1").await;
}

#[tokio::test]
async fn the_allowance_is_credited_on_the_first_of_the_month_once_up_to_the_cap() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    ok(&app, &bob, "/info", json!({})).await;
    adjust(&app, &alice, "bob", json!(-50), "spent elsewhere").await;
    // Credited for the month the budget opened in: nothing until the next 1st.
    sweep(&app).await;
    assert_eq!(balance(&app, &alice, "bob").await, 50.0);

    let now = app.clock.now();
    let (year, month) = if now.month() == time::Month::December {
        (now.year() + 1, time::Month::January)
    } else {
        (now.year(), now.month().next())
    };
    let first = time::Date::from_calendar_date(year, month, 1)
        .unwrap()
        .midnight()
        .assume_utc();
    app.clock
        .advance(Duration::try_from(first - now).unwrap() + Duration::from_secs(1));
    // bob's, and alice's (opened when she first read a budget).
    assert_eq!(sweep(&app).await.allowances, 2);
    assert_eq!(sweep(&app).await.allowances, 0);
    assert_eq!(balance(&app, &alice, "bob").await, 150.0);
    // The next month, only what fits under the 200 USD cap.
    app.clock.advance(Duration::from_secs(32 * 86_400));
    assert_eq!(sweep(&app).await.allowances, 2);
    assert_eq!(balance(&app, &alice, "bob").await, 200.0);
    let ledger = budget(&app, &bob, "bob").await["ledger"].clone();
    let allowances: Vec<f64> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "allowance")
        .map(|e| e["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(allowances, [50.0, 100.0, 100.0], "{ledger}");
}

#[tokio::test]
async fn the_ten_percent_warning_is_audited_once_a_month() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    ok(&app, &bob, "/info", json!({})).await;
    adjust(&app, &alice, "bob", json!(-95), "spent elsewhere").await;
    assert_eq!(sweep(&app).await.warned, ["bob"]);
    assert!(sweep(&app).await.warned.is_empty());
    let actions = audited(&app, &alice, "bob").await;
    assert_eq!(actions, ["budget_adjust", "budget_warning"]);
}

#[tokio::test]
async fn members_see_their_own_and_their_teams_budgets_and_owners_see_every_one() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    let carol = member(&app, "carol");
    deploy(&app, &bob, "icesat2", 1, 60).await;
    let accounts = |body: Value| -> Vec<String> {
        body["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["account"].as_str().unwrap().to_owned())
            .collect()
    };
    let seen = accounts(ok(&app, &bob, "/budget", json!({})).await);
    assert_eq!(seen, ["bob", "icesat2"]);
    let team = budget(&app, &bob, "icesat2").await;
    assert_eq!(team["kind"], "organization");
    assert_eq!(
        accounts(ok(&app, &carol, "/budget", json!({})).await),
        ["carol"]
    );
    let (code, error, _) = refused(&app, &carol, "/budget", json!({ "account": "icesat2" })).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
    let everyone = accounts(ok(&app, &alice, "/budget", json!({})).await);
    assert_eq!(everyone, ["alice", "bob", "carol", "icesat2"]);
    let (code, ..) = refused(&app, &alice, "/budget", json!({ "account": "nobody" })).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn adjustments_refuse_non_owners_bad_amounts_and_notes_and_change_nothing() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    ok(&app, &bob, "/info", json!({})).await;
    let (code, ..) = refused(
        &app,
        &bob,
        "/budget/adjust",
        json!({ "account": "bob", "amount": 5, "note": "me" }),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    for (amount, note, expected) in [
        (json!(0), "n", "amount must not be 0"),
        (json!(1_000_000.01), "n", "1000000.00 USD"),
        (json!(-1_000_001), "n", "1000000.00 USD"),
        (json!("ten"), "n", "not an amount of US dollars"),
        (json!(null), "n", "amount"),
        (json!(5), "  ", "note must say why"),
        (json!(5), &"x".repeat(501), "maximum of 500"),
    ] {
        let response = adjust(&app, &alice, "bob", amount.clone(), note).await;
        let (code, _, description) = crate::helpers::envelope(response).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{amount}");
        assert!(description.contains(expected), "{amount}: {description}");
    }
    let response = adjust(&app, &alice, "nobody", json!(5), "n").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(balance(&app, &alice, "bob").await, 100.0);
    let ledger = budget(&app, &bob, "bob").await["ledger"].clone();
    assert_eq!(ledger.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn owners_change_an_accounts_allowance_and_cap() {
    let app = budget_app(vec![]).await;
    let bob = member(&app, "bob");
    // Tokens are minted before the manual clock moves: they are checked against the real time.
    let alice = owner(&app);
    ok(&app, &bob, "/info", json!({})).await;
    let changed = ok(
        &app,
        &alice,
        "/budget/settings",
        json!({ "account": "bob", "monthly_allowance": "25.50", "max_balance": 60 }),
    )
    .await;
    assert_eq!(changed["monthly_allowance"], 25.5);
    assert_eq!(changed["max_balance"], 60.0);
    for body in [
        json!({ "account": "bob", "max_balance": -1 }),
        json!({ "account": "bob" }),
    ] {
        let (code, ..) = refused(&app, &alice, "/budget/settings", body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
    }
    let (code, ..) = refused(
        &app,
        &bob,
        "/budget/settings",
        json!({ "account": "bob", "max_balance": 1000 }),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let info = ok(&app, &bob, "/info", json!({})).await;
    assert_eq!(info["budget"]["max_balance"], 60.0);
}

#[tokio::test]
async fn with_budgets_off_info_has_no_budget_and_the_budget_endpoints_are_404() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let info = ok(&app, &bob, "/info", json!({})).await;
    assert!(info.get("budget").is_none(), "{info}");
    let (code, ..) = refused(&app, &bob, "/budget", json!({})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    deploy(&app, &bob, "bob", 10, 720).await;
}

/// A budget app whose Cost Explorer is `costs`.
async fn app_with_costs(
    costs: Arc<dyn sliderule_backend::budgets::cost_explorer::CostSource>,
) -> TestApp {
    TestApp::spawn_with(TestConfig {
        values: vec![
            ("budgets.enabled", toml::Value::Boolean(true)),
            ("budgets.charge_period_secs", toml::Value::Integer(3600)),
        ],
        costs: Some(costs),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn cost_explorer_figures_are_written_as_aws_minus_ours_once_per_cluster_and_day() {
    let moto = MotoServer::start().await;
    let costs = Arc::new(CostExplorer::new(&moto.sdk_config().await));
    let app = app_with_costs(costs.clone()).await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    deploy(&app, &bob, "bob", 1, 60).await;
    app.clock.advance(minutes(10));
    sweep(&app).await;
    // 10 minutes of 1 node (0.70 USD/h): 0.116667 USD, all charged on this day.
    let day = app.clock.now().date();
    let next = day.next_day().unwrap();
    moto.queue_daily_costs(&[(&day_text(day), &day_text(next), &[("bob", "2.0000000001")])])
        .await;
    app.clock.advance(Duration::from_secs(86_400));

    let run = jobs::reconcile_costs(&app.state).await.expect("it runs");
    assert_eq!(run.written, [("bob".to_owned(), day_text(day))]);
    counted(&app, "sliderule_budget_reconciliations_total 1").await;
    assert!(run.failed_days.is_empty());
    let ledger = budget(&app, &alice, "bob").await["ledger"].clone();
    let entry = ledger
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "reconcile")
        .unwrap_or_else(|| panic!("no reconcile entry in {ledger}"))
        .clone();
    assert_eq!(entry["amount"], -1.88);
    assert_eq!(entry["cluster"], "bob");
    // Charged and reconciled, the day cost what AWS says: 2.00 USD.
    assert_eq!(balance(&app, &alice, "bob").await, 98.0);

    // Within its period the job does not ask again; asked again, the day is not written twice.
    assert!(jobs::reconcile_costs(&app.state).await.is_none());
    let budgets = app.state.provisioner.budgets.as_ref().unwrap();
    let again = reconcile_recent(budgets, costs.as_ref()).await;
    assert!(again.written.is_empty(), "{again:?}");
    assert_eq!(balance(&app, &alice, "bob").await, 98.0);
}

#[tokio::test]
async fn a_cost_explorer_failure_is_counted_and_retried_and_never_blocks_a_deploy() {
    // Cost Explorer unreachable, and no retries, so the failure is immediate.
    let unreachable = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .empty_test_environment()
        .load()
        .await;
    let app = app_with_costs(Arc::new(CostExplorer::new(&unreachable))).await;
    let bob = member(&app, "bob");
    let run = jobs::reconcile_costs(&app.state).await.expect("it runs");
    assert_eq!(run.failed_days.len(), 3, "{run:?}");
    counted(
        &app,
        "sliderule_cloud_calls_total{driver=\"costexplorer\",operation=\"get_cost_and_usage\",outcome=\"failed\"} 3",
    )
    .await;
    counted(&app, "sliderule_budget_reconciliation_failures_total 3").await;
    deploy(&app, &bob, "bob", 1, 60).await;
}

/// `POST {address}/provisioner{api}` with a bearer token; the JSON answer.
async fn demo_call(address: &str, token: &str, api: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{address}/provisioner{api}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the demo answers");
    assert_eq!(response.status(), StatusCode::OK, "{api}");
    response.json().await.expect("JSON")
}

/// bob's token from the demo at `address`, by his personal access token.
async fn demo_token(address: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{address}/auth/github/pat"))
        .json(&json!({ "pat": "demo-pat-bob" }))
        .send()
        .await
        .expect("the demo answers")
        .json()
        .await
        .expect("JSON");
    body["token"].as_str().expect("a token").to_owned()
}

/// How many charges bob's ledger holds, read through the demo's API.
async fn charges_of_bob(address: &str, token: &str) -> usize {
    let body = demo_call(address, token, "/budget", json!({ "account": "bob" })).await;
    body["budgets"][0]["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "charge")
        .count()
}

/// Waits (polling, at most 60 s) until bob has more than `count` charges.
async fn until_charges_exceed(address: &str, token: &str, count: usize) -> usize {
    for _ in 0..600 {
        let now = charges_of_bob(address, token).await;
        if now > count {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("bob was never charged more than {count} times");
}

#[tokio::test]
async fn a_demo_killed_mid_run_neither_loses_nor_duplicates_a_charge() {
    use sliderule_backend::store::{BudgetStore as _, SqliteStore};

    // The real binary, charging every 5 s on the system clock.
    let demo = RunningDemo::start(&[]).await;
    let token = demo_token(&demo.address).await;
    demo_call(
        &demo.address,
        &token,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 2, "ttl": 60 }),
    )
    .await;
    let before_kill = until_charges_exceed(&demo.address, &token, 1).await;
    let data = demo.kill().await;

    // Restarted on the same data: the meter goes on from the last charge written.
    let demo = RunningDemo::start_in(data, &[]).await;
    // Its issuer is its new address: bob signs in again.
    let token = demo_token(&demo.address).await;
    until_charges_exceed(&demo.address, &token, before_kill).await;
    let data = demo.kill().await;

    let store = SqliteStore::open(&data.path().join("state.db")).unwrap();
    let mut ledger = store.ledger("bob", None, 10_000).await.unwrap();
    ledger.reverse();
    // Every entry moves the balance by its amount: no entry without its balance, or the reverse.
    for pair in ledger.windows(2) {
        assert_eq!(
            pair[0].balance.checked_add(pair[1].amount),
            Some(pair[1].balance),
            "{pair:?}"
        );
    }
    let budget = store.budget("bob").await.unwrap().unwrap();
    assert_eq!(Some(budget.balance), ledger.last().map(|e| e.balance));
    // The charges add up to exactly what the meter's one segment cost from its start to its
    // last settlement: a duplicate would charge more, a lost interval less.
    let charged = ledger
        .iter()
        .filter(|e| e.cluster.as_deref() == Some("bob"))
        .fold(sliderule_protocol::Usd::ZERO, |sum, e| {
            sum.checked_sub(e.amount).unwrap()
        });
    let meter = store
        .meters()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.cluster == "bob")
        .expect("bob still runs");
    assert_eq!(charged, meter.charged);
    assert_eq!(meter.charged, meter.segment_cost(meter.settled_at));
    assert!(charged.is_positive());
}

/// Cost Explorer that fails its first `failures` queries, then answers as `inner` does.
struct FailingFirst {
    inner: CostExplorer,
    failures: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl sliderule_backend::budgets::cost_explorer::CostSource for FailingFirst {
    async fn daily_costs(
        &self,
        day: time::Date,
    ) -> Result<
        Vec<(String, sliderule_protocol::Usd)>,
        sliderule_backend::budgets::cost_explorer::CostError,
    > {
        use std::sync::atomic::Ordering;
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(sliderule_backend::budgets::cost_explorer::CostError(
                "ThrottlingException: Rate exceeded".into(),
            ));
        }
        self.inner.daily_costs(day).await
    }
}

#[tokio::test]
async fn a_day_whose_query_failed_is_reconciled_by_the_next_run() {
    let moto = MotoServer::start().await;
    let costs = FailingFirst {
        inner: CostExplorer::new(&moto.sdk_config().await),
        failures: std::sync::atomic::AtomicU32::new(1),
    };
    let app = budget_app(vec![]).await;
    let alice = owner(&app);
    ok(&app, &member(&app, "bob"), "/info", json!({})).await;
    let day = app.clock.now().date();
    // The first run's query of that day fails before reaching moto, so the two days before it
    // take the first two (empty) answers; the next run's query of that day takes the third.
    let text = |d: time::Date| day_text(d);
    let (before, two_before) = (day.previous_day().unwrap(), day - time::Duration::days(2));
    let empty: &[(&str, &str)] = &[];
    moto.queue_daily_costs(&[
        (&text(before), &text(day), empty),
        (&text(two_before), &text(before), empty),
        (
            &text(day),
            &text(day.next_day().unwrap()),
            &[("bob", "1.25")],
        ),
    ])
    .await;
    app.clock.advance(Duration::from_secs(86_400));
    let budgets = app.state.provisioner.budgets.as_ref().unwrap();

    let first = reconcile_recent(budgets, &costs).await;
    assert_eq!(first.failed_days, [day_text(day)]);
    assert!(first.written.is_empty());
    assert_eq!(balance(&app, &alice, "bob").await, 100.0);

    let next = reconcile_recent(budgets, &costs).await;
    assert_eq!(next.written, [("bob".to_owned(), day_text(day))]);
    assert_eq!(balance(&app, &alice, "bob").await, 98.75);
}
