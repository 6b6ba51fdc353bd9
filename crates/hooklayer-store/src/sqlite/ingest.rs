//! Ingest on SQLite: the outbox write of the publish API — events and their deliveries in one
//! transaction.
//!
//! PERFORMANCE: every statement is a round trip to the connection's thread, so ingest writes a
//! whole batch with one multi-row INSERT for the events and one for the deliveries, instead of
//! a statement per row; and when every event is new (the common case) both go in one script,
//! so a publish costs four round trips: `BEGIN`, the app's webhooks, the script, `COMMIT`.

use super::begin_ingest;
use super::queue::{value_rows, ROWS_PER_STATEMENT};
use super::script::Script;
use super::{placeholders, SqliteStore};
use crate::handoff::{Handoff, HandoffPicker, IngestHook, Ingested, INGEST_WEBHOOK_COLUMNS};
use crate::model::*;
use crate::rows::{stored_answer, LinePlaces};
use crate::StoreResult;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use std::collections::{HashMap, HashSet};

/// Stores `events` for `app` with their deliveries in one transaction, handing off what
/// `handoff` takes (see [`crate::handoff`]).
pub(super) async fn ingest(
    s: &SqliteStore,
    app: AppId,
    events: &[NewEvent],
    now: Timestamp,
    handoff: &Handoff,
) -> StoreResult<Ingested> {
    let app_id = app.to_string();
    let mut tx = begin_ingest(s).await?;
    let hooks = sqlx::query(&format!(
        "SELECT {INGEST_WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = ? AND status = 'active'"
    ))
    .bind(&app_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(IngestHook::read)
    .collect::<StoreResult<Vec<_>>>()?;
    // The webhooks each event goes to, by its position in `events`.
    let targets: Vec<Vec<&IngestHook>> = events
        .iter()
        .map(|event| hooks.iter().filter(|hook| hook.subscribes(event)).collect())
        .collect();

    // 1. Insert the events; RETURNING names the ones that were new (the rest already existed,
    //    or repeat an id earlier in this batch). When all of them may be new, their
    //    deliveries go in the same script, written only if every event was (see
    //    `push_deliveries`); shaped webhooks' line places are reserved per new delivery, so
    //    they always take step 3.
    let all_deliveries: Vec<(&NewEvent, &IngestHook)> = events
        .iter()
        .zip(&targets)
        .flat_map(|(event, hooks)| hooks.iter().map(move |hook| (event, *hook)))
        .collect();
    let unique: HashSet<_> = events.iter().map(|e| e.id).collect();
    let one_trip = unique.len() == events.len()
        && events.len() <= ROWS_PER_STATEMENT
        && all_deliveries.len() <= ROWS_PER_STATEMENT
        && !all_deliveries.iter().any(|(_, hook)| hook.shaped);
    let mut picker = HandoffPicker::new(handoff, app, now);
    let mut inserted: HashSet<String> = HashSet::with_capacity(events.len());
    let chunks = events
        .chunks(ROWS_PER_STATEMENT)
        .zip(targets.chunks(ROWS_PER_STATEMENT));
    for (chunk, fan_out) in chunks {
        let mut script = Script::default();
        push_events(&mut script, &app_id, chunk, fan_out, now);
        if one_trip {
            let only_if_all_new = Some(events.len());
            let mut no_lines = LinePlaces::default();
            let (rows, picker, lines) = (&all_deliveries, &mut picker, &mut no_lines);
            push_deliveries(
                &mut script,
                &app_id,
                rows,
                picker,
                lines,
                now,
                only_if_all_new,
            )?;
        }
        inserted.extend(script.run_returning(&mut tx).await?);
    }
    let deliveries_written = one_trip && inserted.len() == events.len();
    if !deliveries_written {
        // Any deliveries queued in the picker above were not written.
        picker = HandoffPicker::new(handoff, app, now);
    }

    // 2. Answer each event in order: new ones with their fan-out, repeats with the first answer.
    let mut answers = Vec::with_capacity(events.len());
    let mut first: HashMap<String, IngestAnswer> = HashMap::new();
    let mut new_events: Vec<(&NewEvent, &[&IngestHook])> = Vec::with_capacity(events.len());
    let mut stored: Vec<String> = Vec::new();
    for (event, hooks) in events.iter().zip(&targets) {
        let id = event.id.to_string();
        if let Some(answer) = first.get(&id) {
            answers.push(Some(answer.clone()));
        } else if inserted.contains(&id) {
            let answer = IngestAnswer::first(event, hooks.len());
            first.insert(id, answer.clone());
            new_events.push((event, hooks));
            answers.push(Some(answer));
        } else {
            stored.push(id);
            answers.push(None);
        }
    }
    let mut earlier: HashMap<String, IngestAnswer> = HashMap::new();
    for chunk in stored.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, type, created_at, deliveries FROM events WHERE app_id = ? AND id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(&app_id);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let answer = stored_answer(&row)?;
            earlier.insert(answer.id.to_string(), answer);
        }
    }

    // 3. Queue the deliveries of the new events, claiming what the handoff takes.
    let deliveries: Vec<(&NewEvent, &IngestHook)> = if deliveries_written {
        Vec::new()
    } else {
        new_events
            .iter()
            .flat_map(|(event, hooks)| hooks.iter().map(move |hook| (*event, *hook)))
            .collect()
    };
    let mut lines = LinePlaces::default();
    for hook in hooks.iter().filter(|hook| hook.shaped) {
        let count = deliveries.iter().filter(|(_, h)| h.id == hook.id).count() as i64;
        if count > 0 {
            let end: i64 = sqlx::query_scalar(
                "UPDATE webhooks SET line_seq = line_seq + ? WHERE id = ? RETURNING line_seq",
            )
            .bind(count)
            .bind(&hook.id)
            .fetch_one(&mut *tx)
            .await?;
            lines.reserve(&hook.id, end - count);
        }
    }
    let mut script = Script::default();
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        push_deliveries(
            &mut script,
            &app_id,
            chunk,
            &mut picker,
            &mut lines,
            now,
            None,
        )?;
    }
    script.run(&mut tx).await?;
    tx.commit().await?;

    let answers = answers
        .into_iter()
        .zip(events)
        .map(|(answer, event)| match answer {
            Some(a) => Ok(a),
            None => earlier.get(&event.id.to_string()).cloned().ok_or_else(|| {
                crate::StoreError::Corrupt(format!("event {} vanished during ingest", event.id))
            }),
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Ingested {
        answers,
        claimed: picker.into_claimed(),
    })
}

