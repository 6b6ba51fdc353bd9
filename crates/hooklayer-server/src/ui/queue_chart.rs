//! The operator's queue-depth chart: pending, due and failed deliveries over the last hour (a
//! point a minute) or 24 hours (a point per quarter hour: its last sample), drawn from the
//! samples a worker keeps once a minute (`queue_samples`), never from a count of the queue.

use super::charts::{draw_line, frame, window_start, wrap, Window};
use super::error::UiError;
use crate::state::AppState;
use hooklayer_store::QueueSample;
use maud::{html, Markup, PreEscaped};

/// The depth at each point of the window, oldest first; `None` where no sample was kept
/// (no worker was running).
fn points(samples: &[QueueSample], start: i64, window: Window) -> Vec<Option<QueueSample>> {
    let n = (window.minutes() / window.step()) as usize;
    let mut points = vec![None; n];
    for s in samples {
        let i = (s.minute - start).div_euclid(window.step());
        if let Some(point) = usize::try_from(i).ok().and_then(|i| points.get_mut(i)) {
            // Samples come oldest first: the last one of a quarter stays.
            *point = Some(*s);
        }
    }
    points
}

fn svg(points: &[Option<QueueSample>], window: Window) -> String {
    let max = points
        .iter()
        .flatten()
        .map(|s| s.pending.max(s.failed))
        .max()
        .unwrap_or(0);
    let mut svg = String::new();
    frame(&mut svg, &max.to_string(), window);
    let series = |f: fn(&QueueSample) -> u64| -> Vec<Option<f64>> {
        points
            .iter()
            .map(|p| p.as_ref().map(|s| f(s) as f64))
            .collect()
    };
    draw_line(&mut svg, "line-pending", &series(|s| s.pending), max as f64);
    draw_line(&mut svg, "line-due", &series(|s| s.due), max as f64);
    draw_line(&mut svg, "line-failed", &series(|s| s.failed), max as f64);
    let desc = match points.iter().flatten().last() {
        Some(last) => format!(
            "Over {}, at most {max} deliveries were pending or failed; at the last sample {} were pending, {} of them due, and {} failed.",
            window.label(),
            last.pending,
            last.due,
            last.failed
        ),
        None => format!("No sample of the queue over {}.", window.label()),
    };
    wrap(&svg, "Queue depth", &desc)
}

/// The queue chart's section on the system page.
pub async fn section(state: &AppState, window: Window) -> Result<Markup, UiError> {
    let start = window_start(window);
    let samples = state.store.queue_samples(start).await?;
    let points = points(&samples, start, window);
    let here = "/ui/system";
    Ok(html! {
        h2 #charts-title { "Queue depth" }
        nav.inline aria-label="Chart window" {
            a href=(format!("{here}#charts-title")) aria-current=[(window == Window::Hour).then_some("true")] { "Last hour" }
            " · "
            a href=(format!("{here}?window=24h#charts-title")) aria-current=[(window == Window::Day).then_some("true")] { "Last 24 hours" }
        }
        div.charts.single #queue-chart data-refresh {
            figure {
                (PreEscaped(svg(&points, window)))
                figcaption { span.key-pending { "—" } " pending " span.key-due { "—" } " due " span.key-failed { "—" } " failed, sampled once a minute" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_shows_its_last_sample_and_gaps_stay_empty() {
        let s = |minute, pending| QueueSample {
            minute,
            pending,
            due: 0,
            failed: 0,
        };
        let points = points(&[s(15, 1), s(29, 7), s(45, 3)], 0, Window::Day);
        assert_eq!(points.len(), 96);
        assert_eq!(points[0], None);
        assert_eq!(points[1].map(|p| p.pending), Some(7));
        assert_eq!(points[2], None);
        assert_eq!(points[3].map(|p| p.pending), Some(3));
    }
}
