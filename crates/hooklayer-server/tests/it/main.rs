//! The integration suite: one test binary, real sockets, a real HTTPS receiver, real databases.

mod outbound;
mod smoke;
mod support;
