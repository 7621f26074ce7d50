-- Seed a program of 50,000 pairs and 500,000 meetings for the report benchmark (PostgreSQL).
-- Run after `bench/import_people.py --people 75000` and with the program's id:
--   psql "$URL" -v program=<uuid> -f bench/report_seed.sql
-- P0..P24999 mentor two mentees each among P25000..P74999.
\set ON_ERROR_STOP on
-- The planner knows nothing of these fresh rows: joins on computed keys go by hash.
SET enable_nestloop = off;
BEGIN;
INSERT INTO enrollments (id, program_id, person_id, role, capacity, topics, languages, goals,
                         accepted_charter_version, accepted_at, revision, created_at, updated_at)
SELECT gen_random_uuid(), :'program', p.id,
       CASE WHEN substr(p.external_id, 2)::int < 25000 THEN 'mentor' ELSE 'mentee' END,
       NULL, '[]', '[]', NULL, NULL, NULL, 1, now(), now()
FROM people p
WHERE p.external_id ~ '^P[0-9]+$' AND substr(p.external_id, 2)::int < 75000;

WITH e AS (
  SELECT e.id, e.person_id, e.role, substr(p.external_id, 2)::int AS n
  FROM enrollments e JOIN people p ON p.id = e.person_id
  WHERE e.program_id = :'program')
INSERT INTO pairs (id, program_id, mentor_enrollment_id, mentee_enrollment_id, mentor_person_id,
                   mentee_person_id, status, mentor_accepted_at, mentee_accepted_at, activated_at,
                   ended_at, end_reason, end_reason_text, hierarchy_conflict, suspended_at,
                   revision, created_at, updated_at)
SELECT gen_random_uuid(), :'program', mr.id, me.id, mr.person_id, me.person_id,
       CASE WHEN me.n % 10 = 0 THEN 'ended' ELSE 'active' END,
       now() - interval '200 days', now() - interval '200 days', now() - interval '200 days',
       CASE WHEN me.n % 10 = 0 THEN now() - interval '10 days' END,
       CASE WHEN me.n % 10 = 0 THEN 'goals_reached' END,
       NULL, false, NULL, 1, now() - interval '200 days', now()
FROM e me JOIN e mr ON mr.role = 'mentor' AND mr.n = (me.n - 25000) / 2
WHERE me.role = 'mentee';

-- Ten meetings per pair, a fortnight apart; the newest one still ahead.
INSERT INTO meetings (id, pair_id, scheduled_by, starts_at, ends_at, duration_minutes, mode,
                      location_kind, location_label, agenda, summary, status, reschedules,
                      cancelled_by, cancelled_at, cancel_reason, late, closed_at, revision,
                      created_at, updated_at)
SELECT gen_random_uuid(), pr.id, pr.mentor_person_id,
       now() + interval '7 days' - g * interval '14 days',
       now() + interval '7 days' - g * interval '14 days' + interval '1 hour', 60, 'video',
       NULL, NULL, NULL, NULL,
       CASE WHEN g = 0 THEN 'scheduled' WHEN g % 7 = 0 THEN 'cancelled'
            WHEN g % 5 = 0 THEN 'missed' ELSE 'held' END,
       NULL,
       CASE WHEN g = 7 THEN pr.mentee_person_id END,
       CASE WHEN g = 7 THEN now() - g * interval '14 days' END,
       NULL, g = 7 AND pr.mentee_person_id::text < '8', NULL, 1,
       now() - g * interval '14 days' + interval '3 days', now()
FROM pairs pr, generate_series(0, 9) g
WHERE pr.program_id = :'program';

-- Half the cancellations were made up for by the next meeting.
UPDATE meetings r SET reschedules = c.id
FROM meetings c
WHERE c.pair_id = r.pair_id AND c.status = 'cancelled' AND r.status = 'held'
  AND r.starts_at = c.starts_at + interval '14 days' AND c.pair_id::text < '8';

INSERT INTO objectives (id, pair_id, proposed_by, title, description, success_criteria, status,
                        progress, agreed_by, agreed_at, revision, created_at, updated_at)
SELECT gen_random_uuid(), pr.id, pr.mentee_person_id, 'enc:v1:00000000:x', NULL, NULL,
       CASE WHEN pr.id::text < '4' THEN 'achieved' ELSE 'in_progress' END, 50,
       pr.mentor_person_id, now() - interval '150 days', 2, now() - interval '190 days', now()
FROM pairs pr WHERE pr.program_id = :'program';

