//! The driver test suite: what every [`Cloud`] must do, written once against `&dyn Cloud` and
//! run for each driver.
//!
//! A driver comes as a [`Driver`]: the cloud under test, a second cloud on the same backend
//! with another deployment id (to check that each deployment sees only its stacks), and a way
//! to let time pass. Moto finishes every operation at once, so its `settle` is a short real
//! sleep; a simulated driver advances its manual clock instead. Assertions about progress use
//! [`Driver::eventually`], which settles until a condition holds (bounded), so the same test
//! passes for a cloud that is instant and for one that takes steps.
//!
//! Adding a driver is one constructor plus one line: `driver_suite!(name, constructor);`.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sliderule_backend::cloud::cloudformation::{
    BUNDLED_TEMPLATE, CloudFormationCloud, CloudFormationSettings,
};
use sliderule_backend::cloud::{
    Cloud, CloudError, NodeGroupSpec, StackSpec, TestRunSpec, stack_name,
};
use sliderule_protocol::provisioner::Branch;
use sliderule_protocol::provisioner::ClusterState;
use sliderule_protocol::{ClusterName, NodeCapacity, Version};

use crate::moto::MotoServer;

/// A future that lets time pass for a driver.
pub type Settle = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How many times [`Driver::eventually`] settles before giving up.
const MAX_SETTLES: usize = 400;

/// A cloud under test.
pub struct Driver {
    /// The driver, managing the deployment [`Driver::deployment`].
    pub cloud: Arc<dyn Cloud>,
    /// The same kind of driver on the same backend, for another deployment id.
    pub foreign: Arc<dyn Cloud>,
    /// Lets time pass: a real sleep, or a step of a manual clock.
    pub settle: Box<dyn Fn() -> Settle + Send + Sync>,
    /// Whatever must live as long as the driver (a moto process, a store).
    pub _keep: Box<dyn Any + Send + Sync>,
}

impl Driver {
    /// Settles until `check` gives a value, and returns it; fails the test naming `what` if
    /// it never does.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        for _ in 0..MAX_SETTLES {
            if let Some(value) = check().await {
                return value;
            }
            (self.settle)().await;
        }
        panic!("{what}: not reached after {MAX_SETTLES} settles");
    }
}

fn name(text: &str) -> ClusterName {
    ClusterName::parse(text).expect("a valid cluster name")
}

fn spec(cluster: &str, nodes: u32, version: &str) -> StackSpec {
    StackSpec {
        cluster: name(cluster),
        node_capacity: NodeCapacity::new(nodes),
        version: Version::parse(version).expect("a valid version"),
        is_public: false,
        owner: "alice".into(),
    }
}

/// Waits for the cluster's stack to be in `state`, and returns it.
async fn reaches(
    d: &Driver,
    cluster: &ClusterName,
    state: ClusterState,
) -> sliderule_backend::cloud::Stack {
    let what = format!("{cluster} reaches {state}");
    d.eventually(&what, || async {
        let stack = d
            .cloud
            .describe_stack(cluster)
            .await
            .expect("describe_stack");
        stack.filter(|stack| stack.status().state() == state)
    })
    .await
}

/// The suite, one function per behaviour. Each uses its own cluster names, so they could also
/// share one backend.
pub mod suite {
    use super::*;

