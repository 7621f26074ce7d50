// A third-party client of the Mentorat API, written the way an integrator would: types generated
// from openapi/openapi.json by openapi-typescript, calls made with openapi-fetch, and not one cast.
// CI (.ci/run) compiles it with `tsc --strict` and runs it against a live server through the life
// of one pair: people from the HRIS, a program and its charter, two enrollments, a proposed pair
// that becomes active once both members accepted the charter and the pair (R3), a joint objective
// (R4), a meeting cancelled and made up for (R2, R7), notes private and shared (R5).
// Any answer other than the one the contract promises stops it with exit code 1.
//
// Environment: MENTORAT_URL (e.g. http://127.0.0.1:8080) and four bearer tokens,
// MENTORAT_TOKEN_HRIS (role hris), MENTORAT_TOKEN_COORDINATOR (role coordinator),
// MENTORAT_TOKEN_MENTOR and MENTORAT_TOKEN_MENTEE (no role; their subjects become the two people's
// external ids). `mentorat token --sub E1 --role hris` mints such tokens for a development server.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/mentorat.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** The `sub` claim of a JWT: the person's external id (the server's default subject claim). */
function subjectOf(token: string): string {
  const payload = token.split(".")[1];
  if (payload === undefined) {
    throw new Error("a token is not a JWT");
  }
  const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  if (typeof claims === "object" && claims !== null && "sub" in claims && typeof claims.sub === "string") {
    return claims.sub;
  }
  throw new Error("a token has no string `sub` claim");
}

class UnexpectedAnswer extends Error {}

let steps = 0;

function passed(what: string): void {
  steps += 1;
  console.log(`ok   ${String(steps).padStart(2)} ${what}`);
}

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new UnexpectedAnswer(what);
  }
}

