//! Meeting reminders (API.md "Reminders"): a program's `reminder_hours` before a scheduled
//! meeting, both members get a `meeting.upcoming` notification and integrations the
//! `meeting.upcoming` event — ids and time only — once per meeting and start time, with any
//! number of replicas; a moved meeting is reminded again, a cancelled one never, `0` never.

use std::time::Duration;

use mentorat_tests::{Options, TestApp, postgres_url, spawn_app_with};
use serde_json::{Value, json};

use crate::working_life::{Pair, as_, in_hours, pair_with, schedule, video_at};

const AGENDA: &str = "Ordre du jour confidentiel";

/// A server whose reminder task runs every second.
async fn spawn_reminding() -> TestApp {
    spawn_app_with(Options::default().var("MENTORAT_REMINDER_EVERY_SECONDS", "1")).await
}

/// The `meeting.upcoming` events in the outbox, by meeting.
async fn upcoming_events(app: &TestApp) -> Vec<Value> {
    mentorat_persistence::outbox::all(app.db.conn(), 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "meeting.upcoming")
        .map(|e| e.payload)
        .collect()
}

async fn events_for(app: &TestApp, meeting: &Value) -> usize {
    upcoming_events(app)
        .await
        .iter()
        .filter(|p| p["meeting_id"] == *meeting)
        .count()
}

/// A member's `meeting.upcoming` notifications about `meeting`.
async fn reminders_of(app: &TestApp, who: &str, meeting: &Value) -> Vec<Value> {
    let reply = app
        .get("/api/v1/me/notifications?limit=200", Some(&as_(who)))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "meeting.upcoming" && n["subject_id"] == *meeting)
        .cloned()
        .collect()
}

/// Wait (at most ten seconds) until `meeting` has `n` reminder events.
async fn wait_for_events(app: &TestApp, meeting: &Value, n: usize) {
    for _ in 0..100 {
        if events_for(app, meeting).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "meeting {meeting}: never {n} reminders: {:?}",
        upcoming_events(app).await
    );
}

async fn meeting_at(app: &TestApp, pair: &Pair, who: &str, hours: i64) -> Value {
    let reply = schedule(app, pair, who, video_at(hours)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].clone()
}

