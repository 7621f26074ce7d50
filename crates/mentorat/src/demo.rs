//! `mentorat demo`: a small demo hospital — people in two sites and four trades with their
//! managers, one open program with its charter, mentors and mentees, two active pairs with a
//! joint objective and a meeting, one proposed pair, and four mentees not yet paired (for a
//! matching run: three places left among the mentors). Idempotent enough to run on a fresh
//! database; it refuses one that already has programs. Everything goes through the use
//! cases, as a coordinator and as each participant would.

use anyhow::Context;
use chrono::{Duration, Utc};
use mentorat_domain::{
    Caller, ExternalId, Role, RoleSet,
    enrollment::{EnrollmentDraft, EnrollmentRole},
    meeting::{LocationDraft, LocationKind, MeetingDraft, MeetingMode},
    objective::ObjectiveDraft,
    person::PersonDraft,
    program::{ProgramChanges, ProgramDraft, ProgramStatus},
};
use mentorat_persistence::Db;
use mentorat_service::{enrollments, meetings, objectives, pairs, people, programs};

fn caller(subject: &str, roles: &[Role]) -> anyhow::Result<Caller> {
    Ok(Caller::new(
        ExternalId::parse(subject).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        roles.iter().copied().collect::<RoleSet>(),
    ))
}

/// (external id, given name, family name, department, job title, site, manager)
type Staff = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const STAFF: [Staff; 12] = [
    (
        "D001",
        "Hélène",
        "Marchand",
        "Direction des soins",
        "Directrice des soins",
        "Nord",
        None,
    ),
    (
        "C010",
        "Karim",
        "Benali",
        "Cardiologie",
        "Cadre de santé",
        "Nord",
        Some("D001"),
    ),
    (
        "C011",
        "Léa",
        "Fontaine",
        "Cardiologie",
        "Infirmière",
        "Nord",
        Some("C010"),
    ),
    (
        "C012",
        "Tomás",
        "Álvarez",
        "Cardiologie",
        "Infirmier",
        "Nord",
        Some("C010"),
    ),
    (
        "P020",
        "Sophie",
        "Nguyen",
        "Pédiatrie",
        "Cadre de santé",
        "Sud",
        Some("D001"),
    ),
    (
        "P021",
        "Élodie",
        "Roux",
        "Pédiatrie",
        "Puéricultrice",
        "Sud",
        Some("P020"),
    ),
    (
        "P022",
        "Mathieu",
        "Girard",
        "Pédiatrie",
        "Infirmier",
        "Sud",
        Some("P020"),
    ),
    (
        "U030",
        "Aïcha",
        "Diallo",
        "Urgences",
        "Médecin urgentiste",
        "Nord",
        Some("D001"),
    ),
    (
        "U031",
        "Julien",
        "Lefèvre",
        "Urgences",
        "Infirmier",
        "Nord",
        Some("U030"),
    ),
    (
        "R040",
        "François",
        "Petit",
        "Radiologie",
        "Manipulateur radio",
        "Sud",
        Some("D001"),
    ),
    (
        "R041",
        "Camille",
        "Bernard",
        "Radiologie",
        "Manipulatrice radio",
        "Sud",
        Some("R040"),
    ),
    (
        "R042",
        "Inès",
        "Moreau",
        "Radiologie",
        "Cadre de santé",
        "Sud",
        Some("D001"),
    ),
];

const CHARTER: &str = "# Charte du mentorat\n\n\
Le mentorat est une relation **confidentielle**, **non hiérarchique** et **strictement \
professionnelle**, encadrée par cette charte et fondée sur des objectifs définis ensemble.\n\n\
- Ce qui se dit dans le binôme reste dans le binôme.\n\
- Les rencontres en présentiel ont lieu sur le lieu de travail ou dans un lieu public, \
jamais au domicile du mentor ou du mentoré.\n\
- Un rendez-vous annulé est reprogrammé.\n";

