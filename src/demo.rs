//! A demo region built from real place data: the 88 villages of Kabupaten Kulon Progo (DI
//! Yogyakarta) with the regency boundary, service kinds, teams, staff and ~200 open requests
//! placed around real village centroids. Seeding is idempotent: an existing demo region is kept.

use chrono::{Datelike, NaiveDate};
use diesel::Connection;

use crate::auth;
use crate::db::accounts::{self, NewAccount};
use crate::db::catalog::{self, NewRegion, NewServiceKind, NewTeam};
use crate::db::events::Actor;
use crate::db::requests::{self, NewRequest};
use crate::db::{self, DbConnection};
use crate::domain::{
    Boundary, Coordinates, PreferredWindow, Priority, RequestStatus, Role, WeeklyShiftPattern,
};

pub const REGION_NAME: &str = "Kabupaten Kulon Progo";
const VILLAGES_CSV: &str = include_str!("../assets/kulon_progo_villages.csv");
const REGENCY_GEOJSON: &str = include_str!("../assets/kulon_progo_regency.geojson");

/// Demo staff passwords: for a local demo only, printed at start-up.
pub const DEMO_PASSWORD: &str = "jemput-demo-2026";

#[derive(Debug, Clone)]
pub struct Village {
    pub name: String,
    pub district: String,
    pub at: Coordinates,
}

pub fn villages() -> anyhow::Result<Vec<Village>> {
    let mut reader = csv::Reader::from_reader(VILLAGES_CSV.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let r = record?;
        let lat: f64 = r.get(7).unwrap_or_default().parse()?;
        let lon: f64 = r.get(8).unwrap_or_default().parse()?;
        out.push(Village {
            name: r.get(1).unwrap_or_default().to_string(),
            district: r.get(4).unwrap_or_default().to_string(),
            at: Coordinates::parse(lat, lon).map_err(|e| anyhow::anyhow!("village data: {e}"))?,
        });
    }
    Ok(out)
}

/// SplitMix64: a tiny seeded generator so the demo (and the dispatch bench) is the same on
/// every machine.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub struct DemoSummary {
    pub created: bool,
    pub region_id: i64,
    pub requests: usize,
}

