//! Test support: the HTTPS receiver and the app harness.
#![allow(dead_code)]
pub mod receiver;
