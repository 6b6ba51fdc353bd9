//! The `hooklayer` binary: parses the command line and runs it. Exit codes: 0 success,
//! 2 bad configuration (one line on stderr naming the setting), 1 anything else.

use clap::Parser;
use hooklayer_server::cli::{self, Cli, Failure};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli).await {
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
