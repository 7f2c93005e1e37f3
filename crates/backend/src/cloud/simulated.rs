//! PLACEHOLDER (replaced by the simulated driver being written in another worktree).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::StackEvent;

use super::{Cloud, CloudError, ManagedStack, Stack, StackSpec};
use crate::clock::Clock;
use crate::store::ClusterStore;

pub struct SimulatedCloud;

impl SimulatedCloud {
    pub fn new(
        _store: Arc<dyn ClusterStore>,
        _clock: Arc<dyn Clock>,
        _step: Duration,
        _deployment: impl Into<String>,
    ) -> Self {
        Self
    }
}

#[async_trait]
impl Cloud for SimulatedCloud {
    async fn create_stack(&self, _: &StackSpec) -> Result<String, CloudError> {
        Err(CloudError::Unavailable("placeholder".into()))
    }
    async fn update_stack(&self, _: &StackSpec) -> Result<(), CloudError> {
        Err(CloudError::Unavailable("placeholder".into()))
    }
    async fn delete_stack(&self, _: &ClusterName) -> Result<(), CloudError> {
        Err(CloudError::Unavailable("placeholder".into()))
    }
    async fn describe_stack(&self, _: &ClusterName) -> Result<Option<Stack>, CloudError> {
        Ok(None)
    }
    async fn stack_events(&self, _: &str) -> Result<Vec<StackEvent>, CloudError> {
        Ok(Vec::new())
    }
    async fn current_nodes(&self, _: &ClusterName) -> Result<u32, CloudError> {
        Ok(0)
    }
    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        Ok(Vec::new())
    }
}
