//! Charts drawn on the server as SVG from the per-minute statistics the recorder keeps
//! (`delivery_stats`): attempts per minute (succeeded, failed) and attempt latency p50/p99,
//! over the last hour (per minute) or 24 hours (per 15 minutes), for an app or a webhook.
//!
//! Hand-written SVG rather than a plotting crate: two kinds of chart, a few dozen lines, no
//! fonts or image encoders to build, and the markup stays accessible (a `<title>` and a
//! `<desc>` that says in words what the chart shows). Colours come from the stylesheet.

use super::error::UiError;
use crate::state::AppState;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_store::{
    StatRow, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, STATS_QUARTER_MINUTES as QUARTER,
};
use maud::{html, Markup, PreEscaped};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The span a chart covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    /// `?window=24h` selects the day; anything else the hour.
    pub fn from_query(query: Option<&str>) -> Self {
        let day = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .any(|(k, v)| k == "window" && v == "24h");
        if day {
            Window::Day
        } else {
            Window::Hour
        }
    }
    pub(super) fn minutes(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::Day => 24 * 60,
        }
    }
    /// Minutes per bar.
    pub(super) fn step(self) -> i64 {
        match self {
            Window::Hour => 1,
            Window::Day => QUARTER,
        }
    }
    pub(super) fn label(self) -> &'static str {
        match self {
            Window::Hour => "the last hour",
            Window::Day => "the last 24 hours",
        }
    }
}

/// Attempts summed over one bar's minutes.
#[derive(Clone, Default)]
struct Slot {
    succeeded: u64,
    failed: u64,
    buckets: [u64; LATENCY_BUCKETS],
}

impl Slot {
    fn add(&mut self, row: &StatRow) {
        self.succeeded += row.succeeded;
        self.failed += row.failed;
        for (mine, theirs) in self.buckets.iter_mut().zip(row.buckets) {
            *mine += theirs;
        }
    }
    /// The latency (ms, upper bound of its bucket) under which `p` of the attempts finished.
    fn percentile(&self, p: f64) -> Option<u32> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let wanted = (p * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                // Beyond the last bound: shown as twice it.
                return Some(LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(10_000));
            }
        }
        None
    }
}

pub(super) fn now_minute() -> i64 {
    Timestamp::now().millis().div_euclid(60_000)
}

/// The first minute a window's chart shows: the hour's 60 minutes up to this one, or the
/// day's 96 quarters up to this one (aligned on quarters, so each bar is one roll-up row).
pub(super) fn window_start(window: Window) -> i64 {
    let now = now_minute();
    match window {
        Window::Hour => now + 1 - window.minutes(),
        Window::Day => (now.div_euclid(QUARTER) + 1) * QUARTER - window.minutes(),
    }
}

/// The statistics of the window, one slot per bar, oldest first. The hour reads at most 60
/// per-minute rows per webhook, the day 96 quarter rows (never 1,440 minutes).
async fn slots(
    state: &AppState,
    app: AppId,
    webhook: Option<WebhookId>,
    window: Window,
) -> Result<Vec<Slot>, UiError> {
    let start = window_start(window);
    let rows = match window {
        Window::Hour => state.store.stats(app, webhook, start).await?,
        Window::Day => state.store.stats_by_quarter(app, webhook, start).await?,
    };
    let n = (window.minutes() / window.step()) as usize;
    let mut slots = vec![Slot::default(); n];
    for row in &rows {
        let i = (row.minute - start).div_euclid(window.step());
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| slots.get_mut(i)) {
            slot.add(row);
        }
    }
    Ok(slots)
}

/// Success rate of each of the app's webhooks' attempts over the last 24 hours (the day's
/// 96 quarters), for those that made any: one aggregate over the roll-up for the whole list.
pub async fn success_rates_24h(
    state: &AppState,
    app: AppId,
) -> Result<HashMap<WebhookId, f64>, UiError> {
    let totals = state
        .store
        .attempt_totals(app, window_start(Window::Day))
        .await?;
    Ok(totals
        .into_iter()
        .filter(|(_, ok, bad)| ok + bad > 0)
        .map(|(id, ok, bad)| (id, ok as f64 * 100.0 / (ok + bad) as f64))
        .collect())
}

const W: f64 = 600.0;
const H: f64 = 160.0;
const LEFT: f64 = 44.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 136.0;

fn y_of(value: f64, max: f64) -> f64 {
    BOTTOM - (value / max.max(1.0)) * (BOTTOM - TOP)
}

pub(super) fn frame(svg: &mut String, max_label: &str, window: Window) {
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{W}" y2="{BOTTOM}"/><text class="tick" x="{x}" y="{ty}" text-anchor="end">{max_label}</text><text class="tick" x="{x}" y="{BOTTOM}" text-anchor="end">0</text><text class="tick" x="{LEFT}" y="{by}">−{span}</text><text class="tick" x="{W}" y="{by}" text-anchor="end">now</text>"#,
        x = LEFT - 4.0,
        ty = TOP + 8.0,
        by = H - 6.0,
        span = if window == Window::Hour {
            "60 min"
        } else {
            "24 h"
        },
    );
}

