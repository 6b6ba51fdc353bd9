//! Test support: the HTTPS receiver, test databases, the in-process app harness, and the
//! real binary as a child process.
#![allow(dead_code)]
pub mod app;
pub mod binary;
pub mod browser;
pub mod db;
pub mod hostile;
pub mod listener;
pub mod private_pg;
pub mod process;
pub mod receiver;
