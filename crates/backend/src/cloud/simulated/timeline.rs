//! A simulated stack at any moment, derived from its operations and the time: nothing runs in
//! the background, so a stack makes progress (and survives restarts) by the clock alone, and
//! tests move it with a manual clock. Each operation plays its script (see `scripts`) from its
//! start, one step of its delay at a time, until the next operation starts.

use std::time::Duration;

use sliderule_protocol::provisioner::{StackEvent, StackStatus};
use time::OffsetDateTime;

use super::model::{Operation, OperationKind, Parameters, StoredStack};
use super::resources::{Naming, STACK_TYPE};
use super::scripts::{
    NodesChange, Step, USER_INITIATED, create_script, delete_script, standing, update_script,
};

/// From `at`, nodes move from `from` toward `target`, one per `step` (or at once).
#[derive(Debug, Clone, Copy)]
struct NodesPiece {
    at: OffsetDateTime,
    from: u32,
    target: u32,
    step: Duration,
    at_once: bool,
}

impl NodesPiece {
    fn nodes_at(&self, now: OffsetDateTime) -> u32 {
        if self.at_once {
            return self.target;
        }
        let moved = steps_between(self.at, now, self.step);
        let moved = u32::try_from(moved).unwrap_or(u32::MAX);
        if self.target >= self.from {
            self.from.saturating_add(moved).min(self.target)
        } else {
            self.from.saturating_sub(moved).max(self.target)
        }
    }
}

/// Whole steps from `start` to `now` (0 before `start`; every step at once when `step` is 0).
fn steps_between(start: OffsetDateTime, now: OffsetDateTime, step: Duration) -> u64 {
    let Ok(elapsed) = u128::try_from((now - start).whole_nanoseconds()) else {
        return 0;
    };
    match step.as_nanos() {
        0 => u64::MAX,
        step => u64::try_from(elapsed / step).unwrap_or(u64::MAX),
    }
}

/// Everything a stack's operations produce, past and future.
pub(super) struct Timeline {
    /// Oldest first (ties in the order they were produced).
    events: Vec<StackEvent>,
    nodes: Vec<NodesPiece>,
}

impl Timeline {
    pub(super) fn of(stack: &StoredStack) -> Self {
        let naming = Naming {
            stack_id: &stack.stack_id,
            stack_name: &stack.stack_name,
            host: &stack.host,
        };
        let mut timeline = Timeline {
            events: Vec::new(),
            nodes: Vec::new(),
        };
        // The parameters of the latest create or update so far: what an update changes.
        let mut in_force: Option<&Parameters> = None;
        for (index, operation) in stack.operations.iter().enumerate() {
            let script = match &operation.kind {
                OperationKind::Create { parameters, fails } => {
                    create_script(parameters, *fails, stack.resources())
                }
                OperationKind::Update { parameters } => update_script(in_force, parameters),
                OperationKind::Delete => delete_script(&standing(&timeline.events)),
            };
            // An operation stops where the next one starts (only a delete interrupts another).
            // What happens at that very instant was seen by whoever started the next one, so it
            // stays.
            let until = stack.operations.get(index + 1).map(|next| next.started_at);
            timeline.play(&naming, operation, script, until);
            if let OperationKind::Create { parameters, .. } | OperationKind::Update { parameters } =
                &operation.kind
            {
                in_force = Some(parameters);
            }
        }
        timeline
    }

    fn play(
        &mut self,
        naming: &Naming<'_>,
        operation: &Operation,
        script: Vec<Step>,
        until: Option<OffsetDateTime>,
    ) {
        for step in script {
            let at = operation.at_tick(step.tick);
            if until.is_some_and(|until| at > until) {
                break;
            }
            if let Some(change) = step.nodes {
                let (target, at_once) = match change {
                    NodesChange::Toward(target) => (target, false),
                    NodesChange::Gone => (0, true),
                };
                let from = self.nodes_at(at);
                let step = operation.step();
                let piece = NodesPiece {
                    at,
                    from,
                    target,
                    step,
                    at_once,
                };
                self.nodes.push(piece);
            }
            self.events.push(step.into_event(naming, at));
        }
    }

    /// The events that have happened by `now`, newest first.
    pub(super) fn events_at(&self, now: OffsetDateTime) -> Vec<StackEvent> {
        let happened = self.events.iter().filter(|e| e.timestamp <= now);
        let mut events: Vec<StackEvent> = happened.cloned().collect();
        events.reverse();
        events
    }

    /// The stack's status at `now`, and its reason when it is worth telling (a failure).
    pub(super) fn status_at(&self, now: OffsetDateTime) -> (StackStatus, Option<String>) {
        let mut stack_events = self.events.iter().filter(|e| e.resource_type == STACK_TYPE);
        let first = stack_events.clone().next();
        // Before the first event (a clock set back) the stack is being created, as at its start.
        let latest = stack_events.rfind(|e| e.timestamp <= now).or(first);
        let Some(latest) = latest else {
            return (StackStatus::CreateInProgress, None);
        };
        let reason = latest
            .resource_status_reason
            .clone()
            .filter(|reason| reason != USER_INITIATED);
        (StackStatus::parse(&latest.resource_status), reason)
    }

    /// Nodes up at `now`.
    pub(super) fn nodes_at(&self, now: OffsetDateTime) -> u32 {
        self.nodes
            .iter()
            .rfind(|piece| piece.at <= now)
            .map_or(0, |piece| piece.nodes_at(now))
    }
}
