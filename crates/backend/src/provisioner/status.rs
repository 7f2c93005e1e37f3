//! What the provisioner answers about a cluster: its record and its stack, put together into the
//! wire's status and report shapes.

use sliderule_protocol::marker::True;
use sliderule_protocol::provisioner::{
    ClusterState, ClusterStatus, ClusterSummary, StackInfo, StackStatus,
};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};
use time::OffsetDateTime;

use crate::cloud::Stack;
use crate::store::ClusterRecord;

/// A cluster as it stands: its record (if any) and its stack (if any).
#[derive(Debug, Clone)]
pub struct View {
    pub cluster: ClusterName,
    pub record: Option<ClusterRecord>,
    pub stack: Option<Stack>,
    pub current_nodes: u32,
    /// When the cluster is an organization's: its live requests and bounds.
    pub organization: Option<OrganizationPart>,
}

/// What `/status` adds for an organization's cluster.
#[derive(Debug, Clone)]
pub struct OrganizationPart {
    pub requests: Vec<sliderule_protocol::organizations::CapacityRequest>,
    pub min_nodes: u32,
    pub max_nodes: u32,
}

impl View {
    pub fn state(&self) -> ClusterState {
        self.stack
            .as_ref()
            .map_or(ClusterState::NotFound, |stack| stack.status().state())
    }

    /// The deadline in force: only open records of live stacks have one.
    fn deadline(&self) -> Option<OffsetDateTime> {
        self.stack.as_ref()?;
        self.record
            .as_ref()
            .filter(|r| r.phase != crate::store::ClusterPhase::Closed)
            .and_then(|r| r.deadline)
    }

    fn node_capacity(&self) -> NodeCapacity {
        self.record
            .as_ref()
            .map(|r| NodeCapacity::new(r.node_capacity))
            .or_else(|| self.stack.as_ref().and_then(|s| s.node_capacity))
            .unwrap_or(NodeCapacity::new(0))
    }

    fn version(&self) -> Version {
        self.record
            .as_ref()
            .and_then(|r| Version::parse(&r.version).ok())
            .or_else(|| self.stack.as_ref().and_then(|s| s.version.clone()))
            .unwrap_or_default()
    }

    fn is_public(&self) -> bool {
        self.record
            .as_ref()
            .map(|r| r.is_public)
            .or_else(|| self.stack.as_ref().and_then(|s| s.is_public))
            .unwrap_or(false)
    }

    /// The destroy asked for and not started in the cloud yet (a stack still there, busy or
    /// failed), if any.
    fn pending_destroy(&self) -> Option<&crate::store::DestroyIntent> {
        let stack = self.stack.as_ref()?;
        if stack.status().state() == ClusterState::Destroying {
            return None;
        }
        self.record
            .as_ref()
            .filter(|r| r.phase != crate::store::ClusterPhase::Closed)
            .and_then(|r| r.destroy.as_ref())
    }

    fn owner(&self) -> String {
        self.record
            .as_ref()
            .map(|r| r.owner.clone())
            .or_else(|| self.stack.as_ref().and_then(|s| s.owner.clone()))
            .unwrap_or_default()
    }

    /// The stack as the wire's `response` shows it; a deleted one when there is none.
    fn info(&self) -> StackInfo {
        match &self.stack {
            Some(stack) => stack.info.clone(),
            None => StackInfo {
                stack_name: self.cluster.stack_name(),
                stack_status: StackStatus::DeleteComplete,
                stack_status_reason: None,
                creation_time: self
                    .record
                    .as_ref()
                    .map_or(OffsetDateTime::UNIX_EPOCH, |r| r.created_at),
                last_updated_time: self.record.as_ref().map(|r| r.updated_at),
            },
        }
    }

    pub fn status(&self, now: OffsetDateTime) -> ClusterStatus {
        let auto_shutdown = self.deadline();
        ClusterStatus {
            status: True,
            cluster: self.cluster.clone(),
            stack_name: self.cluster.stack_name(),
            state: self.state(),
            response: self.info(),
            auto_shutdown,
            seconds_remaining: auto_shutdown.map(|deadline| seconds_until(deadline, now)),
            current_nodes: self.current_nodes,
            node_capacity: self.node_capacity(),
            version: self.version(),
            is_public: self.is_public(),
            owner: self.owner(),
            destroy_pending: self.pending_destroy().is_some(),
            destroy_error: self
                .pending_destroy()
                .and_then(|intent| intent.last_error.clone()),
            requests: self.organization.as_ref().map(|o| o.requests.clone()),
            min_nodes: self.organization.as_ref().map(|o| o.min_nodes),
            max_nodes: self.organization.as_ref().map(|o| o.max_nodes),
        }
    }

    pub fn summary(&self) -> ClusterSummary {
        ClusterSummary {
            state: self.state(),
            auto_shutdown: self.deadline(),
            current_nodes: self.current_nodes,
            node_capacity: self.node_capacity(),
            version: self.version(),
            is_public: self.is_public(),
            owner: self.owner(),
            created: self.stack.as_ref().map(|s| s.info.creation_time),
            destroy_pending: self.pending_destroy().is_some(),
            users: Default::default(),
        }
    }
}

/// Whole seconds from `now` until `deadline`, rounded up: a cluster with 0.4 s left has not
/// reached its deadline, so it has 1 second remaining, not 0.
pub fn seconds_until(deadline: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let remaining = (deadline - now).as_seconds_f64().max(0.0).ceil();
    // Deadlines are at most a year away, far inside u64.
    remaining as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn remaining_seconds_round_up_and_stop_at_zero() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            seconds_until(now + Duration::milliseconds(1_799_999), now),
            1800
        );
        assert_eq!(seconds_until(now + Duration::seconds(1800), now), 1800);
        assert_eq!(seconds_until(now + Duration::milliseconds(400), now), 1);
        assert_eq!(seconds_until(now, now), 0);
        assert_eq!(seconds_until(now - Duration::seconds(5), now), 0);
    }
}
