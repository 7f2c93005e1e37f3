//! The script of each operation: which events it produces, how many steps of its delay after
//! its start, and what they do to the nodes.
//!
//! - create: the stack `CREATE_IN_PROGRESS`, then each resource `CREATE_IN_PROGRESS` and
//!   `CREATE_COMPLETE` one step apart, in template order, then the stack `CREATE_COMPLETE`. With
//!   the failure knob, the node group ends `CREATE_FAILED`, the stack goes
//!   `ROLLBACK_IN_PROGRESS`, the resources created so far are deleted backwards, and the stack
//!   ends `ROLLBACK_COMPLETE`;
//! - update: `UPDATE_IN_PROGRESS`, each changed resource `UPDATE_IN_PROGRESS` then
//!   `UPDATE_COMPLETE`, then `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` and `UPDATE_COMPLETE`;
//! - delete: `DELETE_IN_PROGRESS`, the standing resources deleted backwards, `DELETE_COMPLETE`.
//!   A delete may start while a create runs (as on CloudFormation): the create's later steps
//!   never happen, and a resource it was creating is `CREATE_FAILED` ("Resource creation
//!   cancelled") before it is deleted.
//!
//! Nodes join one per step once the node group is created, move one per step toward a new
//! capacity once it is updated, and are gone as soon as a delete starts.

use sliderule_protocol::provisioner::StackEvent;
use time::OffsetDateTime;

use super::model::Parameters;
use super::resources::{
    NODE_GROUP, NODE_LAUNCH_TEMPLATE, Naming, Resource, SECURITY_GROUP, STACK_TYPE, by_logical_id,
};

/// CloudFormation's reason on the first event of an operation someone asked for.
pub(super) const USER_INITIATED: &str = "User Initiated";
/// The reason of the node group's failure when the failure knob is on.
const SIMULATED_FAILURE: &str = "Resource handler returned message: \"Simulated failure: no \
                                 capacity for the requested instance type\"";
const CANCELLED: &str = "Resource creation cancelled";

/// What a step does to the nodes.
#[derive(Debug, Clone, Copy)]
pub(super) enum NodesChange {
    /// They move one per step toward this many.
    Toward(u32),
    /// They are gone at once.
    Gone,
}

/// Whose event a step is.
#[derive(Debug, Clone, Copy)]
enum Subject {
    Stack,
    Resource(Resource),
}

/// One step of an operation's script.
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// Steps after the operation's start.
    pub(super) tick: u32,
    subject: Subject,
    status: &'static str,
    reason: Option<String>,
    pub(super) nodes: Option<NodesChange>,
}

impl Step {
    fn stack(tick: u32, status: &'static str, reason: Option<String>) -> Self {
        Self {
            tick,
            subject: Subject::Stack,
            status,
            reason,
            nodes: None,
        }
    }

    fn resource(tick: u32, resource: Resource, status: &'static str) -> Self {
        Self {
            tick,
            subject: Subject::Resource(resource),
            status,
            reason: None,
            nodes: None,
        }
    }