fn throughput_svg(slots: &[Slot], window: Window) -> String {
    let max = slots
        .iter()
        .map(|s| s.succeeded + s.failed)
        .max()
        .unwrap_or(0) as f64;
    let (ok, bad) = slots
        .iter()
        .fold((0, 0), |(o, b), s| (o + s.succeeded, b + s.failed));
    let mut svg = String::new();
    frame(&mut svg, &format!("{max}"), window);
    let width = (W - LEFT) / slots.len().max(1) as f64;
    for (i, s) in slots.iter().enumerate() {
        let x = LEFT + i as f64 * width;
        let y_ok = y_of(s.succeeded as f64, max);
        let y_all = y_of((s.succeeded + s.failed) as f64, max);
        let bar = (width - 1.0).max(0.5);
        if s.succeeded > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-ok" x="{x:.1}" y="{y_ok:.1}" width="{bar:.1}" height="{:.1}"/>"#,
                BOTTOM - y_ok
            );
        }
        if s.failed > 0 {
            let _ = write!(
                svg,
                r#"<rect class="bar-failed" x="{x:.1}" y="{y_all:.1}" width="{bar:.1}" height="{:.1}"/>"#,
                y_ok - y_all
            );
        }
    }
    wrap(
        &svg,
        "Attempts per minute",
        &format!(
            "{ok} succeeded and {bad} failed attempts over {}.",
            window.label()
        ),
    )
}

fn latency_svg(slots: &[Slot], window: Window) -> String {
    let p50: Vec<Option<u32>> = slots.iter().map(|s| s.percentile(0.5)).collect();
    let p99: Vec<Option<u32>> = slots.iter().map(|s| s.percentile(0.99)).collect();
    let max = p99.iter().flatten().copied().max().unwrap_or(0) as f64;
    let mut svg = String::new();
    frame(&mut svg, &format!("{max} ms"), window);
    for (class, series) in [("line-p99", &p99), ("line-p50", &p50)] {
        let values: Vec<Option<f64>> = series.iter().map(|v| v.map(f64::from)).collect();
        draw_line(&mut svg, class, &values, max);
    }
    let mut all = Slot::default();
    for s in slots {
        for (mine, theirs) in all.buckets.iter_mut().zip(s.buckets) {
            *mine += theirs;
        }
    }
    let desc = match (all.percentile(0.5), all.percentile(0.99)) {
        (Some(a), Some(b)) => format!(
            "Over {}, half the attempts took at most {a} ms and 99% at most {b} ms.",
            window.label()
        ),
        _ => format!("No attempt over {}.", window.label()),
    };
    wrap(&svg, "Attempt latency, p50 and p99", &desc)
}

/// One series as a line with a dot per point (so a lone point is visible too), one point per
/// slot across the chart; `None` slots have no point.
pub(super) fn draw_line(svg: &mut String, class: &str, values: &[Option<f64>], max: f64) {
    let width = (W - LEFT) / values.len().max(1) as f64;
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (LEFT + (i as f64 + 0.5) * width, y_of(v, max))))
        .collect();
    if points.is_empty() {
        return;
    }
    let line: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="{class}" points="{}"/>"#,
        line.join(" ")
    );
    for (x, y) in &points {
        let _ = write!(
            svg,
            r#"<circle class="{class}-dot" cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#
        );
    }
}

pub(super) fn wrap(body: &str, title: &str, desc: &str) -> String {
    format!(
        r#"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{title}. {desc}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title><desc>{desc}</desc>{body}</svg>"#
    )
}

/// The charts section of a page at `here` (an app's or a webhook's).
pub async fn section(
    state: &AppState,
    app: AppId,
    webhook: Option<WebhookId>,
    here: &str,
    window: Window,
) -> Result<Markup, UiError> {
    let slots = slots(state, app, webhook, window).await?;
    Ok(html! {
        h2 #charts-title { "Charts" }
        nav.inline aria-label="Chart window" {
            a href=(format!("{here}#charts-title")) aria-current=[(window == Window::Hour).then_some("true")] { "Last hour" }
            " · "
            a href=(format!("{here}?window=24h#charts-title")) aria-current=[(window == Window::Day).then_some("true")] { "Last 24 hours" }
        }
        div.charts.grid #charts data-refresh {
            figure {
                (PreEscaped(throughput_svg(&slots, window)))
                figcaption { span.key-ok { "■" } " succeeded " span.key-failed { "■" } " failed attempts" }
            }
            figure {
                (PreEscaped(latency_svg(&slots, window)))
                figcaption { span.key-p50 { "—" } " p50 " span.key-p99 { "—" } " p99 latency" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_bucket_bounds() {
        let mut slot = Slot::default();
        slot.buckets[0] = 98; // ≤ 10 ms
        slot.buckets[6] = 2; // ≤ 1000 ms
        assert_eq!(slot.percentile(0.5), Some(10));
        assert_eq!(slot.percentile(0.99), Some(1000));
        assert_eq!(Slot::default().percentile(0.5), None);
    }
}
