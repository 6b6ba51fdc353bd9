//! Test support: the HTTPS receiver, test databases, and the app harness.
#![allow(dead_code)]
pub mod app;
pub mod db;
pub mod receiver;