    /// A cluster's whole life: create, run, update, count nodes, read events, refuse a second
    /// create, delete (twice), and create again as a new stack.
    pub async fn stack_lifecycle(d: &Driver) {
        let first = spec("lifecycle", 2, "v4.9.1");
        let cluster = first.cluster.clone();
        let stack_id = d.cloud.create_stack(&first).await.expect("create_stack");
        assert!(!stack_id.is_empty());

        // At once: being created, or (moto) created already.
        let described = d
            .cloud
            .describe_stack(&cluster)
            .await
            .expect("describe_stack")
            .expect("the stack exists after create_stack");
        assert!(
            matches!(
                described.status().state(),
                ClusterState::Deploying | ClusterState::Running
            ),
            "{:?}",
            described.status()
        );
        assert_eq!(described.stack_id, stack_id);
        assert_eq!(described.info.stack_name, stack_name(&cluster));

        let running = reaches(d, &cluster, ClusterState::Running).await;
        assert_eq!(running.node_capacity, Some(NodeCapacity::new(2)));
        assert_eq!(running.version, Some(first.version.clone()));
        assert_eq!(running.is_public, Some(false));
        assert_eq!(running.owner.as_deref(), Some("alice"));

        // Update capacity and version.
        let second = spec("lifecycle", 3, "v4.9.2");
        d.cloud.update_stack(&second).await.expect("update_stack");
        let updated = d
            .eventually("the update is applied", || async {
                let stack = d
                    .cloud
                    .describe_stack(&cluster)
                    .await
                    .expect("describe_stack")?;
                (stack.status().state() == ClusterState::Running
                    && stack.node_capacity == Some(NodeCapacity::new(3)))
                .then_some(stack)
            })
            .await;
        assert_eq!(updated.version, Some(second.version.clone()));
        // (Not asserted: `last_updated_time`. AWS sets it on an update; moto never does.)
        assert_eq!(updated.stack_id, stack_id, "an update keeps the stack");

        d.eventually("all nodes are up", || async {
            let nodes = d
                .cloud
                .current_nodes(&cluster)
                .await
                .expect("current_nodes");
            (nodes == 3).then_some(())
        })
        .await;

        // Events: newest first, with the stack's own.
        let events = d.cloud.stack_events(&stack_id).await.expect("stack_events");
        assert!(!events.is_empty());
        assert!(
            events.windows(2).all(|w| w[0].timestamp >= w[1].timestamp),
            "newest first: {events:#?}"
        );
        let stack_events: Vec<_> = events
            .iter()
            .filter(|e| e.logical_resource_id == stack_name(&cluster))
            .collect();
        assert!(
            stack_events
                .iter()
                .any(|e| e.resource_status == "CREATE_COMPLETE"),
            "{events:#?}"
        );
        assert_eq!(
            stack_events.first().map(|e| e.resource_status.as_str()),
            Some("UPDATE_COMPLETE"),
            "the newest stack event is the update's end"
        );
        assert!(
            stack_events
                .iter()
                .all(|e| e.resource_type == "AWS::CloudFormation::Stack")
        );

        // A second create of a live cluster is a conflict and changes nothing.
        match d.cloud.create_stack(&first).await {
            Err(CloudError::Conflict(_)) => {}
            other => panic!("a second create: {other:?}"),
        }
        let still = d.cloud.describe_stack(&cluster).await.unwrap().unwrap();
        assert_eq!(still.stack_id, stack_id);
        assert_eq!(still.node_capacity, Some(NodeCapacity::new(3)));

        // Delete: gone, events still readable by id, a second delete is fine.
        d.cloud.delete_stack(&cluster).await.expect("delete_stack");
        d.eventually("the stack is deleted", || async {
            let stack = d
                .cloud
                .describe_stack(&cluster)
                .await
                .expect("describe_stack");
            stack.is_none().then_some(())
        })
        .await;
        assert_eq!(d.cloud.current_nodes(&cluster).await.unwrap(), 0);
        let events = d
            .cloud
            .stack_events(&stack_id)
            .await
            .expect("events after delete");
        assert_eq!(
            events
                .iter()
                .find(|e| e.logical_resource_id == stack_name(&cluster))
                .map(|e| e.resource_status.as_str()),
            Some("DELETE_COMPLETE"),
            "{events:#?}"
        );
        d.cloud
            .delete_stack(&cluster)
            .await
            .expect("a second delete");

        // The name is free again, for a new stack.
        let again = d.cloud.create_stack(&first).await.expect("create again");
        assert_ne!(again, stack_id);
        let running = reaches(d, &cluster, ClusterState::Running).await;
        assert_eq!(running.stack_id, again);
        assert_eq!(running.node_capacity, Some(NodeCapacity::new(2)));
        d.cloud.delete_stack(&cluster).await.expect("clean up");
    }