function equal<T>(actual: T, expected: T, what: string): void {
  check(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The step answered `status` with a body: returns it, typed by the document. */
function ok<T>(answer: Answer<T>, status: number, what: string): T {
  const { data, error, response } = answer;
  if (response.status !== status || data === undefined) {
    throw new UnexpectedAnswer(
      `${what}: expected ${status}, got ${response.status} ${JSON.stringify(error ?? data ?? null)}`,
    );
  }
  passed(`${what}: ${status}`);
  return data;
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "code" in value && "status" in value;
}

/** The step was refused with `status` and the problem `code` the contract names. */
function refused(answer: Answer<unknown>, status: number, code: string, what: string): Problem {
  const { error, response } = answer;
  const type = response.headers.get("Content-Type") ?? "";
  if (response.status !== status || !isProblem(error) || error.code !== code) {
    throw new UnexpectedAnswer(
      `${what}: expected ${status} ${code}, got ${response.status} ${JSON.stringify(error ?? null)}`,
    );
  }
  check(type.startsWith("application/problem+json"), `${what}: Content-Type ${type}`);
  equal(error.status, status, `${what}: the problem's status`);
  passed(`${what}: ${status} ${code}`);
  return error;
}

function etagOf(response: Response, what: string): string {
  const tag = response.headers.get("ETag");
  if (tag === null) {
    throw new UnexpectedAnswer(`${what}: no ETag`);
  }
  return tag;
}

function clientFor(baseUrl: string, token: string): Client<paths> {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

/** A whole minute `days` from now, in RFC 3339 UTC. */
function inDays(days: number, hour: number): string {
  const at = new Date(Date.now() + days * 86_400_000);
  at.setUTCHours(hour, 0, 0, 0);
  return at.toISOString().replace(".000Z", "Z");
}

async function main(): Promise<void> {
  const baseUrl = env("MENTORAT_URL");
  const hris = clientFor(baseUrl, env("MENTORAT_TOKEN_HRIS"));
  const coordinator = clientFor(baseUrl, env("MENTORAT_TOKEN_COORDINATOR"));
  const mentorToken = env("MENTORAT_TOKEN_MENTOR");
  const menteeToken = env("MENTORAT_TOKEN_MENTEE");
  const mentor = clientFor(baseUrl, mentorToken);
  const mentee = clientFor(baseUrl, menteeToken);
  const open = createClient<paths>({ baseUrl });
  const run = Date.now().toString(36);

  // Operations: no token needed.
  const health = ok(await open.GET("/healthz"), 200, "GET /healthz");
  equal(health.status, "ok", "health");
  ok(await open.GET("/readyz"), 200, "GET /readyz");

  // Without a token: 401 and a problem document.
  refused(await open.GET("/api/v1/programs"), 401, "unauthorized", "GET /programs without a token");

  // People, as the HRIS connector sends them. The manager is imported after their reports.
  const managerId = `MGR-${run}`;
  const upsert = async (externalId: string, person: Schemas["PersonInput"], status: number) =>
    ok(
      await hris.PUT("/api/v1/people/by-external-id/{external_id}", {
        params: { path: { external_id: externalId } },
        body: person,
      }),
      status,
      `PUT /people/by-external-id/${externalId}`,
    );
  const mentorPerson = await upsert(
    subjectOf(mentorToken),
    {
      given_name: "Claire",
      family_name: "Dubois",
      email: `claire.dubois.${run}@chu.example`,
      department: "Cardiologie",
      job_title: "Cadre de santé",
      site: "Hôpital Nord",
      manager_external_id: managerId,
    },
    201,
  );
  equal(mentorPerson.active, true, "a new person is active");
  equal(mentorPerson.manager_external_id, managerId, "the manager named before being imported");
  const menteePerson = await upsert(
    subjectOf(menteeToken),
    {
      given_name: "Zoé",
      family_name: "Lefèvre",
      email: `zoe.lefevre.${run}@chu.example`,
      department: "Urgences",
      job_title: "Infirmière",
      site: "Hôpital Nord",
      manager_external_id: managerId,
    },
    201,
  );
  await upsert(
    managerId,
    { given_name: "Marc", family_name: "Bernard", email: `marc.bernard.${run}@chu.example`, department: "Direction des soins" },
    201,
  );
  // The same record again is an update, not a second person.
  const again = await upsert(
    subjectOf(menteeToken),
    {
      given_name: "Zoé",
      family_name: "Lefèvre",
      email: `zoe.lefevre.${run}@chu.example`,
      department: "Urgences",
      job_title: "Infirmière de coordination",
      site: "Hôpital Nord",
      manager_external_id: managerId,
    },
    200,
  );
  equal(again.id, menteePerson.id, "an upsert keeps the person's id");
  equal(again.job_title, "Infirmière de coordination", "the updated job title");

  // A program, created once even when the coordinator's tool retries (Idempotency-Key).
  const programBody: Schemas["CreateProgram"] = {
    name: `Mentorat 2027, CHU (${run})`,
    description: "Mentoring across trades for the hospital's staff.",
    starts_on: "2027-01-04",
    ends_on: "2027-12-17",
  };
  const idempotencyKey = `ci-flow-${run}`;
  const created = await coordinator.POST("/api/v1/programs", {
    body: programBody,
    params: { header: { "Idempotency-Key": idempotencyKey } },
  });
  const program = ok(created, 201, "POST /programs");
  equal(program.status, "draft", "a new program's status");
  equal(program.cadence_days, 28, "the default cadence (R8)");
  equal(program.default_mentor_capacity, 2, "the default mentor capacity (R10)");
  const replay = ok(
    await coordinator.POST("/api/v1/programs", {
      body: programBody,
      params: { header: { "Idempotency-Key": idempotencyKey } },
    }),
    201,
    "POST /programs again with the same Idempotency-Key",
  );
  equal(replay.id, program.id, "the retry replays the first answer");

  // Opened with If-Match; an unchanged program answers 304 to If-None-Match.
  const programTag = etagOf(created.response, "POST /programs");
  const opened = ok(
    await coordinator.PATCH("/api/v1/programs/{id}", {
      params: { path: { id: program.id }, header: { "If-Match": programTag } },
      body: { status: "open" },
    }),
    200,
    "PATCH /programs/{id} status open",
  );
  equal(opened.status, "open", "the program's status");
  refused(
    await coordinator.PATCH("/api/v1/programs/{id}", {
      params: { path: { id: program.id }, header: { "If-Match": programTag } },
      body: { name: "Stale" },
    }),
    412,
    "precondition_failed",
    "PATCH /programs/{id} with a stale If-Match",
  );
  const read = await coordinator.GET("/api/v1/programs/{id}", { params: { path: { id: program.id } } });
  ok(read, 200, "GET /programs/{id}");
  const notModified = await coordinator.GET("/api/v1/programs/{id}", {
    params: { path: { id: program.id }, header: { "If-None-Match": etagOf(read.response, "GET /programs/{id}") } },
  });
  equal(notModified.response.status, 304, "GET /programs/{id} with If-None-Match");
  passed("GET /programs/{id} with If-None-Match: 304");

  // The charter (R3).
  const charter = ok(
    await coordinator.POST("/api/v1/programs/{id}/charter-versions", {
      params: { path: { id: program.id } },
      body: { text: "# Charte du mentorat\n\nConfidentialité, bienveillance, cadre professionnel." },
    }),
    201,
    "POST /programs/{id}/charter-versions",
  );
  equal(charter.version, 1, "the first charter version");
  // Enrollments.
  const mentorEnrollment = ok(
    await coordinator.POST("/api/v1/programs/{id}/enrollments", {
      params: { path: { id: program.id } },
      body: {
        person_id: mentorPerson.id,
        role: "mentor",
        capacity: 2,
        topics: ["management", "éthique du soin"],
        languages: ["fr", "en"],
      },
    }),
    201,
    "POST /programs/{id}/enrollments (mentor)",
  );
  equal(mentorEnrollment.role, "mentor", "the mentor's role");
  equal(mentorEnrollment.charter_status, "charter_pending", "the mentor has not accepted the charter");
  const menteeEnrollment = ok(
    await coordinator.POST("/api/v1/programs/{id}/enrollments", {
      params: { path: { id: program.id } },
      body: {
        person_id: menteePerson.id,
        role: "mentee",
        topics: ["management"],
        languages: ["fr"],
        goals: "Prendre un poste de coordination",
      },
    }),
    201,
    "POST /programs/{id}/enrollments (mentee)",
  );
  equal(menteeEnrollment.charter_status, "charter_pending", "the mentee has not accepted the charter");

  const current = ok(
    await mentee.GET("/api/v1/programs/{id}/charter-versions/current", { params: { path: { id: program.id } } }),
    200,
    "GET /programs/{id}/charter-versions/current (the mentee, once enrolled)",
  ).version;
  equal(current, 1, "the current charter version");

  // The pair, proposed by the coordinator.
  const proposed = ok(
    await coordinator.POST("/api/v1/programs/{id}/pairs", {
      params: { path: { id: program.id } },
      body: { mentor_enrollment_id: mentorEnrollment.id, mentee_enrollment_id: menteeEnrollment.id },
    }),
    201,
    "POST /programs/{id}/pairs",
  );
  const pairId = proposed.id;
  equal(proposed.status, "proposed", "a new pair's status");
  equal(proposed.mentor.person_id, mentorPerson.id, "the pair's mentor");
  equal(proposed.mentee.person_id, menteePerson.id, "the pair's mentee");
  equal([proposed.mentor.accepted, proposed.mentee.accepted], [false, false], "nobody accepted yet");
  refused(
    await coordinator.POST("/api/v1/programs/{id}/pairs", {
      params: { path: { id: program.id } },
      body: { mentor_enrollment_id: mentorEnrollment.id, mentee_enrollment_id: menteeEnrollment.id },
    }),
    409,
    "pair_exists",
    "POST /programs/{id}/pairs a second time",
  );

  // R3: no active pair before both members accepted the current charter.
  refused(
    await mentor.POST("/api/v1/pairs/{id}/accept", { params: { path: { id: pairId } } }),
    409,
    "charter_not_accepted",
    "POST /pairs/{id}/accept before the charter",
  );
  refused(
    await mentor.POST("/api/v1/programs/{id}/enrollments/{enrollment_id}/charter-acceptance", {
      params: { path: { id: program.id, enrollment_id: menteeEnrollment.id } },
      body: { version: 1 },
    }),
    404,
    "not_found",
    "the mentor accepting the charter for the mentee (someone else's enrollment)",
  );
  const members: { who: string; client: Client<paths>; enrollment: Schemas["EnrollmentDto"] }[] = [
    { who: "mentor", client: mentor, enrollment: mentorEnrollment },
    { who: "mentee", client: mentee, enrollment: menteeEnrollment },
  ];
  for (const { who, client, enrollment } of members) {
    const accepted = ok(
      await client.POST("/api/v1/programs/{id}/enrollments/{enrollment_id}/charter-acceptance", {
        params: { path: { id: program.id, enrollment_id: enrollment.id } },
        body: { version: charter.version },
      }),
      200,
      `POST …/charter-acceptance (${who})`,
    );
    equal(accepted.charter_status, "accepted", `the ${who}'s charter status`);
    equal(accepted.accepted_charter_version, 1, `the version the ${who} accepted`);
  }

  // Both members accept the pair: it is active after the second.
  const half = ok(
    await mentor.POST("/api/v1/pairs/{id}/accept", { params: { path: { id: pairId } } }),
    200,
    "POST /pairs/{id}/accept (mentor)",
  );
  equal(half.status, "proposed", "one acceptance of two");
  equal([half.mentor.accepted, half.mentee.accepted], [true, false], "who accepted");
  const active = ok(
    await mentee.POST("/api/v1/pairs/{id}/accept", { params: { path: { id: pairId } } }),
    200,
    "POST /pairs/{id}/accept (mentee)",
  );
  equal(active.status, "active", "the pair once both accepted (R3)");
  check(typeof active.activated_at === "string", "an active pair says since when");

  // A joint objective (R4): proposed by one member, agreed by the other.
  const objective = ok(
    await mentee.POST("/api/v1/pairs/{id}/objectives", {
      params: { path: { id: pairId } },
      body: {
        title: "Conduire un entretien annuel",
        description: "Préparer et mener les entretiens de l'équipe de nuit.",
        success_criteria: "Trois entretiens menés avant juin",
      },
    }),
    201,
    "POST /pairs/{id}/objectives (mentee)",
  );
  equal(objective.status, "proposed", "a new objective's status");
  equal(objective.proposed_by, menteePerson.id, "who proposed it");
  refused(
    await mentee.POST("/api/v1/pairs/{id}/objectives/{objective_id}/agree", {
      params: { path: { id: pairId, objective_id: objective.id } },
    }),
    409,
    "cannot_agree_own_objective",
    "the mentee agreeing to her own objective",
  );
  const agreed = ok(
    await mentor.POST("/api/v1/pairs/{id}/objectives/{objective_id}/agree", {
      params: { path: { id: pairId, objective_id: objective.id } },
    }),
    200,
    "POST /pairs/{id}/objectives/{objective_id}/agree (mentor)",
  );
  equal(agreed.status, "in_progress", "an agreed objective's status");
  equal(agreed.agreed_by, mentorPerson.id, "who agreed");
  const agreedRead = await mentee.GET("/api/v1/pairs/{id}/objectives/{objective_id}", {
    params: { path: { id: pairId, objective_id: objective.id } },
  });
  ok(agreedRead, 200, "GET /pairs/{id}/objectives/{objective_id}");
  const progressed = ok(
    await mentee.PATCH("/api/v1/pairs/{id}/objectives/{objective_id}", {
      params: {
        path: { id: pairId, objective_id: objective.id },
        header: { "If-Match": etagOf(agreedRead.response, "GET objective") },
      },
      body: { progress: 30, comment: "Premier entretien préparé" },
    }),
    200,
    "PATCH /pairs/{id}/objectives/{objective_id} progress",
  );
  equal(progressed.progress, 30, "the objective's progress");
  const revisions = ok(
    await mentor.GET("/api/v1/pairs/{id}/objectives/{objective_id}/revisions", {
      params: { path: { id: pairId, objective_id: objective.id } },
    }),
    200,
    "GET /pairs/{id}/objectives/{objective_id}/revisions",
  );
  check(revisions.items.length >= 3, `every change is a revision: ${revisions.items.length} of 3`);

  // Meetings: never at home (R2); a cancellation is owed a new meeting (R7).
  const startsAt = inDays(3, 14);
  refused(
    await mentor.POST("/api/v1/pairs/{id}/meetings", {
      params: { path: { id: pairId } },
      body: {
        starts_at: startsAt,
        duration_minutes: 60,
        mode: "in_person",
        location: { kind: "private_residence", label: "Chez Claire" },
      },
    }),
    422,
    "private_location",
    "a meeting at a private residence",
  );
  const meeting = ok(
    await mentor.POST("/api/v1/pairs/{id}/meetings", {
      params: { path: { id: pairId } },
      body: {
        starts_at: startsAt,
        duration_minutes: 60,
        mode: "in_person",
        location: { kind: "workplace", label: "Salle 3, bâtiment B" },
        agenda: "Préparer l'entretien annuel",
      },
    }),
    201,
    "POST /pairs/{id}/meetings (mentor, in person)",
  );
  equal(meeting.status, "scheduled", "a new meeting's status");
  equal(Date.parse(meeting.starts_at), Date.parse(startsAt), "the meeting's start");
  equal(meeting.location?.kind, "workplace", "the meeting's place");
  const scheduled = ok(
    await coordinator.GET("/api/v1/pairs/{id}", { params: { path: { id: pairId } } }),
    200,
    "GET /pairs/{id} (coordinator)",
  );
  equal(scheduled.meetings.scheduled, 1, "the coordinator sees the meeting counted");
  equal(scheduled.objectives.in_progress, 1, "the coordinator sees the objective counted");
  check(
    scheduled.next_meeting_at !== null && scheduled.next_meeting_at !== undefined &&
      Date.parse(scheduled.next_meeting_at) === Date.parse(startsAt),
    "the pair's next meeting",
  );
  refused(
    await coordinator.GET("/api/v1/pairs/{id}/meetings/{meeting_id}", {
      params: { path: { id: pairId, meeting_id: meeting.id } },
    }),
    403,
    "confidential",
    "the coordinator reading the meeting's content (R5)",
  );
  const cancelled = ok(
    await mentee.POST("/api/v1/pairs/{id}/meetings/{meeting_id}/cancel", {
      params: { path: { id: pairId, meeting_id: meeting.id } },
      body: { reason: "Garde de nuit imprévue" },
    }),
    200,
    "POST /pairs/{id}/meetings/{meeting_id}/cancel (mentee)",
  );
  equal(cancelled.status, "cancelled", "the cancelled meeting's status");
  equal(cancelled.late, false, "three days ahead is outside the notice window");
  equal(cancelled.cancelled_by, menteePerson.id, "who cancelled");
  const owing = ok(
    await mentor.GET("/api/v1/pairs/{id}", { params: { path: { id: pairId } } }),
    200,
    "GET /pairs/{id} (mentor)",
  );
  check(owing.flags.includes("reschedule_owed"), `the pair owes a meeting: ${JSON.stringify(owing.flags)}`);
  const makeUp = ok(
    await mentee.POST("/api/v1/pairs/{id}/meetings", {
      params: { path: { id: pairId } },
      body: { starts_at: inDays(4, 9), duration_minutes: 45, mode: "video", reschedules: meeting.id },
    }),
    201,
    "POST /pairs/{id}/meetings (mentee, video, making up for the cancelled one)",
  );
  equal(makeUp.reschedules, meeting.id, "the meeting it makes up for");
  const square = ok(
    await mentor.GET("/api/v1/pairs/{id}", { params: { path: { id: pairId } } }),
    200,
    "GET /pairs/{id} (mentor)",
  );
  check(!square.flags.includes("reschedule_owed"), `nothing owed any more: ${JSON.stringify(square.flags)}`);
  equal([square.meetings.scheduled, square.meetings.cancelled], [1, 1], "the pair's meeting counts");

  // Notes: a private one is its author's only, a shared one both members' (R5).
  const privateNote = ok(
    await mentee.POST("/api/v1/pairs/{id}/notes", {
      params: { path: { id: pairId } },
      body: { body: "Ce qui m'a aidé aujourd'hui…", visibility: "private" },
    }),
    201,
    "POST /pairs/{id}/notes (mentee, private)",
  );
  equal(privateNote.author_id, menteePerson.id, "the note's author");
  const sharedNote = ok(
    await mentor.POST("/api/v1/pairs/{id}/notes", {
      params: { path: { id: pairId } },
      body: { body: "Lectures pour la prochaine fois", visibility: "shared" },
    }),
    201,
    "POST /pairs/{id}/notes (mentor, shared)",
  );
  const menteeSees = ok(
    await mentee.GET("/api/v1/pairs/{id}/notes", { params: { path: { id: pairId } } }),
    200,
    "GET /pairs/{id}/notes (mentee)",
  );
  equal(
    menteeSees.items.map((note) => note.id).sort(),
    [privateNote.id, sharedNote.id].sort(),
    "the mentee reads her note and the shared one",
  );
  const mentorSees = ok(
    await mentor.GET("/api/v1/pairs/{id}/notes", { params: { path: { id: pairId } } }),
    200,
    "GET /pairs/{id}/notes (mentor)",
  );
  equal(
    mentorSees.items.map((note) => note.id),
    [sharedNote.id],
    "the mentor reads the shared note only",
  );
  refused(
    await mentor.GET("/api/v1/pairs/{id}/notes/{note_id}", {
      params: { path: { id: pairId, note_id: privateNote.id } },
    }),
    404,
    "not_found",
    "the mentor reading the mentee's private note",
  );
  refused(
    await coordinator.GET("/api/v1/pairs/{id}/notes", { params: { path: { id: pairId } } }),
    403,
    "confidential",
    "the coordinator reading the notes (R5)",
  );

  // The mentee's own view.
  const me = ok(await mentee.GET("/api/v1/me"), 200, "GET /me (mentee)");
  equal(me.person?.id, menteePerson.id, "the caller's person");
  check(
    me.pairs.some((pair) => pair.id === pairId && pair.status === "active"),
    "the caller's active pair is in /me",
  );

  console.log(`${steps} passed, 0 failed`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`FAIL after step ${steps}: ${message}`);
  console.log(`${steps} passed, 1 failed`);
  process.exit(1);
});
