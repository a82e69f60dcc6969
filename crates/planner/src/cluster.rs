//! Hotspots: places where many requests sit close together, found with geo's DBSCAN on a local
//! metric projection. A team holding a pop-up service at the village hall there serves them
//! faster than door-to-door visits.

use geo::{Dbscan, Distance, Haversine, Point};

use crate::problem::{Job, Location};
use crate::solution::Hotspot;

const METRES_PER_DEGREE: f64 = 111_320.0;

/// Groups of at least `min_jobs` requests chained within `radius_m` metres of each other,
/// largest first. Jobs without a geographic location are ignored.
pub fn hotspots(jobs: &[Job], radius_m: f64, min_jobs: usize) -> Vec<Hotspot> {
    let geo: Vec<(usize, f64, f64)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job.location {
            Location::Geo { lat, lon } => Some((i, lat, lon)),
            _ => None,
        })
        .collect();
    if geo.len() < min_jobs.max(1) || radius_m <= 0.0 {
        return Vec::new();
    }
    // Equirectangular projection around the mean latitude: metres, accurate within a regency.
    let mean_lat = geo.iter().map(|g| g.1).sum::<f64>() / geo.len() as f64;
    let x_scale = METRES_PER_DEGREE * mean_lat.to_radians().cos();
    let projected: Vec<Point<f64>> = geo
        .iter()
        .map(|&(_, lat, lon)| Point::new(lon * x_scale, lat * METRES_PER_DEGREE))
        .collect();
    let labels = projected.as_slice().dbscan(radius_m, min_jobs.max(1));
    let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters];
    for (k, label) in labels.iter().enumerate() {
        if let Some(c) = label {
            members[*c].push(k);
        }
    }
    let mut spots: Vec<Hotspot> = members
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|m| {
            let lat = m.iter().map(|&k| geo[k].1).sum::<f64>() / m.len() as f64;
            let lon = m.iter().map(|&k| geo[k].2).sum::<f64>() / m.len() as f64;
            let centre = Point::new(lon, lat);
            let radius = m
                .iter()
                .map(|&k| Haversine.distance(centre, Point::new(geo[k].2, geo[k].1)))
                .fold(0.0, f64::max);
            Hotspot {
                centre: Location::Geo { lat, lon },
                radius,
                jobs: m.iter().map(|&k| jobs[geo[k].0].id.clone()).collect(),
            }
        })
        .collect();
    spots.sort_by(|a, b| b.jobs.len().cmp(&a.jobs.len()).then(a.jobs.cmp(&b.jobs)));
    spots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, lat: f64, lon: f64) -> Job {
        serde_json::from_value(serde_json::json!({
            "id": id, "location": {"lat": lat, "lon": lon}, "service_minutes": 10
        }))
        .unwrap()
    }

    #[test]
    fn a_tight_group_is_a_hotspot_and_scattered_jobs_are_not() {
        let mut jobs: Vec<Job> = (0..8)
            .map(|i| job(&format!("near{i}"), -7.85 + i as f64 * 0.0005, 110.16))
            .collect();
        jobs.extend((0..5).map(|i| job(&format!("far{i}"), -7.7 - i as f64 * 0.05, 110.3)));
        let spots = hotspots(&jobs, 400.0, 6);
        assert_eq!(spots.len(), 1);
        assert_eq!(spots[0].jobs.len(), 8);
        assert!(spots[0].jobs.iter().all(|j| j.starts_with("near")));
        assert!(spots[0].radius < 300.0, "{}", spots[0].radius);
    }
}