    /// `managed_stacks` lists this deployment's live stacks, not another deployment's, and not
    /// deleted ones.
    pub async fn managed_stacks_are_this_deployments_live_stacks(d: &Driver) {
        let ours = spec("managed-ours", 1, "latest");
        let theirs = StackSpec {
            owner: "bob".into(),
            ..spec("managed-theirs", 1, "latest")
        };
        let ours_id = d.cloud.create_stack(&ours).await.expect("create ours");
        let theirs_id = d
            .foreign
            .create_stack(&theirs)
            .await
            .expect("create theirs");

        let listed = d.cloud.managed_stacks().await.expect("managed_stacks");
        let mine = listed
            .iter()
            .find(|s| s.cluster == ours.cluster)
            .unwrap_or_else(|| panic!("ours is listed: {listed:?}"));
        assert_eq!(mine.stack_id, ours_id);
        assert_eq!(mine.owner.as_deref(), Some("alice"));
        assert!(mine.status.state().is_live(), "{:?}", mine.status);
        assert!(
            listed.iter().all(|s| s.cluster != theirs.cluster),
            "{listed:?}"
        );

        let foreign = d
            .foreign
            .managed_stacks()
            .await
            .expect("foreign managed_stacks");
        assert!(
            foreign.iter().any(|s| s.stack_id == theirs_id),
            "{foreign:?}"
        );
        assert!(
            foreign.iter().all(|s| s.cluster != ours.cluster),
            "{foreign:?}"
        );

        d.cloud
            .delete_stack(&ours.cluster)
            .await
            .expect("delete ours");
        d.eventually("a deleted stack is no longer managed", || async {
            let listed = d.cloud.managed_stacks().await.expect("managed_stacks");
            listed
                .iter()
                .all(|s| s.cluster != ours.cluster)
                .then_some(())
        })
        .await;
        d.foreign
            .delete_stack(&theirs.cluster)
            .await
            .expect("delete theirs");
    }

    /// A cluster without a stack: nothing to describe, count, delete or update.
    pub async fn absent_stacks(d: &Driver) {
        let cluster = name("absent");
        assert_eq!(d.cloud.describe_stack(&cluster).await.unwrap(), None);
        assert_eq!(d.cloud.current_nodes(&cluster).await.unwrap(), 0);
        d.cloud
            .delete_stack(&cluster)
            .await
            .expect("deleting nothing is fine");
        match d.cloud.update_stack(&spec("absent", 1, "latest")).await {
            Err(CloudError::Conflict(_)) => {}
            other => panic!("updating a missing stack: {other:?}"),
        }
        let unknown = "arn:aws:cloudformation:us-west-2:123456789012:stack/absent-cluster/\
                       00000000-0000-0000-0000-000000000000";
        assert_eq!(d.cloud.stack_events(unknown).await.unwrap(), Vec::new());
    }

    /// An update to what the stack is already is not an error.
    pub async fn updating_to_the_same_spec_is_ok(d: &Driver) {
        let same = spec("unchanged", 1, "v4.9.2");
        d.cloud.create_stack(&same).await.expect("create_stack");
        reaches(d, &same.cluster, ClusterState::Running).await;
        d.cloud.update_stack(&same).await.expect("an empty update");
        let stack = reaches(d, &same.cluster, ClusterState::Running).await;
        assert_eq!(stack.node_capacity, Some(NodeCapacity::new(1)));

        // The batch question of reports answers what the per-cluster ones do.
        let absent = name("absent");
        let many = d
            .cloud
            .describe_many(&[same.cluster.clone(), absent])
            .await
            .expect("describe_many");
        let nodes = d.cloud.current_nodes(&same.cluster).await.expect("nodes");
        assert_eq!(many, vec![(Some(stack), nodes), (None, 0)]);
        d.cloud.delete_stack(&same.cluster).await.expect("clean up");
    }