/// Appends the insert of `events` (`RETURNING` the ids of the new ones); `fan_out` holds
/// each event's webhooks, by position.
fn push_events<'a>(
    script: &mut Script<'a>,
    app_id: &str,
    events: &'a [NewEvent],
    fan_out: &[Vec<&IngestHook>],
    now: Timestamp,
) {
    script.statement(&format!(
        "INSERT INTO events (app_id, id, type, created_at, ingested_at, payload, deliveries)
         VALUES {} ON CONFLICT DO NOTHING RETURNING id",
        value_rows(events.len(), 7)
    ));
    for (event, hooks) in events.iter().zip(fan_out) {
        script
            .bind(app_id.to_owned())
            .bind(event.id.to_string())
            .bind(event.event_type.as_str())
            .bind(event.created_at.millis())
            .bind(now.millis())
            .bind(event.payload_prefix.as_str())
            .bind(hooks.len() as i64);
    }
}

/// Appends the insert of `deliveries`, giving each its request id, due time and line place
/// and claiming what the handoff takes. With `only_if_new: Some(n)` the rows go in only if
/// the statement before inserted `n` rows: SQLite's `changes()` is the row count of the last
/// completed INSERT, UPDATE or DELETE, here the events' insert.
fn push_deliveries<'a>(
    script: &mut Script<'a>,
    app_id: &str,
    deliveries: &[(&'a NewEvent, &'a IngestHook)],
    picker: &mut HandoffPicker<'a>,
    lines: &mut LinePlaces,
    now: Timestamp,
    only_if_new: Option<usize>,
) -> StoreResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let guard = if only_if_new.is_some() {
        " WHERE changes() = ?"
    } else {
        ""
    };
    script.statement(&format!(
        "INSERT INTO deliveries (request_id, app_id, webhook_id, event_id, event_type, status, created_at, next_attempt_at, line_seq)
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9
         FROM (VALUES {}) AS v{guard}",
        value_rows(deliveries.len(), 9)
    ));
    for (event, hook) in deliveries {
        let (request_id, due) = picker.queue(event, hook)?;
        script
            .bind(request_id.to_string())
            .bind(app_id.to_owned())
            .bind(hook.id.as_str())
            .bind(event.id.to_string())
            .bind(event.event_type.as_str())
            .bind("pending")
            .bind(now.millis())
            .bind(due.millis())
            .bind(lines.next(&hook.id));
    }
    if let Some(n) = only_if_new {
        script.bind(n as i64);
    }
    Ok(())
}