WITH f AS (
  INSERT INTO feedback (id, pair_id, author_id, kind, meeting_id, comment, created_at)
  SELECT gen_random_uuid(), m.pair_id, pr.mentee_person_id, 'check_in', m.id, NULL,
         m.starts_at + interval '2 hours'
  FROM meetings m JOIN pairs pr ON pr.id = m.pair_id
  WHERE pr.program_id = :'program' AND m.status = 'held'
    AND m.starts_at > now() - interval '30 days'
  RETURNING id, pair_id, author_id, created_at)
INSERT INTO feedback_scores (feedback_id, pair_id, author_id, dimension, score, created_at)
SELECT f.id, f.pair_id, f.author_id, d.dimension, 1 + (abs(hashtext(f.id::text || d.dimension)) % 5), f.created_at
FROM f, (VALUES ('usefulness'), ('atmosphere')) d(dimension);
-- What the service keeps as it goes (migrations 000010 and 000011,
-- crates/persistence/src/tallies.rs), counted here for the rows written above — with the
-- planner told about those rows: its correlated subqueries want their indexes.
RESET enable_nestloop;
ANALYZE pairs;
ANALYZE meetings;
ANALYZE objectives;
ANALYZE feedback;
ANALYZE feedback_scores;
UPDATE pairs SET
  report_department = COALESCE((SELECT department FROM people WHERE people.id = pairs.mentee_person_id), '(none)'),
  report_site = COALESCE((SELECT site FROM people WHERE people.id = pairs.mentee_person_id), '(none)'),
  cross_department = COALESCE((SELECT mr.department <> me.department FROM people mr, people me
    WHERE mr.id = pairs.mentor_person_id AND me.id = pairs.mentee_person_id), false),
  objectives_agreed = EXISTS (SELECT 1 FROM objectives o WHERE o.pair_id = pairs.id AND o.agreed_at IS NOT NULL),
  objectives_achieved = EXISTS (SELECT 1 FROM objectives o WHERE o.pair_id = pairs.id AND o.status = 'achieved'),
  owed_reschedules = (SELECT COUNT(*) FROM meetings c WHERE c.pair_id = pairs.id AND c.status = 'cancelled'
    AND NOT EXISTS (SELECT 1 FROM meetings r WHERE r.reschedules = c.id)),
  latest_meeting_at = (SELECT MAX(m.starts_at) FROM meetings m WHERE m.pair_id = pairs.id
    AND m.status IN ('held', 'scheduled'))
WHERE program_id = :'program';
INSERT INTO meeting_tallies (program_id, day, department, site, held, cancelled, late, missed)
SELECT pr.program_id,
  to_char(CASE WHEN m.status = 'cancelled' THEN COALESCE(m.cancelled_at, m.starts_at) ELSE m.starts_at END
          AT TIME ZONE 'UTC', 'YYYY-MM-DD'), pr.report_department, pr.report_site,
  SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END), SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END),
  SUM(CASE WHEN m.status = 'cancelled' AND m.late THEN 1 ELSE 0 END), SUM(CASE WHEN m.status = 'missed' THEN 1 ELSE 0 END)
FROM meetings m JOIN pairs pr ON pr.id = m.pair_id
WHERE pr.program_id = :'program' AND m.status IN ('held', 'cancelled', 'missed')
  AND NOT (m.status = 'cancelled' AND m.cancelled_by IS NULL)
GROUP BY 1, 2, 3, 4;
INSERT INTO report_reschedules (cancelled_id, program_id, pair_id, department, site, cancelled_at, days)
SELECT c.id, pr.program_id, pr.id, pr.report_department, pr.report_site, c.cancelled_at,
  EXTRACT(EPOCH FROM (r.created_at - c.cancelled_at)) / 86400.0
FROM meetings r JOIN meetings c ON c.id = r.reschedules JOIN pairs pr ON pr.id = c.pair_id
WHERE pr.program_id = :'program' AND c.cancelled_at IS NOT NULL;
UPDATE feedback f SET program_id = pr.program_id, report_department = pr.report_department,
  report_site = pr.report_site
FROM pairs pr WHERE pr.id = f.pair_id AND pr.program_id = :'program';
INSERT INTO feedback_tallies (program_id, day, department, site, dimension, total, answers)
SELECT f.program_id, to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), f.report_department,
  f.report_site, s.dimension, SUM(s.score), COUNT(*)
FROM feedback_scores s JOIN feedback f ON f.id = s.feedback_id
WHERE f.program_id = :'program'
GROUP BY 1, 2, 3, 4, 5;
COMMIT;
ANALYZE;
SELECT (SELECT count(*) FROM pairs WHERE program_id = :'program') AS pairs,
       (SELECT count(*) FROM meetings m JOIN pairs p ON p.id = m.pair_id
         WHERE p.program_id = :'program') AS meetings;
