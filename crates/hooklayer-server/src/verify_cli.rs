//! `hooklayer verify` (SPEC §14): checks a delivery's signatures with `hooklayer-verify`.
//!
//! Exit 0 and `valid: layer, standard` (the schemes that verified), or exit 1 and one line
//! per failed scheme, `layer: <reason>` / `standard: <reason>`. The policy is the library's:
//! every scheme the headers carry must verify, and at least one must be carried.

use crate::cli::Failure;
use anyhow::Context;
use hooklayer_verify::Verifier;
use std::io::Read;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The webhook's secret (`whsec_…` secrets are base64-decoded for Standard Webhooks)
    #[arg(long, env = "HOOKLAYER_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The file holding the exact body received; without it (or with `-`) the body is read
    /// from stdin
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// A request header, `name: value` (repeat for each header)
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// How far webhook-timestamp may be from now, either way
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub tolerance: std::time::Duration,
}

/// `name: value` → (name, value), both trimmed.
fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "{text:?} is not a header of the form 'name: value'"
        )),
    }
}

/// Runs the command; prints the verdict on stdout.
pub fn run(args: VerifyArgs) -> Result<(), Failure> {
    let body = match &args.body_file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path)
            .with_context(|| format!("--body-file: cannot read {}", path.display()))?,
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("cannot read the body from stdin")?;
            body
        }
    };
    let verifier = Verifier::new(&args.secret).with_tolerance(args.tolerance);
    match verifier.verify(&args.headers, &body) {
        Ok(verified) => {
            println!("valid: {verified}");
            Ok(())
        }
        Err(rejected) => {
            println!("invalid");
            println!("{rejected}");
            Err(Failure::Reported)
        }
    }
}
