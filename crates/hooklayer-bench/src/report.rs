//! The results: one row per figure (rendered as a single markdown table) plus the scenario
//! details, written together as JSON.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::Value;

/// One line of the results table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub scenario: String,
    /// `sqlite`, `postgres`, or `-` for figures that do not involve hooklayer.
    pub backend: String,
    /// What is measured, e.g. `deliveries/s`.
    pub figure: String,
    /// The number, in `unit`.
    pub value: f64,
    pub unit: String,
    /// The number as shown in the table, with context (e.g. the ratio to raw capacity).
    pub shown: String,
    /// The target, when one applies to this row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<bool>,
}

impl Figure {
    pub fn new(scenario: &str, backend: &str, figure: &str, value: f64, unit: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            backend: backend.to_owned(),
            figure: figure.to_owned(),
            value,
            unit: unit.to_owned(),
            shown: format!("{} {unit}", human(value)),
            target: None,
            pass: None,
        }
    }

    /// Replaces the displayed text.
    pub fn shown(mut self, shown: String) -> Self {
        self.shown = shown;
        self
    }

    /// Attaches a target and whether it was met.
    pub fn target(mut self, target: &str, pass: bool) -> Self {
        self.target = Some(target.to_owned());
        self.pass = Some(pass);
        self
    }

    /// Attaches a target only when `applies` (the targets are for SQLite).
    pub fn target_if(self, applies: bool, target: &str, pass: bool) -> Self {
        if applies {
            self.target(target, pass)
        } else {
            self
        }
    }
}

/// A number for humans: thousands grouped, one decimal below 100.
pub fn human(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Everything a run produced.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: Value,
    pub settings: Value,
    pub figures: Vec<Figure>,
    /// Per scenario and backend: the raw measurements behind the figures.
    pub details: Vec<Value>,
    /// Scenarios that could not complete, with the reason.
    pub errors: Vec<Value>,
}

impl Report {
    pub fn push(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Renames a backend in every row (e.g. to tell a non-default SQLite setting apart).
    pub fn rename_backend(&mut self, from: &str, to: &str) {
        for figure in self.figures.iter_mut().filter(|f| f.backend == from) {
            figure.backend = to.to_owned();
        }
    }

    pub fn detail(&mut self, scenario: &str, backend: &str, detail: Value) {
        self.details.push(serde_json::json!({
            "scenario": scenario, "backend": backend, "detail": detail,
        }));
    }

    pub fn error(&mut self, scenario: &str, backend: &str, error: &anyhow::Error) {
        self.errors.push(serde_json::json!({
            "scenario": scenario, "backend": backend, "error": format!("{error:#}"),
        }));
    }

    /// The results table in markdown, followed by any scenario errors.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| scenario | backend | figure | value | target | met |\n|---|---|---|---|---|---|\n",
        );
        for f in &self.figures {
            let met = match f.pass {
                Some(true) => "yes",
                Some(false) => "**NO**",
                None => "",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {met} |\n",
                f.scenario,
                f.backend,
                f.figure,
                f.shown,
                f.target.as_deref().unwrap_or("")
            ));
        }
        for e in &self.errors {
            out.push_str(&format!(
                "\nscenario {} ({}) failed: {}\n",
                e["scenario"].as_str().unwrap_or("?"),
                e["backend"].as_str().unwrap_or("?"),
                e["error"].as_str().unwrap_or("?"),
            ));
        }
        out
    }

    /// Writes the JSON to `path` and the markdown table next to it (`.md`).
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        let md = path.with_extension("md");
        std::fs::write(&md, self.markdown())
            .with_context(|| format!("writing {}", md.display()))?;
        Ok(())
    }
}

/// CPU count, model and kernel, for the report header.
pub fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
            .map(|m| m.trim().to_owned())
    });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned());
    serde_json::json!({
        "cpus": cpus, "cpu_model": model, "os": std::env::consts::OS, "kernel": kernel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_for_humans() {
        assert_eq!(human(1234567.4), "1,234,567");
        assert_eq!(human(100.0), "100");
        assert_eq!(human(12.34), "12.3");
        assert_eq!(human(-4321.0), "-4,321");
    }

    #[test]
    fn the_table_marks_missed_targets() {
        let mut report = Report::default();
        report
            .push(Figure::new("e2e", "sqlite", "deliveries/s", 10.0, "/s").target(">= 20", false));
        assert!(report
            .markdown()
            .contains("| e2e | sqlite | deliveries/s | 10.0 /s | >= 20 | **NO** |"));
    }
}