    /// A node group's whole life on a running cluster: created as `<cluster>-cluster-<user>-asg`,
    /// counted apart from the cluster, resized, refused twice, not a managed cluster, deleted
    /// with its cluster left running; refused on a cluster that is not there.
    pub async fn node_group_lifecycle(d: &Driver) {
        let parent = spec("host", 1, "latest");
        let cluster = parent.cluster.clone();
        let group = |nodes: u32| NodeGroupSpec {
            cluster: cluster.clone(),
            user: "bob".into(),
            node_capacity: NodeCapacity::new(nodes),
        };
        let orphan = NodeGroupSpec {
            cluster: name("nowhere"),
            ..group(1)
        };
        match d.cloud.create_node_group(&orphan).await {
            Err(CloudError::Conflict(message)) => {
                assert!(message.contains("nowhere-cluster"), "{message}")
            }
            other => panic!("a node group on no cluster: {other:?}"),
        }
        d.cloud.create_stack(&parent).await.expect("create_stack");
        reaches(d, &cluster, ClusterState::Running).await;

        let stack_id = d
            .cloud
            .create_node_group(&group(2))
            .await
            .expect("create_node_group");
        let running = d
            .eventually("the node group runs", || async {
                let stack = d
                    .cloud
                    .describe_node_group(&cluster, "bob")
                    .await
                    .unwrap()?;
                (stack.status().state() == ClusterState::Running).then_some(stack)
            })
            .await;
        assert_eq!(running.stack_id, stack_id);
        assert_eq!(running.info.stack_name, "host-cluster-bob-asg");
        assert_eq!(running.node_capacity, Some(NodeCapacity::new(2)));
        match d.cloud.create_node_group(&group(2)).await {
            Err(CloudError::Conflict(_)) => {}
            other => panic!("a second node group: {other:?}"),
        }
        d.eventually("its nodes are up, the cluster's apart", || async {
            let mine = d.cloud.node_group_nodes(&cluster, "bob").await.unwrap();
            let theirs = d.cloud.current_nodes(&cluster).await.unwrap();
            (mine == 2 && theirs == 1).then_some(())
        })
        .await;
        d.cloud
            .update_node_group(&group(3))
            .await
            .expect("update_node_group");
        d.eventually("it is resized", || async {
            let nodes = d.cloud.node_group_nodes(&cluster, "bob").await.unwrap();
            let stack = d
                .cloud
                .describe_node_group(&cluster, "bob")
                .await
                .unwrap()?;
            (nodes == 3 && stack.status().state() == ClusterState::Running).then_some(())
        })
        .await;
        let managed = d.cloud.managed_stacks().await.unwrap();
        assert_eq!(
            managed.iter().filter(|m| m.cluster == cluster).count(),
            1,
            "the node group is not a cluster of its own: {managed:?}"
        );

        d.cloud
            .delete_node_group(&cluster, "bob")
            .await
            .expect("delete_node_group");
        d.eventually("the node group is gone", || async {
            let stack = d.cloud.describe_node_group(&cluster, "bob").await.unwrap();
            stack.is_none().then_some(())
        })
        .await;
        assert_eq!(d.cloud.node_group_nodes(&cluster, "bob").await.unwrap(), 0);
        let events = d.cloud.stack_events(&stack_id).await.unwrap();
        // (moto has only the stack's own events; the simulated cloud also the group's.)
        assert!(
            events
                .iter()
                .any(|e| e.logical_resource_id == "host-cluster-bob-asg"),
            "{events:#?}"
        );
        let host = d.cloud.describe_stack(&cluster).await.unwrap().unwrap();
        assert_eq!(host.status().state(), ClusterState::Running);
        d.cloud.delete_stack(&cluster).await.expect("clean up");
    }

