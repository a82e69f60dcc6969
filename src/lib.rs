//! Jemput service library.