/// Load the demo hospital; returns a summary to print.
pub async fn load(db: &Db) -> anyhow::Result<String> {
    let coordinator = caller("COORD", &[Role::Coordinator])?;
    let hris = caller("HRIS", &[Role::Hris])?;
    let existing = programs::list(
        db,
        &coordinator,
        mentorat_domain::Scope::Everything,
        Default::default(),
        None,
        mentorat_domain::PageLimit::parse(Some(1)).map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !existing.items.is_empty() {
        anyhow::bail!("this database already has programs: the demo loads into a new one only");
    }
    let rows = STAFF
        .iter()
        .enumerate()
        .map(|(i, (id, given, family, dept, job, site, manager))| {
            (
                i + 1,
                Ok(PersonDraft {
                    external_id: (*id).into(),
                    given_name: (*given).into(),
                    family_name: (*family).into(),
                    email: format!("{}@chu-demo.example", id.to_lowercase()),
                    department: Some((*dept).into()),
                    job_title: Some((*job).into()),
                    site: Some((*site).into()),
                    manager_external_id: manager.map(Into::into),
                    active: Some(true),
                }),
            )
        })
        .collect();
    let e = |e: mentorat_service::ServiceError| anyhow::anyhow!("{e}");
    people::import(db, &hris, rows).await.map_err(e)?;
    let program = programs::create(
        db,
        &coordinator,
        ProgramDraft {
            name: "Mentorat 2027, CHU démo".into(),
            description: Some("Un programme de démonstration : deux sites, quatre métiers.".into()),
            starts_on: None,
            ends_on: None,
            cadence_days: Some(28),
            notice_hours: Some(24),
            reminder_hours: None,
            default_mentor_capacity: Some(2),
            matching_mode: None,
        },
    )
    .await
    .map_err(e)?;
    programs::update(
        db,
        &coordinator,
        program.id,
        None,
        ProgramChanges {
            status: Some(ProgramStatus::Open),
            ..Default::default()
        },
    )
    .await
    .map_err(e)?;
    let charter = enrollments::add_charter_version(db, &coordinator, program.id, CHARTER.into())
        .await
        .map_err(e)?;
    let mut enrolled = std::collections::HashMap::new();
    for (id, role, topics, goals) in [
        (
            "C010",
            EnrollmentRole::Mentor,
            vec!["management", "entretien annuel"],
            None,
        ),
        (
            "U030",
            EnrollmentRole::Mentor,
            vec!["gestion du stress", "urgences"],
            None,
        ),
        (
            "R042",
            EnrollmentRole::Mentor,
            vec!["management", "qualité"],
            None,
        ),
        (
            "P021",
            EnrollmentRole::Mentee,
            vec![],
            Some("Préparer un poste de cadre, mieux gérer le stress"),
        ),
        (
            "C011",
            EnrollmentRole::Mentee,
            vec![],
            Some("Découvrir d'autres services, prendre la parole en réunion"),
        ),
        (
            "R041",
            EnrollmentRole::Mentee,
            vec![],
            Some("Progresser en qualité et en management"),
        ),
        // Four mentees not yet paired, for a matching run: the three mentors have one place
        // left each, and U031 and C012 may not have their own manager (R1).
        (
            "U031",
            EnrollmentRole::Mentee,
            vec![],
            Some("Mieux gérer le stress des gardes"),
        ),
        (
            "C012",
            EnrollmentRole::Mentee,
            vec![],
            Some("Préparer l'entretien annuel, apprendre le management"),
        ),
        (
            "P022",
            EnrollmentRole::Mentee,
            vec![],
            Some("Découvrir la qualité et les urgences"),
        ),
        (
            "R040",
            EnrollmentRole::Mentee,
            vec![],
            Some("Encadrer une équipe"),
        ),
    ] {
        let person = people::by_external_id(db, id)
            .await
            .map_err(e)?
            .context("a demo person is missing")?;
        let enrollment = enrollments::enroll(
            db,
            &coordinator,
            program.id,
            person.id,
            EnrollmentDraft {
                role: Some(role),
                capacity: None,
                topics: topics.into_iter().map(Into::into).collect(),
                languages: vec!["fr".into()],
                goals: goals.map(Into::into),
            },
        )
        .await
        .map_err(e)?;
        enrollments::accept_charter(
            db,
            &caller(id, &[])?,
            program.id,
            enrollment.id,
            charter.version,
        )
        .await
        .map_err(e)?;
        enrolled.insert(id, enrollment.id);
    }
    let mut summary = Vec::new();
    for (mentor, mentee, activate) in [
        ("U030", "P021", true),
        ("R042", "C011", true),
        ("C010", "R041", false),
    ] {
        let pair = pairs::propose(
            db,
            &coordinator,
            program.id,
            enrolled[mentor],
            enrolled[mentee],
        )
        .await
        .map_err(e)?;
        if activate {
            pairs::accept(db, &caller(mentor, &[])?, pair.id)
                .await
                .map_err(e)?;
            pairs::accept(db, &caller(mentee, &[])?, pair.id)
                .await
                .map_err(e)?;
            let objective = objectives::propose(
                db,
                &caller(mentee, &[])?,
                pair.id,
                ObjectiveDraft {
                    title: Some("Un premier objectif, défini ensemble".into()),
                    description: Some("À préciser lors de la première rencontre.".into()),
                    success_criteria: None,
                },
            )
            .await
            .map_err(e)?;
            objectives::agree(db, &caller(mentor, &[])?, pair.id, objective.id)
                .await
                .map_err(e)?;
            meetings::schedule(
                db,
                &caller(mentor, &[])?,
                pair.id,
                MeetingDraft {
                    starts_at: Some(Utc::now() + Duration::days(7)),
                    duration_minutes: Some(60),
                    mode: Some(MeetingMode::InPerson),
                    location: Some(LocationDraft {
                        kind: Some(LocationKind::Workplace),
                        label: Some("Salle de réunion, bâtiment A".into()),
                    }),
                    agenda: Some(
                        "Faire connaissance, relire la charte, définir les objectifs".into(),
                    ),
                },
                None,
            )
            .await
            .map_err(e)?;
        }
        summary.push(format!(
            "  pair {}: {mentor} mentors {mentee} ({})",
            pair.id,
            if activate { "active" } else { "proposed" }
        ));
    }
    Ok(format!(
        "demo hospital loaded: {} people, program {} \"{}\"\n{}\n\
         tokens: mentorat token --sub COORD --role coordinator · --sub U030 (a mentor) · --sub P021 (a mentee)",
        STAFF.len(),
        program.id,
        program.settings.name,
        summary.join("\n")
    ))
}
