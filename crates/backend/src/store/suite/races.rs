//! Racing calls on one database. `stores` are handles on it (several simulate several
//! processes, each with its own connection); the racers are spread over them.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::*;

pub(crate) const RACERS: usize = 20;

/// Who wins is up to the scheduler; several rounds make a broken isolation very likely to show.
const ROUNDS: usize = 5;

/// Runs `call(store, racer)` for every racer at once and returns the outcomes by racer.
async fn race<T, F, Fut>(stores: &[Arc<dyn Store>], call: F) -> Vec<T>
where
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|racer| {
            // Futures are lazy: nothing runs before the barrier opens.
            let call = call(stores[racer % stores.len()].clone(), racer);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(RACERS);
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

pub(crate) async fn concurrent_redemptions_redeem_exactly_once(stores: &[Arc<dyn Store>]) {
    for round in 0..ROUNDS {
        let code = hash(&format!("code-raced-{round}"));
        stores[0]
            .insert_code(&code, &grant(T0 + secs(60)))
            .await
            .unwrap();
        let outcomes = race(stores, |store, _| {
            let code = code.clone();
            async move { store.redeem_code(&code, T0 + secs(1)).await.unwrap() }
        })
        .await;

        let redeemed = outcomes
            .iter()
            .filter(|o| matches!(o, CodeRedemption::Redeemed(_)))
            .count();
        let reused = outcomes
            .iter()
            .filter(|o| **o == CodeRedemption::Reused { family: None })
            .count();
        assert_eq!(
            (redeemed, reused),
            (1, RACERS - 1),
            "round {round}: {outcomes:?}"
        );
    }
}

/// All racers present the same live token at the same instant, inside the grace window. Taken
/// one at a time: the first rotates and every other gets the first's sealed successor; the family
/// lives on, and a presentation after the window still revokes it.
pub(crate) async fn concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(
    stores: &[Arc<dyn Store>],
) {
    for round in 0..ROUNDS {
        let presented = format!("rt-raced-{round}");
        let family_id = format!("fam-{round}");
        stores[0]
            .create_family(&family(&family_id, "alice", T0), &hash(&presented))
            .await
            .unwrap();
        let outcomes = race(stores, |store, racer| {
            let presented = presented.clone();
            async move {
                let successor = format!("{presented}-successor-{racer}");
                rotate(store.as_ref(), &presented, &successor, T0 + secs(1), RULES).await
            }
        })
        .await;

        let rotated: Vec<usize> = (0..RACERS)
            .filter(|racer| matches!(outcomes[*racer], Rotation::Rotated { .. }))
            .collect();
        let replays: Vec<&[u8]> = outcomes
            .iter()
            .filter_map(|o| match o {
                Rotation::Replayed {
                    sealed_successor, ..
                } => Some(sealed_successor.as_slice()),
                _ => None,
            })
            .collect();
        assert_eq!(
            (rotated.len(), replays.len()),
            (1, RACERS - 1),
            "round {round}: {outcomes:?}"
        );
        // Every replay handed out the winner's successor, which is the family's live token.
        let winner = format!("{presented}-successor-{}", rotated[0]);
        let sealed_winner = format!("sealed {winner}");
        assert!(
            replays.iter().all(|r| *r == sealed_winner.as_bytes()),
            "round {round}"
        );
        assert!(!is_revoked(stores[0].as_ref(), &presented).await);
        let next = format!("{winner}-next");
        let at = T0 + secs(2);
        let onward = rotate(stores[0].as_ref(), &winner, &next, at, RULES).await;
        assert!(matches!(onward, Rotation::Rotated { .. }), "round {round}");

        let late = T0 + secs(1) + RULES.grace + ms(1);
        let reuse = rotate(stores[0].as_ref(), &presented, "too-late", late, RULES).await;
        assert_eq!(reuse, Rotation::Reused { family_id }, "round {round}");
        assert!(is_revoked(stores[0].as_ref(), &next).await);
    }
}

/// All racers deploy one cluster at once (each with its own owner): one is `Started`, the others
/// see its record. Then the record is closed and the next round races again on the same name.
pub(crate) async fn concurrent_deploys_start_exactly_once(stores: &[Arc<dyn Store>]) {
    for round in 0..ROUNDS {
        let outcomes = race(stores, |store, racer| async move {
            let mine = ClusterRecord {
                owner: format!("racer-{racer}"),
                ..record("raced", T0 + secs(round as u64))
            };
            store.begin_deploy(&mine).await.unwrap()
        })
        .await;

        let started: Vec<&ClusterRecord> = outcomes
            .iter()
            .filter_map(|o| match o {
                BeginDeploy::Started(record) => Some(record),
                BeginDeploy::Exists(_) => None,
            })
            .collect();
        assert_eq!(started.len(), 1, "round {round}: {outcomes:?}");
        let winner = started[0].clone();
        for outcome in &outcomes {
            if let BeginDeploy::Exists(seen) = outcome {
                assert_eq!(*seen, winner, "round {round}");
            }
        }
        close(stores[0].as_ref(), winner).await;
    }
}

/// All racers ask for one free lease at once, each as its own holder: exactly one gets it.
pub(crate) async fn concurrent_lease_acquisitions_grant_exactly_one_holder(
    stores: &[Arc<dyn Store>],
) {
    for round in 0..ROUNDS {
        let name = format!("lease-raced-{round}");
        let outcomes = race(stores, |store, racer| {
            let name = name.clone();
            async move {
                let holder = format!("replica-{racer}");
                store
                    .acquire_lease(&name, &holder, T0, T0 + secs(30))
                    .await
                    .unwrap()
            }
        })
        .await;
        let holders = outcomes.iter().filter(|held| **held).count();
        assert_eq!(holders, 1, "round {round}: {outcomes:?}");
    }
}

pub(crate) async fn concurrent_allowance_credits_credit_a_month_once(stores: &[Arc<dyn Store>]) {
    use sliderule_protocol::Usd;
    use sliderule_protocol::provisioner::BudgetKind;

    stores[0]
        .open_budget(
            &crate::store::NewBudget {
                account: "bob".into(),
                kind: BudgetKind::Personal,
                balance: Usd::from_dollars(10),
                monthly_allowance: Usd::from_dollars(100),
                max_balance: Usd::from_dollars(1_000),
                period: "2024-04".into(),
            },
            T0,
        )
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let period = format!("2024-{:02}", 5 + round);
        let outcomes = race(stores, |store, _| {
            let period = period.clone();
            async move { store.credit_allowance("bob", &period, T0).await.unwrap() }
        })
        .await;
        let credited: Vec<_> = outcomes.iter().flatten().collect();
        assert_eq!(credited, vec![&Usd::from_dollars(100)], "round {round}");
    }
    let budget = stores[0].budget("bob").await.unwrap().unwrap();
    assert_eq!(budget.balance, Usd::from_dollars(10 + 100 * ROUNDS as i64));
}
