//! A region's wall clock. Storage is UTC; shifts, preferred hours and promised windows are
//! local to the region's IANA zone (WIB Asia/Jakarta, WITA Asia/Makassar, WIT Asia/Jayapura),
//! and the planner counts minutes after local midnight of a day. Every conversion between
//! those lives here.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

use super::{time_zone, Invalid};

/// The clock of one region: its zone, today there, and local minutes ⇄ UTC instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionClock {
    zone: chrono_tz::Tz,
}

/// A local time that does not exist in the zone (a DST gap; Indonesia has none, but a
/// region's zone is data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchLocalTime(pub String);

impl fmt::Display for NoSuchLocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not exist in the region's time zone", self.0)
    }
}

impl std::error::Error for NoSuchLocalTime {}

impl RegionClock {
    pub fn new(zone: chrono_tz::Tz) -> RegionClock {
        RegionClock { zone }
    }

    /// The clock of an IANA zone name as given or stored, e.g. `Asia/Makassar`.
    pub fn of_zone(name: &str) -> Result<RegionClock, Invalid> {
        time_zone(name).map(RegionClock::new)
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        self.zone
    }

    /// The local date at the instant `now`.
    pub fn date_at(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.zone).date_naive()
    }

    /// Today in the region.
    pub fn today(&self) -> NaiveDate {
        self.date_at(Utc::now())
    }

    /// Minutes after local midnight, now (for "the rest of today").
    pub fn minutes_now(&self) -> f64 {
        self.local_minutes(Utc::now().naive_utc()).1
    }

    /// The local date and minutes after its midnight of a stored (UTC) time.
    pub fn local_minutes(&self, utc: NaiveDateTime) -> (NaiveDate, f64) {
        let local = Utc.from_utc_datetime(&utc).with_timezone(&self.zone);
        let minutes = f64::from(local.time().num_seconds_from_midnight()) / 60.0;
        (local.date_naive(), minutes)
    }

    /// Minutes after local midnight of `date` (may reach 24:00 and beyond) as a UTC instant,
    /// to the second.
    pub fn instant(&self, date: NaiveDate, minutes: f64) -> Result<DateTime<Utc>, NoSuchLocalTime> {
        let local = date.and_time(NaiveTime::MIN)
            + chrono::Duration::seconds((minutes * 60.0).round() as i64);
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| NoSuchLocalTime(format!("{local} in {}", self.zone)))
    }

    /// [`RegionClock::instant`] as stored (naive UTC).
    pub fn utc(&self, date: NaiveDate, minutes: f64) -> Result<NaiveDateTime, NoSuchLocalTime> {
        self.instant(date, minutes).map(|t| t.naive_utc())
    }

    /// A stored (UTC) time in the region's zone, for pages that format it themselves.
    pub fn zoned(&self, utc: NaiveDateTime) -> DateTime<chrono_tz::Tz> {
        Utc.from_utc_datetime(&utc).with_timezone(&self.zone)
    }

    /// A stored (UTC) time as people in the region read it: `HH:MM`.
    pub fn local(&self, utc: NaiveDateTime) -> String {
        self.local_of(Utc.from_utc_datetime(&utc))
    }

    /// An instant as people in the region read it: `HH:MM`.
    pub fn local_of(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone).format("%H:%M").to_string()
    }

    /// An instant on the day `date` as `HH:MM`, counted from that day's local midnight, so
    /// the end of a shift at midnight reads `24:00`, not `00:00`.
    pub fn local_on(&self, date: NaiveDate, at: DateTime<Utc>) -> String {
        let midnight = date.and_time(NaiveTime::MIN);
        let local = at.with_timezone(&self.zone).naive_local();
        hh_mm((local - midnight).num_seconds() as f64 / 60.0)
    }
}

/// `HH:MM` of minutes after midnight (rounded to the minute; 1440 is `24:00`).
pub fn hh_mm(minutes: f64) -> String {
    let total = minutes.round().max(0.0) as i64;
    format!("{:02}:{:02}", total / 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn clock(zone: &str) -> RegionClock {
        RegionClock::of_zone(zone).unwrap()
    }

    #[test]
    fn local_minutes_and_utc_are_each_others_inverse() {
        let jakarta = clock("Asia/Jakarta");
        let utc = jakarta.utc(day(23), 9.0 * 60.0 + 15.0).unwrap();
        // WIB is UTC+7 all year.
        assert_eq!(utc, day(23).and_hms_opt(2, 15, 0).unwrap());
        assert_eq!(jakarta.local(utc), "09:15");
        assert_eq!(jakarta.local_minutes(utc), (day(23), 555.0));
    }

    #[test]
    fn one_instant_is_a_different_day_in_wib_wita_and_wit() {
        // 16:30 UTC on 22 November: 23:30 WIB, but already 00:30 WITA and 01:30 WIT on the 23rd.
        let at = Utc.from_utc_datetime(&day(22).and_hms_opt(16, 30, 0).unwrap());
        assert_eq!(clock("Asia/Jakarta").date_at(at), day(22));
        assert_eq!(clock("Asia/Makassar").date_at(at), day(23));
        assert_eq!(clock("Asia/Jayapura").date_at(at), day(23));
        assert_eq!(clock("Asia/Jakarta").local_of(at), "23:30");
        assert_eq!(clock("Asia/Makassar").local_of(at), "00:30");
        assert_eq!(clock("Asia/Jayapura").local_of(at), "01:30");
    }

    #[test]
    fn early_morning_local_is_the_previous_day_in_utc() {
        let utc = clock("Asia/Jayapura").utc(day(23), 8.0 * 60.0).unwrap();
        // WIT is UTC+9: 08:00 on the 23rd is 23:00 UTC on the 22nd.
        assert_eq!(utc, day(22).and_hms_opt(23, 0, 0).unwrap());
        assert_eq!(
            clock("Asia/Jayapura").local_minutes(utc),
            (day(23), 8.0 * 60.0)
        );
    }

    #[test]
    fn midnight_at_the_end_of_a_day_is_24_00_of_that_day() {
        let makassar = clock("Asia/Makassar");
        let end = makassar.instant(day(23), 24.0 * 60.0).unwrap();
        assert_eq!(end, makassar.instant(day(24), 0.0).unwrap());
        assert_eq!(makassar.local_on(day(23), end), "24:00");
        assert_eq!(makassar.local_of(end), "00:00");
        assert_eq!(makassar.local_minutes(end.naive_utc()), (day(24), 0.0));
    }

    #[test]
    fn minutes_read_as_hours_and_minutes() {
        assert_eq!(hh_mm(8.0 * 60.0 + 5.4), "08:05");
        assert_eq!(hh_mm(1440.0), "24:00");
        assert_eq!(hh_mm(-3.0), "00:00");
    }

    #[test]
    fn an_unknown_zone_is_refused() {
        assert!(RegionClock::of_zone("Asia/Bandung").is_err());
    }
}
