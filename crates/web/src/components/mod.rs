//! Building blocks shared by every page.

pub mod budget;
pub mod cluster;
pub mod cluster_actions;
pub mod deploy_form;
pub mod events;
pub mod form;
pub mod gate;
pub mod layout;
pub mod node_group;
pub mod organization;
pub mod sign_up;
pub mod status;
pub mod test_runner;
pub mod title;
