//! Building blocks shared by every page.

pub mod gate;
pub mod layout;
pub mod status;
pub mod title;
