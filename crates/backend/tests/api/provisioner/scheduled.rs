//! The periodic work as one-shot jobs: what a schedule (cron, EventBridge, a Lambda) runs once.

use std::time::Duration;

use super::support::*;

#[tokio::test]
async fn one_scheduled_run_reaps_what_is_due_and_reloads_the_keys() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    app.clock.advance(Duration::from_secs(15 * 60));

    let report = sliderule_backend::jobs::all(&app.state).await;
    let reaped = report.reaped.expect("the due clusters were read");
    assert_eq!(reaped.sweep.destroyed, ["bob"]);
    assert_eq!(
        reaped.destroys_pending, 1,
        "watched until its stack is gone"
    );
    assert!(report.keys_reloaded);
    assert_eq!(status(&app, &bob, "bob").await["state"], "DESTROYING");

    // Another run after the stack is gone closes the record.
    until_state(&app, &bob, "bob", "NOT_FOUND").await;
    let again = sliderule_backend::jobs::all(&app.state).await;
    assert_eq!(again.reaped.unwrap().destroys_pending, 0);
}