    fn because(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    fn with_nodes(mut self, nodes: NodesChange) -> Self {
        self.nodes = Some(nodes);
        self
    }

    pub(super) fn into_event(self, naming: &Naming<'_>, at: OffsetDateTime) -> StackEvent {
        let (logical_resource_id, resource_type, physical_resource_id) = match self.subject {
            Subject::Stack => (
                naming.stack_name.to_owned(),
                STACK_TYPE,
                Some(naming.stack_id.to_owned()),
            ),
            // As on AWS, a resource has no physical id until its creation is under way.
            Subject::Resource(resource) => (
                resource.logical_id.to_owned(),
                resource.resource_type,
                (self.status != "CREATE_IN_PROGRESS").then(|| naming.physical_id(resource)),
            ),
        };
        StackEvent {
            timestamp: at,
            logical_resource_id,
            resource_type: resource_type.to_owned(),
            resource_status: self.status.to_owned(),
            resource_status_reason: self.reason,
            physical_resource_id,
        }
    }
}

/// The tick of the `index`th resource's first step, when resources go one after the other, two
/// steps each, after `after`.
fn resource_tick(after: u32, index: usize) -> u32 {
    // At most a handful of resources: the index always fits.
    after + 2 * u32::try_from(index).unwrap_or(u32::MAX / 4) + 1
}

/// Deletes `resources` backwards, one after the other, after tick `after`; returns the steps and
/// the tick of the last one.
fn teardown(after: u32, resources: &[Resource]) -> (Vec<Step>, u32) {
    let mut steps = Vec::with_capacity(2 * resources.len());
    let mut last = after;
    for (index, resource) in resources.iter().rev().enumerate() {
        let tick = resource_tick(after, index);
        steps.push(Step::resource(tick, *resource, "DELETE_IN_PROGRESS"));
        steps.push(Step::resource(tick + 1, *resource, "DELETE_COMPLETE"));
        last = tick + 1;
    }
    (steps, last)
}

/// Creating `resources` (a template's, in order) one after the other.
pub(super) fn create_script(
    parameters: &Parameters,
    fails: bool,
    resources: &[Resource],
) -> Vec<Step> {
    let mut steps = vec![Step::stack(0, "CREATE_IN_PROGRESS", None).because(USER_INITIATED)];
    // What a rollback would delete: every resource started so far.
    let mut started = Vec::with_capacity(resources.len());
    for (index, resource) in resources.iter().enumerate() {
        let tick = resource_tick(0, index);
        steps.push(Step::resource(tick, *resource, "CREATE_IN_PROGRESS"));
        started.push(*resource);
        if fails && *resource == NODE_GROUP {
            steps.extend(rollback(tick + 1, *resource, &started));
            return steps;
        }
        let created = Step::resource(tick + 1, *resource, "CREATE_COMPLETE");
        steps.push(if *resource == NODE_GROUP {
            created.with_nodes(NodesChange::Toward(parameters.node_capacity.get()))
        } else {
            created
        });
    }
    let done = resource_tick(0, resources.len());
    steps.push(Step::stack(done, "CREATE_COMPLETE", None));
    steps
}

/// `failed` fails at `tick`; everything `started` (it included) is deleted backwards and the
/// stack ends `ROLLBACK_COMPLETE`.
fn rollback(tick: u32, failed: Resource, started: &[Resource]) -> Vec<Step> {
    let reason = format!(
        "The following resource(s) failed to create: [{}]. Rollback requested by user.",
        failed.logical_id
    );
    let mut steps = vec![
        Step::resource(tick, failed, "CREATE_FAILED").because(SIMULATED_FAILURE),
        Step::stack(tick + 1, "ROLLBACK_IN_PROGRESS", Some(reason)),
    ];
    let (teardown, last) = teardown(tick + 1, started);
    steps.extend(teardown);
    steps.push(Step::stack(last + 1, "ROLLBACK_COMPLETE", None));
    steps
}

pub(super) fn update_script(before: Option<&Parameters>, after: &Parameters) -> Vec<Step> {
    let differs =
        |same: fn(&Parameters, &Parameters) -> bool| before.is_none_or(|b| !same(b, after));
    let public_changed = differs(|a, b| a.is_public == b.is_public);
    let version_changed = differs(|a, b| a.version == b.version);
    let capacity_changed = differs(|a, b| a.node_capacity == b.node_capacity);
    let changed = [
        (SECURITY_GROUP, public_changed),
        (NODE_LAUNCH_TEMPLATE, version_changed),
        (NODE_GROUP, version_changed || capacity_changed),
    ];
    let mut steps = vec![Step::stack(0, "UPDATE_IN_PROGRESS", None).because(USER_INITIATED)];
    let changed = changed.iter().filter(|(_, changed)| *changed);
    let mut last = 0;
    for (index, (resource, _)) in changed.enumerate() {
        let tick = resource_tick(0, index);
        steps.push(Step::resource(tick, *resource, "UPDATE_IN_PROGRESS"));
        let updated = Step::resource(tick + 1, *resource, "UPDATE_COMPLETE");
        steps.push(if *resource == NODE_GROUP {
            updated.with_nodes(NodesChange::Toward(after.node_capacity.get()))
        } else {
            updated
        });
        last = tick + 1;
    }
    steps.push(Step::stack(
        last + 1,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        None,
    ));
    steps.push(Step::stack(last + 2, "UPDATE_COMPLETE", None));
    steps
}

/// A resource that exists (or is being created) when a delete starts.
pub(super) struct Standing {
    resource: Resource,
    being_created: bool,
}

/// The resources standing after `events` (oldest first), in the order they were created.
pub(super) fn standing(events: &[StackEvent]) -> Vec<Standing> {
    let mut latest: Vec<(Resource, &str)> = Vec::new();
    for event in events {
        let Some(resource) = by_logical_id(&event.logical_resource_id) else {
            continue;
        };
        let status = event.resource_status.as_str();
        match latest.iter_mut().find(|(known, _)| *known == resource) {
            Some(entry) => entry.1 = status,
            None => latest.push((resource, status)),
        }
    }
    latest
        .into_iter()
        .filter(|(_, status)| *status != "DELETE_COMPLETE")
        .map(|(resource, status)| Standing {
            resource,
            being_created: status == "CREATE_IN_PROGRESS",
        })
        .collect()
}

pub(super) fn delete_script(standing: &[Standing]) -> Vec<Step> {
    let mut steps = vec![
        Step::stack(0, "DELETE_IN_PROGRESS", None)
            .because(USER_INITIATED)
            .with_nodes(NodesChange::Gone),
    ];
    for interrupted in standing.iter().filter(|s| s.being_created) {
        steps.push(Step::resource(0, interrupted.resource, "CREATE_FAILED").because(CANCELLED));
    }
    let resources: Vec<Resource> = standing.iter().map(|s| s.resource).collect();
    let (teardown, last) = teardown(0, &resources);
    steps.extend(teardown);
    steps.push(Step::stack(last + 1, "DELETE_COMPLETE", None));
    steps
}
