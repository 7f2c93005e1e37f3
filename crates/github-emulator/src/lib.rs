//! An emulator of the part of GitHub the SlideRule authenticator uses.
//!
//! GitHub cannot be reached from the build machines, so tests and the demo talk to this instead.
//! It is filled in by the authenticator work; the foundation only reserves its place.
