//! Travel between locations: a trait, with great-circle, Euclidean and matrix models.
//!
//! The solver asks the model once per pair of distinct places when it compiles a problem, so a
//! model may be slow (a road router's table API) without slowing the search.

use geo::{Distance, Haversine, Point};

use crate::problem::{Location, TravelSpec, VehicleProfile};

/// Distance and duration between two of a problem's locations for a vehicle profile.
pub trait TravelModel {
    /// Metres (plain units for Euclidean problems).
    fn distance(&self, from: &Location, to: &Location, profile: &VehicleProfile) -> f64;
    /// Minutes.
    fn duration(&self, from: &Location, to: &Location, profile: &VehicleProfile) -> f64;

    /// Both at once, for models where one follows from the other.
    fn distance_and_duration(
        &self,
        from: &Location,
        to: &Location,
        profile: &VehicleProfile,
    ) -> (f64, f64) {
        (
            self.distance(from, to, profile),
            self.duration(from, to, profile),
        )
    }
}

/// Great-circle distance × circuity, at the profile's speed.
#[derive(Debug, Clone, Copy, Default)]
pub struct GreatCircle;

impl GreatCircle {
    fn straight_line(from: &Location, to: &Location) -> f64 {
        match (from, to) {
            (
                Location::Geo {
                    lat: lat_a,
                    lon: lon_a,
                },
                Location::Geo {
                    lat: lat_b,
                    lon: lon_b,
                },
            ) => Haversine.distance(Point::new(*lon_a, *lat_a), Point::new(*lon_b, *lat_b)),
            _ => f64::INFINITY,
        }
    }
}

impl TravelModel for GreatCircle {
    fn distance(&self, from: &Location, to: &Location, profile: &VehicleProfile) -> f64 {
        Self::straight_line(from, to) * profile.circuity
    }

    fn duration(&self, from: &Location, to: &Location, profile: &VehicleProfile) -> f64 {
        self.distance_and_duration(from, to, profile).1
    }

    fn distance_and_duration(
        &self,
        from: &Location,
        to: &Location,
        profile: &VehicleProfile,
    ) -> (f64, f64) {
        let distance = self.distance(from, to, profile);
        (distance, distance / (profile.speed_kmh * 1000.0 / 60.0))
    }
}

/// Straight line on a plane at full precision; one unit of distance takes one unit of time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Euclidean;

impl TravelModel for Euclidean {
    fn distance(&self, from: &Location, to: &Location, _profile: &VehicleProfile) -> f64 {
        match (from, to) {
            (Location::Plane { x: xa, y: ya }, Location::Plane { x: xb, y: yb }) => {
                (xa - xb).hypot(ya - yb)
            }
            _ => f64::INFINITY,
        }
    }

    fn duration(&self, from: &Location, to: &Location, profile: &VehicleProfile) -> f64 {
        self.distance(from, to, profile)
    }
}

/// Distances and durations given as matrices (e.g. from a road router's table service).
#[derive(Debug, Clone, Copy)]
pub struct MatrixTravel<'a> {
    pub distances: &'a [Vec<f64>],
    pub durations: &'a [Vec<f64>],
}

impl MatrixTravel<'_> {
    fn lookup(table: &[Vec<f64>], from: &Location, to: &Location) -> f64 {
        match (from, to) {
            (Location::Index { index: a }, Location::Index { index: b }) => table
                .get(*a)
                .and_then(|row| row.get(*b))
                .copied()
                .unwrap_or(f64::INFINITY),
            _ => f64::INFINITY,
        }
    }
}

impl TravelModel for MatrixTravel<'_> {
    fn distance(&self, from: &Location, to: &Location, _profile: &VehicleProfile) -> f64 {
        Self::lookup(self.distances, from, to)
    }

    fn duration(&self, from: &Location, to: &Location, _profile: &VehicleProfile) -> f64 {
        Self::lookup(self.durations, from, to)
    }
}

/// The model a problem asks for.
pub fn model_for(spec: &TravelSpec) -> Box<dyn TravelModel + '_> {
    match spec {
        TravelSpec::GreatCircle => Box::new(GreatCircle),
        TravelSpec::Euclidean => Box::new(Euclidean),
        TravelSpec::Matrix {
            distances,
            durations,
        } => Box::new(MatrixTravel {
            distances,
            durations,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn great_circle_applies_circuity_and_speed() {
        // Wates to Sentolo, Kulon Progo: about 8.5 km as the crow flies.
        let wates = Location::Geo {
            lat: -7.8576,
            lon: 110.1588,
        };
        let sentolo = Location::Geo {
            lat: -7.8334,
            lon: 110.2318,
        };
        let profile = VehicleProfile {
            speed_kmh: 30.0,
            circuity: 1.5,
        };
        let straight = GreatCircle.distance(
            &wates,
            &sentolo,
            &VehicleProfile {
                speed_kmh: 30.0,
                circuity: 1.0,
            },
        );
        assert!((8_000.0..9_000.0).contains(&straight), "{straight}");
        let road = GreatCircle.distance(&wates, &sentolo, &profile);
        assert!((road - straight * 1.5).abs() < 1e-6);
        let minutes = GreatCircle.duration(&wates, &sentolo, &profile);
        assert!((minutes - road / 500.0).abs() < 1e-9);
    }

    #[test]
    fn euclidean_keeps_full_precision() {
        let a = Location::Plane { x: 0.0, y: 0.0 };
        let b = Location::Plane { x: 1.0, y: 1.0 };
        let d = Euclidean.distance(&a, &b, &VehicleProfile::default());
        assert_eq!(d, std::f64::consts::SQRT_2);
    }
}