async fn patch_program(app: &TestApp, pair: &Pair, body: Value) -> Value {
    let reply = app
        .patch_json(
            &format!("/api/v1/programs/{}", pair.program),
            Some(&app.as_coordinator()),
            None,
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

/// Several rounds of the task: time for the second-long interval to run two or three times.
async fn a_few_rounds() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

#[tokio::test]
async fn both_members_are_reminded_once_ahead_of_a_meeting() {
    let app = spawn_reminding().await;
    let pair = pair_with(&app, json!({}), false).await;
    let soon = meeting_at(&app, &pair, "ME", 3).await;
    // Further than the program's 24 hours: not yet.
    let later = meeting_at(&app, &pair, "MR", 48).await;
    wait_for_events(&app, &soon, 1).await;
    a_few_rounds().await;
    assert_eq!(
        events_for(&app, &soon).await,
        1,
        "once, whatever the rounds"
    );
    assert_eq!(events_for(&app, &later).await, 0);
    for who in ["MR", "ME"] {
        let seen = reminders_of(&app, who, &soon).await;
        assert_eq!(seen.len(), 1, "{who}: {seen:?}");
        assert_eq!(seen[0]["pair_id"], pair.id.as_str());
        assert_eq!(seen[0]["program_id"], pair.program.as_str());
        assert!(reminders_of(&app, who, &later).await.is_empty());
    }
    // Ids and time only: no word of the pair.
    let events = upcoming_events(&app).await;
    let event = &events[0];
    assert_eq!(event["pair_id"], pair.id.as_str());
    assert_eq!(event["program_id"], pair.program.as_str());
    assert_eq!(event["reminder_hours"], 24);
    assert!(event["starts_at"].is_string(), "{event}");
    assert!(!event.to_string().contains(AGENDA), "{event}");
    // Integrations may subscribe to the event.
    let hook = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": "https://rh.chu.example/mentorat", "events": ["meeting.upcoming"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    // Counted.
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("mentorat_reminders_sent_total 1")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_moved_meeting_is_reminded_again_for_its_new_time() {
    let app = spawn_reminding().await;
    let pair = pair_with(&app, json!({}), false).await;
    let meeting = meeting_at(&app, &pair, "ME", 3).await;
    wait_for_events(&app, &meeting, 1).await;
    let path = format!(
        "/api/v1/pairs/{}/meetings/{}",
        pair.id,
        meeting.as_str().unwrap()
    );
    // A change that keeps the time does not re-arm it.
    let reply = app
        .patch_json(
            &path,
            Some(&as_("MR")),
            None,
            &json!({"duration_minutes": 60}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    a_few_rounds().await;
    assert_eq!(events_for(&app, &meeting).await, 1);
    // Moved inside the window: reminded again, once.
    let reply = app
        .patch_json(
            &path,
            Some(&as_("MR")),
            None,
            &json!({"starts_at": in_hours(5)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    wait_for_events(&app, &meeting, 2).await;
    a_few_rounds().await;
    assert_eq!(events_for(&app, &meeting).await, 2);
    for who in ["MR", "ME"] {
        assert_eq!(reminders_of(&app, who, &meeting).await.len(), 2, "{who}");
    }
    let times: Vec<Value> = upcoming_events(&app)
        .await
        .iter()
        .map(|e| e["starts_at"].clone())
        .collect();
    assert_ne!(times[0], times[1], "each names the time it reminds of");
    // Moved beyond the window: nothing until its lead time comes.
    let reply = app
        .patch_json(
            &path,
            Some(&as_("ME")),
            None,
            &json!({"starts_at": in_hours(72)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    a_few_rounds().await;
    assert_eq!(events_for(&app, &meeting).await, 2);
}

#[tokio::test]
async fn a_cancelled_meeting_or_one_of_a_pair_no_longer_active_is_never_reminded() {
    let app = spawn_reminding().await;
    let pair = pair_with(&app, json!({}), false).await;
    let cancelled = meeting_at(&app, &pair, "ME", 30).await;
    let kept = meeting_at(&app, &pair, "ME", 32).await;
    let reply = app
        .post_json(
            &format!(
                "/api/v1/pairs/{}/meetings/{}/cancel",
                pair.id,
                cancelled.as_str().unwrap()
            ),
            Some(&as_("MR")),
            &json!({"reason": "Garde de nuit"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Both now inside the program's lead time.
    patch_program(&app, &pair, json!({"reminder_hours": 48})).await;
    wait_for_events(&app, &kept, 1).await;
    a_few_rounds().await;
    assert_eq!(events_for(&app, &cancelled).await, 0);
    for who in ["MR", "ME"] {
        assert!(
            reminders_of(&app, who, &cancelled).await.is_empty(),
            "{who}"
        );
    }

    // A pair suspended (R11: the HRIS deactivated a member; the meetings its member had ahead
    // are cancelled with it): nothing of it is reminded. The pair-status rule itself is
    // unit-tested in `mentorat_domain::reminder`.
    let ahead = meeting_at(&app, &pair, "ME", 40).await;
    let person = json!({
        "given_name": "PrénomMR", "family_name": "NomMR", "email": "mr@chu.example",
        "department": "Pédiatrie", "site": "Nord", "active": false,
    });
    // Set the lead time under the new meeting first, so the suspension comes before it is due.
    patch_program(&app, &pair, json!({"reminder_hours": 36})).await;
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/MR",
            Some(&app.as_hris()),
            &person,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let view = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(view["status"], "suspended", "{view}");
    patch_program(&app, &pair, json!({"reminder_hours": 48})).await;
    a_few_rounds().await;
    assert_eq!(events_for(&app, &ahead).await, 0);
}

#[tokio::test]
async fn a_program_with_reminder_hours_zero_sends_none() {
    let app = spawn_reminding().await;
    let pair = pair_with(&app, json!({"reminder_hours": 0}), false).await;
    let program = app
        .get(
            &format!("/api/v1/programs/{}", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(program["reminder_hours"], 0, "{program}");
    let meeting = meeting_at(&app, &pair, "ME", 1).await;
    a_few_rounds().await;
    assert_eq!(events_for(&app, &meeting).await, 0);
    for who in ["MR", "ME"] {
        assert!(reminders_of(&app, who, &meeting).await.is_empty(), "{who}");
    }
    // Turned on: the task was running, only `0` held it back.
    patch_program(&app, &pair, json!({"reminder_hours": 2})).await;
    wait_for_events(&app, &meeting, 1).await;
}

#[tokio::test]
async fn reminder_hours_defaults_to_24_and_is_validated() {
    let app = spawn_reminding().await;
    let created = app.create_program("Mentorat 2027").await;
    assert_eq!(created["reminder_hours"], 24, "{created}");
    let id = created["id"].as_str().unwrap();
    for bad in [json!(-1), json!(337), json!("24"), json!(1.5), json!(null)] {
        let reply = app
            .post_json(
                "/api/v1/programs",
                Some(&app.as_coordinator()),
                &json!({"name": "Mentorat", "reminder_hours": bad}),
            )
            .await;
        if bad.is_null() {
            // `null` is the same as absent: the default.
            assert_eq!(reply.status, 201, "{}", reply.text);
            assert_eq!(reply.json()["reminder_hours"], 24);
            continue;
        }
        let problem = reply.problem(422, "validation_failed");
        assert_eq!(
            problem["errors"][0]["pointer"], "/reminder_hours",
            "{bad}: {problem}"
        );
        let reply = app
            .patch_json(
                &format!("/api/v1/programs/{id}"),
                Some(&app.as_coordinator()),
                None,
                &json!({ "reminder_hours": bad }),
            )
            .await;
        let problem = reply.problem(422, "validation_failed");
        assert_eq!(
            problem["errors"][0]["pointer"], "/reminder_hours",
            "{bad}: {problem}"
        );
    }
    for good in [0, 336, 48] {
        let reply = app
            .patch_json(
                &format!("/api/v1/programs/{id}"),
                Some(&app.as_coordinator()),
                None,
                &json!({ "reminder_hours": good }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["reminder_hours"], good);
    }
    // Another change keeps it.
    let reply = app
        .patch_json(
            &format!("/api/v1/programs/{id}"),
            Some(&app.as_coordinator()),
            None,
            &json!({"name": "Mentorat 2028"}),
        )
        .await;
    assert_eq!(reply.json()["reminder_hours"], 48);
}

/// Two replicas on one database, both running the task every second, and on top of them the
/// test's own concurrent batches at the same instant: every meeting is reminded exactly once
/// (one event, one notification per member), round after round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_remind_each_meeting_exactly_once() {
    let first = spawn_reminding().await;
    let second = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", first.database_url.clone())
            .var("MENTORAT_REMINDER_EVERY_SECONDS", "1"),
    )
    .await;
    let pair = pair_with(&first, json!({"reminder_hours": 0}), false).await;
    let mut all = Vec::new();
    for round in 0..4i64 {
        let mut meetings = Vec::new();
        for i in 0..5 {
            let replica = if i % 2 == 0 { &first } else { &second };
            meetings.push(meeting_at(replica, &pair, "ME", 1 + round * 5 + i).await);
        }
        // Reminders on: every meeting of the round (and none of the earlier ones, reminded
        // already) is due on both replicas at once.
        patch_program(&first, &pair, json!({"reminder_hours": 24})).await;
        let now = chrono::Utc::now();
        let batches = (0..6).map(|n| {
            let db = if n % 2 == 0 {
                first.db.clone()
            } else {
                second.db.clone()
            };
            tokio::spawn(
                async move { mentorat_service::reminders::remind_batch(&db, now, 2).await },
            )
        });
        for done in futures_util::future::join_all(batches).await {
            match done.unwrap() {
                Ok(_) => {}
                // SQLite: two pools on one file may find it busy; nothing was written.
                Err(e) => assert!(postgres_url().is_none(), "{e}"),
            }
        }
        for m in &meetings {
            wait_for_events(&first, m, 1).await;
        }
        a_few_rounds().await;
        all.extend(meetings);
        for m in &all {
            assert_eq!(events_for(&first, m).await, 1, "round {round}: {m}");
            for who in ["MR", "ME"] {
                assert_eq!(
                    reminders_of(&second, who, m).await.len(),
                    1,
                    "round {round}: {who} {m}"
                );
            }
        }
        patch_program(&second, &pair, json!({"reminder_hours": 0})).await;
    }
    assert_eq!(upcoming_events(&first).await.len(), all.len());
}