/// Seeds the demo region (once). `today` is the region's current date.
pub fn seed(conn: &mut DbConnection, today: NaiveDate) -> anyhow::Result<DemoSummary> {
    if let Some(region) = catalog::regions_all(conn)?
        .into_iter()
        .find(|r| r.name == REGION_NAME)
    {
        return Ok(DemoSummary {
            created: false,
            region_id: region.id,
            requests: 0,
        });
    }
    let villages = villages()?;
    let boundary =
        Boundary::parse("boundary", REGENCY_GEOJSON).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password_hash = auth::hash_password(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let system = Actor {
        account_id: None,
        request_id: Some("demo-seed".into()),
    };
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        let now = db::now();
        let region = catalog::region_insert(
            conn,
            &system,
            NewRegion {
                name: REGION_NAME.into(),
                time_zone: "Asia/Jakarta".into(),
                boundary_geojson: Some(REGENCY_GEOJSON.trim().to_string()),
                created_at: now,
            },
        )?;
        let staff = |role: Role, region_id: Option<i64>, username: &str, name: &str| NewAccount {
            role,
            region_id,
            phone: None,
            username: Some(username.into()),
            password_hash: Some(password_hash.clone()),
            display_name: name.into(),
            language: crate::domain::Language::Id,
            active: true,
            created_at: now,
        };
        accounts::insert(
            conn,
            &system,
            staff(Role::Admin, None, "admin", "Admin Jemput"),
        )?;
        accounts::insert(
            conn,
            &system,
            staff(
                Role::Coordinator,
                Some(region.id),
                "koordinator",
                "Koordinator Kulon Progo",
            ),
        )?;

        let kinds = [
            (
                "ktp_elderly",
                "Perekaman KTP-el lansia / disabilitas",
                "ID card recording for the elderly and disabled",
                30,
                Some("adminduk"),
            ),
            (
                "birth_certificate",
                "Akta kelahiran",
                "Birth certificate",
                20,
                Some("adminduk"),
            ),
            (
                "family_card",
                "Kartu keluarga",
                "Family card update",
                20,
                Some("adminduk"),
            ),
            (
                "bpjs_enrolment",
                "Pendaftaran BPJS Kesehatan",
                "Health-insurance enrolment",
                25,
                Some("bpjs"),
            ),
        ];
        let mut kind_ids = Vec::new();
        for (code, name_id, name_en, minutes, skill) in kinds {
            let k = catalog::service_kind_insert(
                conn,
                &system,
                NewServiceKind {
                    region_id: region.id,
                    code: code.into(),
                    name_id: name_id.into(),
                    name_en: name_en.into(),
                    default_duration_minutes: minutes,
                    required_skill: skill.map(String::from),
                    active: true,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            kind_ids.push(k.id);
        }

        // Eight teams based at district-town villages, most with both skills.
        let bases = [
            "Wates",
            "Sentolo",
            "Nanggulan",
            "Kalibawang",
            "Samigaluh",
            "Temon",
            "Galur",
            "Pengasih",
        ];
        let shifts = serde_json::to_string(&WeeklyShiftPattern::standard_civil_service())?;
        for (i, district) in bases.iter().enumerate() {
            let depot = villages
                .iter()
                .find(|v| v.district == *district)
                .map(|v| v.at)
                .unwrap_or(villages[0].at);
            let skills: Vec<&str> = if i % 4 == 3 {
                vec!["bpjs"]
            } else {
                vec!["adminduk", "bpjs"]
            };
            let team = catalog::team_insert(
                conn,
                &system,
                NewTeam {
                    region_id: region.id,
                    name: format!("Tim {}", district),
                    depot_lat: depot.lat,
                    depot_lon: depot.lon,
                    vehicle_profile: if i == 0 {
                        "car".into()
                    } else {
                        "motorbike".into()
                    },
                    skills: serde_json::to_string(&skills)?,
                    shift_pattern: shifts.clone(),
                    max_visits_per_day: 10,
                    active: true,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let officer = accounts::insert(
                conn,
                &system,
                staff(
                    Role::Officer,
                    Some(region.id),
                    &format!("petugas{}", i + 1),
                    &format!("Petugas {}", district),
                ),
            )?;
            catalog::team_member_add(conn, &system, &team, officer.id)?;
        }

        let mut rng = Rng(0x4A45_4D50_5554);
        let mut created = 0;
        let citizens: Vec<i64> = (0..60)
            .map(|i| {
                accounts::find_or_create_citizen(conn, &format!("+62812000{:05}", i)).map(|a| a.id)
            })
            .collect::<Result<_, _>>()?;
        while created < 200 {
            let village = &villages[rng.below(villages.len())];
            // Within ~1.2 km of the centroid, kept inside the regency.
            let at = Coordinates {
                lat: village.at.lat + (rng.unit() - 0.5) * 0.022,
                lon: village.at.lon + (rng.unit() - 0.5) * 0.022,
            };
            if !boundary.contains(at) {
                continue;
            }
            let earliest = today + chrono::Duration::days(1 + rng.below(5) as i64);
            let deadline = earliest + chrono::Duration::days(5 + rng.below(20) as i64);
            let bedridden = rng.below(5) == 0;
            let needs: Vec<&str> = if bedridden { vec!["bedridden"] } else { vec![] };
            let priority = match rng.below(20) {
                0 => Priority::Urgent,
                1..=4 => Priority::High,
                5..=16 => Priority::Normal,
                _ => Priority::Low,
            };
            let priority = if bedridden && priority != Priority::Urgent {
                Priority::High
            } else {
                priority
            };
            let windows: Vec<PreferredWindow> = if rng.below(2) == 0 {
                let day = earliest + chrono::Duration::days(rng.below(3) as i64);
                let day = if day.weekday().number_from_monday() >= 6 {
                    earliest
                } else {
                    day
                };
                vec![PreferredWindow {
                    date: day.min(deadline),
                    start: None,
                    end: None,
                }]
            } else {
                Vec::new()
            };
            requests::insert(
                conn,
                &system,
                NewRequest {
                    citizen_id: citizens[rng.below(citizens.len())],
                    region_id: region.id,
                    service_kind_id: kind_ids[rng.below(kind_ids.len())],
                    lat: at.lat,
                    lon: at.lon,
                    address: format!(
                        "Dusun {}, Desa {}, Kec. {}",
                        1 + rng.below(12),
                        village.name,
                        village.district
                    ),
                    notes: None,
                    accessibility_needs: serde_json::to_string(&needs)?,
                    priority,
                    earliest_date: earliest,
                    deadline,
                    preferred_windows: serde_json::to_string(&windows)?,
                    status: RequestStatus::Submitted,
                    version: 1,
                    idempotency_key: None,
                    idempotency_fingerprint: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            created += 1;
        }
        Ok(DemoSummary {
            created: true,
            region_id: region.id,
            requests: created,
        })
    })
}

/// What a newcomer needs to sign in to the demo, printed at start-up.
pub fn sign_in_help(base: &str) -> String {
    format!(
        "Demo region \"{REGION_NAME}\" is ready. Sign in as:\n\
         \x20 admin        curl -s {base}/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"{DEMO_PASSWORD}\"}}'\n\
         \x20 coordinator  same, with \"username\":\"koordinator\"\n\
         \x20 officer      same, with \"username\":\"petugas1\" (… \"petugas8\")\n\
         \x20 citizen      curl -s {base}/v1/auth/otp/request -H 'content-type: application/json' -d '{{\"phone\":\"081200000001\"}}'\n\
         \x20              then read the code in this log and POST {{\"phone\",\"code\"}} to {base}/v1/auth/otp/verify\n\
         API docs: {base}/docs/"
    )
}
