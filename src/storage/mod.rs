//! Storage rules that hold wherever files are kept: how a file is encrypted before any store
//! sees it.

pub mod envelope;