    /// The test runner: one stack `testrunner` for a branch, a second refused while it lives,
    /// not a managed cluster, deleted.
    pub async fn test_runner_lifecycle(d: &Driver) {
        assert_eq!(d.cloud.describe_test_runner().await.unwrap(), None);
        let run = |branch: &str| TestRunSpec {
            branch: Branch::parse(branch).unwrap(),
            started: time::OffsetDateTime::now_utc(),
        };
        let stack_id = d
            .cloud
            .create_test_runner(&run("release/v5"))
            .await
            .expect("create_test_runner");
        let described = d
            .eventually("the runner is up", || async {
                let run = d.cloud.describe_test_runner().await.unwrap()?;
                (run.stack.status().state() == ClusterState::Running).then_some(run)
            })
            .await;
        assert_eq!(described.stack.stack_id, stack_id);
        assert_eq!(described.stack.info.stack_name, "testrunner");
        assert_eq!(
            described.branch.as_ref().map(Branch::as_str),
            Some("release/v5")
        );
        match d.cloud.create_test_runner(&run("main")).await {
            Err(CloudError::Conflict(_)) => {}
            other => panic!("a second run: {other:?}"),
        }
        let managed = d.cloud.managed_stacks().await.unwrap();
        assert!(
            managed.iter().all(|m| m.cluster.as_str() != "testrunner"),
            "{managed:?}"
        );
        d.cloud
            .delete_test_runner()
            .await
            .expect("delete_test_runner");
        d.eventually("the runner is gone", || async {
            d.cloud
                .describe_test_runner()
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
    }
}

/// One `#[tokio::test]` per suite function, for the driver `$driver()` builds.
macro_rules! driver_suite {
    ($module:ident, $driver:path) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn stack_lifecycle() {
                suite::stack_lifecycle(&$driver().await).await;
            }

            #[tokio::test]
            async fn managed_stacks_are_this_deployments_live_stacks() {
                suite::managed_stacks_are_this_deployments_live_stacks(&$driver().await).await;
            }

            #[tokio::test]
            async fn absent_stacks() {
                suite::absent_stacks(&$driver().await).await;
            }

            #[tokio::test]
            async fn test_runner_lifecycle() {
                suite::test_runner_lifecycle(&$driver().await).await;
            }

            #[tokio::test]
            async fn node_group_lifecycle() {
                suite::node_group_lifecycle(&$driver().await).await;
            }

            #[tokio::test]
            async fn updating_to_the_same_spec_is_ok() {
                suite::updating_to_the_same_spec_is_ok(&$driver().await).await;
            }
        }
    };
}

driver_suite!(cloudformation, cloudformation_driver);
driver_suite!(simulated, simulated_driver);

// --- The CloudFormation driver on moto ---------------------------------------------------------

const DOMAIN: &str = "sliderule.test";
const DEPLOYMENT: &str = "test-deployment";

/// Settings for moto: the bundled template in moto's default VPC, with a domain whose zone
/// exists.
async fn moto_settings(moto: &MotoServer, deployment: &str) -> CloudFormationSettings {
    let (vpc, subnets) = moto.default_network().await;
    CloudFormationSettings {
        deployment: deployment.into(),
        domain: Some(DOMAIN.into()),
        jwt_issuer: format!("https://login.{DOMAIN}"),
        template_body: BUNDLED_TEMPLATE.into(),
        parameters: BTreeMap::from([
            ("VpcId".to_owned(), vpc),
            ("SubnetIds".to_owned(), subnets.join(",")),
        ]),
        project_bucket: Some("test-project".into()),
    }
}

async fn cloudformation_driver() -> Driver {
    let moto = MotoServer::start().await;
    moto.create_hosted_zone(DOMAIN).await;
    let sdk = moto.sdk_config().await;
    let cloud = CloudFormationCloud::from_sdk_config(&sdk, moto_settings(&moto, DEPLOYMENT).await)
        .expect("driver");
    let foreign = CloudFormationCloud::from_sdk_config(
        &sdk,
        moto_settings(&moto, "another-deployment").await,
    )
    .expect("foreign driver");
    Driver {
        cloud: Arc::new(cloud),
        foreign: Arc::new(foreign),
        // moto completes every operation before answering; polling again soon is enough.
        settle: Box::new(|| Box::pin(tokio::time::sleep(Duration::from_millis(25)))),
        _keep: Box::new(moto),
    }
}

