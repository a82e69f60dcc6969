//! A region's local time: stored times are UTC, coordinators and citizens read the region's
//! wall clock, and the planner counts minutes after local midnight.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Timelike};

use super::{internal, EditError};
use crate::db::dispatch::Snapshot;

/// Local time of region `zone`, both ways.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub zone: chrono_tz::Tz,
}

impl Clock {
    /// The clock of a stored IANA zone name.
    pub fn of_zone(stored: &str) -> Result<Clock, EditError> {
        Ok(Clock {
            zone: crate::domain::time_zone(stored)
                .map_err(|e| internal(format!("stored time zone unreadable: {}", e.message)))?,
        })
    }

    pub fn local(&self, utc: NaiveDateTime) -> String {
        chrono::Utc
            .from_utc_datetime(&utc)
            .with_timezone(&self.zone)
            .format("%H:%M")
            .to_string()
    }

    /// The local date and minutes after its midnight of a UTC time.
    pub fn local_minutes(&self, utc: NaiveDateTime) -> (NaiveDate, f64) {
        let local = chrono::Utc
            .from_utc_datetime(&utc)
            .with_timezone(&self.zone)
            .naive_local();
        let minutes = f64::from(local.time().num_seconds_from_midnight()) / 60.0;
        (local.date(), minutes)
    }

    /// Minutes after local midnight of `date` as UTC.
    pub fn utc(&self, date: NaiveDate, minutes: f64) -> Result<NaiveDateTime, EditError> {
        let local = date.and_time(chrono::NaiveTime::MIN)
            + chrono::Duration::seconds((minutes * 60.0).round() as i64);
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.naive_utc())
            .ok_or_else(|| internal(format!("{local} does not exist in {}", self.zone)))
    }
}

/// The clock of the snapshot's region.
pub fn region_clock(snapshot: &Snapshot) -> Result<Clock, EditError> {
    Clock::of_zone(&snapshot.region.time_zone)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::planning::dispatch::fixtures::{jakarta, monday};

    #[test]
    fn local_minutes_and_utc_are_each_others_inverse() {
        let clock = jakarta();
        let utc = clock.utc(monday(), 9.0 * 60.0 + 15.0).unwrap();
        // Jakarta is UTC+7 all year.
        assert_eq!(utc, monday().and_hms_opt(2, 15, 0).unwrap());
        assert_eq!(clock.local(utc), "09:15");
        assert_eq!(clock.local_minutes(utc), (monday(), 555.0));
    }

    #[test]
    fn early_morning_local_is_the_previous_day_in_utc() {
        let utc = jakarta().utc(monday(), 3.0 * 60.0).unwrap();
        let sunday = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(utc, sunday.and_hms_opt(20, 0, 0).unwrap());
    }
}
