-- The pair read after migration 000020 (pairs::read_one): the pair, its facts on its row, and
-- its two people by primary key. Variables: :pair, :ext (set by pgbench -D).
SELECT p.*, mp.given_name AS mentor_given_name, mp.family_name AS mentor_family_name,
  ep.given_name AS mentee_given_name, ep.family_name AS mentee_family_name,
  (mp.external_id = :ext OR ep.external_id = :ext) AS caller_is_member
FROM pairs p JOIN people mp ON mp.id = p.mentor_person_id
  JOIN people ep ON ep.id = p.mentee_person_id
WHERE p.id = :pair;