/// What only the CloudFormation driver can show: the template builds the cluster's resources
/// with the parameters the driver sends.
#[tokio::test]
async fn cloudformation_template_builds_a_cluster_with_the_parameters_sent() {
    let moto = MotoServer::start().await;
    let zone = moto.create_hosted_zone(DOMAIN).await;
    let mut settings = moto_settings(&moto, DEPLOYMENT).await;
    settings
        .parameters
        .insert("NodeInstanceType".into(), "t4g.large".into());
    let cloud =
        CloudFormationCloud::from_sdk_config(&moto.sdk_config().await, settings).expect("driver");
    let alpha = spec("alpha", 2, "v4.9.2");
    cloud.create_stack(&alpha).await.expect("create_stack");

    let described = cloud
        .cloudformation_client()
        .describe_stacks()
        .stack_name("alpha-cluster")
        .send()
        .await
        .expect("DescribeStacks");
    let stack = &described.stacks()[0];
    let parameter = |key: &str| {
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .map(str::to_owned)
    };
    assert_eq!(parameter("Cluster").as_deref(), Some("alpha"));
    assert_eq!(parameter("Domain").as_deref(), Some(DOMAIN));
    assert_eq!(
        parameter("JwtIssuer").as_deref(),
        Some("https://login.sliderule.test")
    );
    assert_eq!(parameter("NodeInstanceType").as_deref(), Some("t4g.large"));
    let tags: BTreeMap<_, _> = stack
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags.get("sliderule:cluster"), Some(&"alpha"));
    assert_eq!(tags.get("sliderule:owner"), Some(&"alice"));
    assert_eq!(tags.get("sliderule:deployment"), Some(&DEPLOYMENT));
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    assert_eq!(
        output("ClusterUrl").as_deref(),
        Some("https://alpha.sliderule.test")
    );
    assert!(output("LoadBalancerAddress").is_some());

    // The DNS record exists while the cluster does.
    assert!(
        moto.record_names(&zone)
            .await
            .contains(&"alpha.sliderule.test.".to_owned())
    );
    cloud
        .delete_stack(&alpha.cluster)
        .await
        .expect("delete_stack");
    assert!(
        !moto
            .record_names(&zone)
            .await
            .contains(&"alpha.sliderule.test.".to_owned())
    );
}

/// AWS's refusals reach the caller in AWS's words, as `Unavailable`.
#[tokio::test]
async fn cloudformation_reports_aws_refusals_in_aws_words() {
    let moto = MotoServer::start().await;
    let mut settings = moto_settings(&moto, DEPLOYMENT).await;
    // The operator forgot the network.
    settings.parameters.clear();
    let cloud =
        CloudFormationCloud::from_sdk_config(&moto.sdk_config().await, settings).expect("driver");
    match cloud.create_stack(&spec("beta", 1, "latest")).await {
        Err(CloudError::Unavailable(message)) => {
            assert!(message.contains("CreateStack"), "{message}");
            assert!(message.contains("VpcId"), "{message}");
        }
        other => panic!("a create without the network: {other:?}"),
    }
    assert_eq!(cloud.describe_stack(&name("beta")).await.unwrap(), None);
}

/// The simulated driver over a real SQLite store, its time moved by a manual clock: each settle
/// is one step of the simulated cloud.
async fn simulated_driver() -> Driver {
    use sliderule_backend::clock::ManualClock;
    use sliderule_backend::cloud::simulated::SimulatedCloud;
    use sliderule_backend::store::{ClusterStore, SqliteStore};

    const STEP: Duration = Duration::from_secs(2);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store: Arc<dyn ClusterStore> =
        Arc::new(SqliteStore::open(&dir.path().join("state.db")).expect("the store opens"));
    let clock = Arc::new(ManualClock::new());
    let cloud = SimulatedCloud::new(store.clone(), clock.clone(), STEP, DEPLOYMENT);
    let foreign = SimulatedCloud::new(store, clock.clone(), STEP, "another-deployment");
    Driver {
        cloud: Arc::new(cloud),
        foreign: Arc::new(foreign),
        settle: Box::new(move || {
            clock.advance(STEP);
            Box::pin(std::future::ready(()))
        }),
        _keep: Box::new(dir),
    }
}
