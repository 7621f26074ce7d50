-- The pair read as it was before migration 000020 (commit 7891aed, pairs::read_one): eight
-- relations, two grouped subqueries and a sub-plan. Variables: :pair, :ext (set by pgbench -D).
SELECT p.*, mp.given_name AS mentor_given_name, mp.family_name AS mentor_family_name,
  ep.given_name AS mentee_given_name, ep.family_name AS mentee_family_name,
  (mp.external_id = :ext OR ep.external_id = :ext) AS caller_is_member,
  er.accepted_charter_version AS mentor_accepted, ee.accepted_charter_version AS mentee_accepted,
  (SELECT MAX(cv.version) FROM charter_versions cv WHERE cv.program_id = p.program_id) AS current_charter,
  pr.cadence_days AS cadence_days,
  COALESCE(ms.scheduled, 0) AS scheduled, COALESCE(ms.held, 0) AS held,
  COALESCE(ms.cancelled, 0) AS cancelled, COALESCE(ms.missed, 0) AS missed,
  COALESCE(ms.late, 0) AS late, COALESCE(ms.owed, 0) AS owed,
  ms.first_held_at AS first_held_at, ms.last_meeting_at AS last_meeting_at,
  ms.next_meeting_at AS next_meeting_at,
  COALESCE(os.o_proposed, 0) AS o_proposed, COALESCE(os.o_in_progress, 0) AS o_in_progress,
  COALESCE(os.o_achieved, 0) AS o_achieved, COALESCE(os.o_abandoned, 0) AS o_abandoned,
  COALESCE(os.agreed, 0) AS agreed
FROM pairs p JOIN people mp ON mp.id = p.mentor_person_id
  JOIN people ep ON ep.id = p.mentee_person_id
  JOIN enrollments er ON er.id = p.mentor_enrollment_id
  JOIN enrollments ee ON ee.id = p.mentee_enrollment_id
  JOIN programs pr ON pr.id = p.program_id
  LEFT JOIN (SELECT m.pair_id AS pair_id,
      SUM(CASE WHEN m.status = 'scheduled' THEN 1 ELSE 0 END) AS scheduled,
      SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END) AS held,
      SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
      SUM(CASE WHEN m.status = 'missed' THEN 1 ELSE 0 END) AS missed,
      SUM(CASE WHEN m.status = 'cancelled' AND m.late THEN 1 ELSE 0 END) AS late,
      SUM(CASE WHEN m.status = 'cancelled' AND NOT EXISTS
          (SELECT 1 FROM meetings r WHERE r.reschedules = m.id) THEN 1 ELSE 0 END) AS owed,
      MIN(CASE WHEN m.status = 'held' THEN m.starts_at END) AS first_held_at,
      MAX(CASE WHEN m.status IN ('held', 'scheduled') AND m.starts_at <= now() THEN m.starts_at END) AS last_meeting_at,
      MIN(CASE WHEN m.status = 'scheduled' AND m.starts_at > now() THEN m.starts_at END) AS next_meeting_at
    FROM meetings m WHERE m.pair_id = :pair GROUP BY m.pair_id) ms ON ms.pair_id = p.id
  LEFT JOIN (SELECT o.pair_id AS pair_id,
      SUM(CASE WHEN o.status = 'proposed' THEN 1 ELSE 0 END) AS o_proposed,
      SUM(CASE WHEN o.status = 'in_progress' THEN 1 ELSE 0 END) AS o_in_progress,
      SUM(CASE WHEN o.status = 'achieved' THEN 1 ELSE 0 END) AS o_achieved,
      SUM(CASE WHEN o.status = 'abandoned' THEN 1 ELSE 0 END) AS o_abandoned,
      SUM(CASE WHEN o.agreed_at IS NOT NULL THEN 1 ELSE 0 END) AS agreed
    FROM objectives o WHERE o.pair_id = :pair GROUP BY o.pair_id) os ON os.pair_id = p.id
WHERE p.id = :pair;
