//! Times of day, weekly shift patterns with breaks, and citizens' preferred visit windows.
//! Times of day are local to the region's IANA zone; dates are calendar dates in that zone.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ErrorCode, Invalid};

/// `HH:MM`, 00:00..=24:00, in the region's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    pub fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes <= 24 * 60).then_some(Self { minutes })
    }

    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl utoipa::PartialSchema for TimeOfDay {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))
            .description(Some("Local time of day, HH:MM"))
            .examples(["08:00"])
            .into()
    }
}

impl ToSchema for TimeOfDay {}

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let err = || format!("invalid time of day {value:?}: use HH:MM between 00:00 and 24:00");
        let (h, m) = value.split_once(':').ok_or_else(err)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(err());
        }
        let h: u16 = h.parse().map_err(|_| err())?;
        let m: u16 = m.parse().map_err(|_| err())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(err());
        }
        Ok(Self {
            minutes: h * 60 + m,
        })
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> Self {
        t.to_string()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<chrono::Weekday> for Weekday {
    fn from(d: chrono::Weekday) -> Self {
        match d {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }
}

/// A break the team must take inside a window: e.g. 30 minutes somewhere in 11:45-13:00 for
/// midday prayer and lunch, or 90 minutes in 11:15-13:30 on Fridays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakRule {
    pub window_start: TimeOfDay,
    pub window_end: TimeOfDay,
    pub duration_minutes: u16,
}

/// One working day of a team's weekly pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayShift {
    pub day: Weekday,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    #[serde(default)]
    pub breaks: Vec<BreakRule>,
}

/// The days a team works and when; days not listed are days off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct WeeklyShiftPattern(pub Vec<DayShift>);

impl WeeklyShiftPattern {
    pub fn validate(self, field: &str) -> Result<Self, Invalid> {
        let mut seen = Vec::new();
        for (i, shift) in self.0.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if seen.contains(&shift.day) {
                return Err(Invalid::new(
                    at,
                    ErrorCode::DuplicateDay,
                    "each weekday at most once",
                ));
            }
            seen.push(shift.day);
            if shift.start >= shift.end {
                return Err(Invalid::new(
                    format!("{at}.end"),
                    ErrorCode::InvalidRange,
                    "shift must end after it starts",
                ));
            }
            if shift.breaks.len() > 4 {
                return Err(Invalid::new(
                    format!("{at}.breaks"),
                    ErrorCode::TooMany,
                    "at most 4 breaks a day",
                ));
            }
            for (j, b) in shift.breaks.iter().enumerate() {
                let bat = format!("{at}.breaks[{j}]");
                if b.window_start >= b.window_end {
                    return Err(Invalid::new(
                        format!("{bat}.window_end"),
                        ErrorCode::InvalidRange,
                        "break window must end after it starts",
                    ));
                }
                if b.window_start < shift.start || b.window_end > shift.end {
                    return Err(Invalid::new(
                        bat,
                        ErrorCode::OutsideShift,
                        "break window must lie inside the shift",
                    ));
                }
                let window = b.window_end.minutes() - b.window_start.minutes();
                if b.duration_minutes == 0 || b.duration_minutes > window {
                    return Err(Invalid::new(
                        format!("{bat}.duration_minutes"),
                        ErrorCode::InvalidDuration,
                        "break must last at least a minute and fit its window",
                    ));
                }
            }
        }
        Ok(self)
    }

    pub fn for_weekday(&self, day: Weekday) -> Option<&DayShift> {
        self.0.iter().find(|s| s.day == day)
    }

    /// Monday-Thursday 08:00-15:00 with a 30-minute midday break, Friday 08:00-15:30 with a
    /// 90-minute Friday-prayer break: a typical civil-service week in Indonesia.
    pub fn standard_civil_service() -> Self {
        let t = |h: u16, m: u16| TimeOfDay {
            minutes: h * 60 + m,
        };
        let weekday = |day| DayShift {
            day,
            start: t(8, 0),
            end: t(15, 0),
            breaks: vec![BreakRule {
                window_start: t(11, 45),
                window_end: t(13, 0),
                duration_minutes: 30,
            }],
        };
        Self(vec![
            weekday(Weekday::Mon),
            weekday(Weekday::Tue),
            weekday(Weekday::Wed),
            weekday(Weekday::Thu),
            DayShift {
                day: Weekday::Fri,
                start: t(8, 0),
                end: t(15, 30),
                breaks: vec![BreakRule {
                    window_start: t(11, 15),
                    window_end: t(13, 30),
                    duration_minutes: 90,
                }],
            },
        ])
    }
}

