//! The words of each push. Team phones get small silent data messages (the app fetches the
//! route itself); citizens get a visible notification in their language, Bahasa Indonesia
//! unless they chose English.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::db::outbox::PushMessage;
use crate::domain::Language;

const HARI: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];
const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// "Senin, 23 November 2026" or "Monday 23 November 2026".
pub fn long_date(language: Language, date: NaiveDate) -> String {
    if language == Language::En {
        date.format("%A %-d %B %Y").to_string()
    } else {
        format!(
            "{}, {} {} {}",
            HARI[date.weekday().num_days_from_monday() as usize],
            date.day(),
            BULAN[date.month0() as usize],
            date.year()
        )
    }
}

/// A day: long enough for a phone that is off for a shift to still get it.
const ONE_DAY: u64 = 24 * 60 * 60;

fn data(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The words of each push; written by the push layer, in the reader's language.
pub trait Notices {
    /// To a team member's phones: the route of `date` is now at `version`.
    fn route_changed(&self, team_id: i64, date: NaiveDate, version: i32) -> PushMessage;
    /// To a citizen: the visit is on `date` between `window`.
    fn visit_scheduled(
        &self,
        language: Language,
        request_id: i64,
        date: NaiveDate,
        window: &(String, String),
    ) -> PushMessage;
    /// To a citizen: the planned visit is off; it will be planned again.
    fn visit_unscheduled(&self, language: Language, request_id: i64) -> PushMessage;
    /// To a citizen: the team is on its way, expected at `eta` (local `HH:MM`).
    fn visit_on_the_way(&self, language: Language, request_id: i64, eta: &str) -> PushMessage;
    /// To a citizen: the visit is done.
    fn visit_done(&self, language: Language, request_id: i64) -> PushMessage;
    /// To a citizen: the team could not serve them; the visit will be planned again.
    fn visit_missed(&self, language: Language, request_id: i64) -> PushMessage;
}

/// The messages Jemput sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct JemputNotices;

impl Notices for JemputNotices {
    fn route_changed(&self, team_id: i64, date: NaiveDate, version: i32) -> PushMessage {
        PushMessage {
            data: data(&[
                ("type", "route_changed".into()),
                ("team_id", team_id.to_string()),
                ("date", date.to_string()),
                ("version", version.to_string()),
            ]),
            notification: None,
            // An offline phone gets only the newest version of each day's route.
            collapse_key: Some(format!("route-{team_id}-{date}")),
            high_priority: true,
            ttl_secs: ONE_DAY,
        }
    }

    fn visit_scheduled(
        &self,
        language: Language,
        request_id: i64,
        date: NaiveDate,
        window: &(String, String),
    ) -> PushMessage {
        let when = long_date(language, date);
        let (title, body) = if language == Language::En {
            (
                "Your Jemput visit is scheduled".to_string(),
                format!(
                    "Our team will come on {when}, between {} and {}.",
                    window.0, window.1
                ),
            )
        } else {
            (
                "Jadwal kunjungan Jemput".to_string(),
                format!(
                    "Tim kami akan datang pada {when}, pukul {}–{}.",
                    window.0, window.1
                ),
            )
        };
        PushMessage {
            data: data(&[
                ("type", "visit_scheduled".into()),
                ("request_id", request_id.to_string()),
                ("date", date.to_string()),
            ]),
            notification: Some((title, body)),
            collapse_key: Some(format!("request-{request_id}")),
            high_priority: false,
            ttl_secs: ONE_DAY,
        }
    }

    fn visit_on_the_way(&self, language: Language, request_id: i64, eta: &str) -> PushMessage {
        JemputNotices::on_the_way(language, request_id, eta)
    }

    fn visit_done(&self, language: Language, request_id: i64) -> PushMessage {
        JemputNotices::done(language, request_id)
    }

    fn visit_missed(&self, language: Language, request_id: i64) -> PushMessage {
        JemputNotices::missed(language, request_id)
    }

    fn visit_unscheduled(&self, language: Language, request_id: i64) -> PushMessage {
        let (title, body) = if language == Language::En {
            (
                "Your Jemput visit is being rescheduled".to_string(),
                "The planned visit cannot go ahead; we will tell you the new day soon.".to_string(),
            )
        } else {
            (
                "Kunjungan Jemput dijadwalkan ulang".to_string(),
                "Kunjungan yang direncanakan batal; kami segera memberi tahu hari yang baru."
                    .to_string(),
            )
        };
        PushMessage {
            data: data(&[
                ("type", "visit_unscheduled".into()),
                ("request_id", request_id.to_string()),
            ]),
            notification: Some((title, body)),
            collapse_key: Some(format!("request-{request_id}")),
            high_priority: false,
            ttl_secs: ONE_DAY,
        }
    }
}

fn citizen_notice(request_id: i64, kind: &str, (title, body): (String, String)) -> PushMessage {
    PushMessage {
        data: data(&[
            ("type", kind.into()),
            ("request_id", request_id.to_string()),
        ]),
        notification: Some((title, body)),
        collapse_key: Some(format!("request-{request_id}")),
        high_priority: kind == "visit_on_the_way",
        ttl_secs: ONE_DAY,
    }
}

impl JemputNotices {
    pub(crate) fn on_the_way(language: Language, request_id: i64, eta: &str) -> PushMessage {
        let words = if language == Language::En {
            (
                "The Jemput team is on its way".to_string(),
                format!("Our team is coming to you now and expects to arrive around {eta}."),
            )
        } else {
            (
                "Tim Jemput sedang menuju ke tempat Anda".to_string(),
                format!("Tim kami sedang dalam perjalanan, perkiraan tiba sekitar pukul {eta}."),
            )
        };
        citizen_notice(request_id, "visit_on_the_way", words)
    }

    pub(crate) fn done(language: Language, request_id: i64) -> PushMessage {
        let words = if language == Language::En {
            (
                "Your Jemput visit is done".to_string(),
                "Thank you. The service is recorded as completed.".to_string(),
            )
        } else {
            (
                "Kunjungan Jemput selesai".to_string(),
                "Terima kasih. Layanan telah dicatat selesai.".to_string(),
            )
        };
        citizen_notice(request_id, "visit_done", words)
    }

    pub(crate) fn missed(language: Language, request_id: i64) -> PushMessage {
        let words = if language == Language::En {
            (
                "We missed you today".to_string(),
                "Our team could not complete the visit; we will schedule a new one and let you know."
                    .to_string(),
            )
        } else {
            (
                "Kunjungan belum terlaksana".to_string(),
                "Tim kami belum dapat menyelesaikan kunjungan; kami akan menjadwalkan ulang dan memberi tahu Anda."
                    .to_string(),
            )
        };
        citizen_notice(request_id, "visit_missed", words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_naturally_in_both_languages() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();
        assert_eq!(long_date(Language::Id, date), "Jumat, 27 November 2026");
        assert_eq!(long_date(Language::En, date), "Friday 27 November 2026");
    }

    #[test]
    fn a_route_message_is_small_and_collapses_per_day() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let message = JemputNotices.route_changed(3, date, 7);
        assert_eq!(message.collapse_key.as_deref(), Some("route-3-2026-11-23"));
        assert_eq!(message.data["version"], "7");
        assert!(serde_json::to_string(&message).unwrap_or_default().len() < 4096);
    }
}
