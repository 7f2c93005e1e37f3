//! One module per route. Pages that later work will fill are placeholders for now.

pub mod account;
pub mod auth_callback;
pub mod budgets;
pub mod cluster;
pub mod clusters;
pub mod landing;
pub mod not_found;
pub mod organizations;
pub mod report;
