//! The `hooklayer` binary: parses the command line and runs it. Exit codes: 0 success,
//! 2 bad configuration (one line on stderr naming the setting), 1 anything else.

use clap::Parser;
use hooklayer_server::cli::{self, Cli, Failure};
use std::process::ExitCode;
use std::time::Duration;

/// How long, once the command has finished, the runtime may wait for its blocking threads.
///
/// Dropping a tokio runtime waits for every `spawn_blocking` thread without limit, and a
/// blocking thread cannot be cancelled: a `getaddrinfo` call for a target whose DNS server
/// does not answer goes on for as long as the system resolver's timeouts allow (tens of
/// seconds) after the attempt that started it gave up. The process used to log "hooklayer
/// stopped" and stay alive that long. Everything that matters has finished by then (the
/// server stopped, the store closed), so whatever is still running is abandoned.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(Failure::Reported) => ExitCode::FAILURE,
    }
}
