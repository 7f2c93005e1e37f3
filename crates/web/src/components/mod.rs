//! Building blocks shared by every page.

pub mod layout;
pub mod title;