/// A day (and optionally a part of it) that suits the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferredWindow {
    pub date: NaiveDate,
    /// Local time; omitted means from the start of the team's shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TimeOfDay>,
    /// Local time; omitted means until the end of the team's shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<TimeOfDay>,
}

impl PreferredWindow {
    /// Windows must be distinct days within `earliest..=deadline`, each with start < end.
    pub fn validate_all(
        field: &str,
        windows: Vec<PreferredWindow>,
        earliest: NaiveDate,
        deadline: NaiveDate,
    ) -> Result<Vec<PreferredWindow>, Invalid> {
        if windows.len() > 14 {
            return Err(Invalid::new(
                field,
                ErrorCode::TooMany,
                "at most 14 preferred windows",
            ));
        }
        for (i, w) in windows.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if w.date < earliest || w.date > deadline {
                return Err(Invalid::new(
                    format!("{at}.date"),
                    ErrorCode::OutsideAllowedDates,
                    "preferred day must lie between earliest_date and deadline",
                ));
            }
            if let (Some(s), Some(e)) = (w.start, w.end) {
                if s >= e {
                    return Err(Invalid::new(
                        format!("{at}.end"),
                        ErrorCode::InvalidRange,
                        "window must end after it starts",
                    ));
                }
            }
            if windows[..i].iter().any(|o| o == w) {
                return Err(Invalid::new(
                    at,
                    ErrorCode::DuplicateWindow,
                    "the same window twice",
                ));
            }
        }
        let mut sorted = windows;
        sorted.sort_by_key(|w| (w.date, w.start));
        Ok(sorted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TimeOfDay {
        TimeOfDay::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn time_of_day_parses_strictly() {
        assert_eq!(t("08:30").minutes(), 510);
        assert_eq!(t("24:00").minutes(), 1440);
        for bad in ["8:30", "24:01", "12:60", "ab:cd", "", "12-30"] {
            assert!(TimeOfDay::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn standard_week_is_valid() {
        WeeklyShiftPattern::standard_civil_service()
            .validate("shifts")
            .unwrap();
    }

    #[test]
    fn break_outside_shift_is_rejected() {
        let p = WeeklyShiftPattern(vec![DayShift {
            day: Weekday::Mon,
            start: t("08:00"),
            end: t("12:00"),
            breaks: vec![BreakRule {
                window_start: t("11:00"),
                window_end: t("13:00"),
                duration_minutes: 30,
            }],
        }]);
        let err = p.validate("shifts").unwrap_err();
        assert_eq!(err.code, ErrorCode::OutsideShift);
        assert_eq!(err.field, "shifts[0].breaks[0]");
    }

    #[test]
    fn preferred_windows_stay_inside_dates() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let ok = vec![PreferredWindow {
            date: d("2026-12-02"),
            start: Some(t("08:00")),
            end: Some(t("11:00")),
        }];
        assert!(PreferredWindow::validate_all("w", ok, d("2026-12-01"), d("2026-12-05")).is_ok());
        let late = vec![PreferredWindow {
            date: d("2026-12-09"),
            start: None,
            end: None,
        }];
        let err =
            PreferredWindow::validate_all("w", late, d("2026-12-01"), d("2026-12-05")).unwrap_err();
        assert_eq!(err.field, "w[0].date");
    }
}
