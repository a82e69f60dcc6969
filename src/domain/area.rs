//! A region's boundary (GeoJSON polygons), to refuse visit requests pinned outside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use geo::{Contains, MultiPolygon, Point};

use super::{Coordinates, ErrorCode, Invalid};

#[derive(Debug, Clone)]
pub struct Boundary(MultiPolygon<f64>);

impl Boundary {
    /// Accepts a GeoJSON Polygon or MultiPolygon, bare or inside a Feature / FeatureCollection.
    pub fn parse(field: &str, text: &str) -> Result<Self, Invalid> {
        let invalid = |why: String| Invalid::new(field, ErrorCode::InvalidBoundary, why);
        let gj: geojson::GeoJson = text
            .parse()
            .map_err(|e| invalid(format!("not GeoJSON: {e}")))?;
        let geometries: Vec<geojson::Geometry> = match gj {
            geojson::GeoJson::Geometry(g) => vec![g],
            geojson::GeoJson::Feature(f) => f.geometry.into_iter().collect(),
            geojson::GeoJson::FeatureCollection(fc) => {
                fc.features.into_iter().filter_map(|f| f.geometry).collect()
            }
        };
        let mut polygons = Vec::new();
        for g in geometries {
            match geo::Geometry::<f64>::try_from(g)
                .map_err(|e| invalid(format!("unreadable geometry: {e}")))?
            {
                geo::Geometry::Polygon(p) => polygons.push(p),
                geo::Geometry::MultiPolygon(mp) => polygons.extend(mp.0),
                _ => {
                    return Err(invalid(
                        "only Polygon and MultiPolygon geometries describe an area".into(),
                    ))
                }
            }
        }
        if polygons.is_empty() {
            return Err(invalid("no polygon found".into()));
        }
        Ok(Self(MultiPolygon(polygons)))
    }

    pub fn contains(&self, at: Coordinates) -> bool {
        self.0.contains(&Point::new(at.lon, at.lat))
    }
}

/// Parsed boundaries by region, so intake does not re-parse the GeoJSON on every request. An
/// entry is used only while the stored text is the same, so a changed boundary is parsed again
/// and nothing here can be stale; every instance keeps its own, and none needs another's.
#[derive(Debug, Default)]
pub struct BoundaryCache(Mutex<HashMap<i64, (String, Arc<Boundary>)>>);

impl BoundaryCache {
    /// The boundary of `region_id` as parsed from `text` (the region's stored GeoJSON).
    pub fn get(&self, region_id: i64, text: &str) -> Result<Arc<Boundary>, Invalid> {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((cached, boundary)) = cache.get(&region_id) {
            if cached == text {
                return Ok(boundary.clone());
            }
        }
        let boundary = Arc::new(Boundary::parse("boundary", text)?);
        cache.insert(region_id, (text.to_string(), boundary.clone()));
        Ok(boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGENCY: &str = include_str!("../../assets/kulon_progo_regency.geojson");

    #[test]
    fn kulon_progo_contains_wates_but_not_jakarta() {
        let b = Boundary::parse("boundary", REGENCY).unwrap();
        assert!(b.contains(Coordinates {
            lat: -7.8606,
            lon: 110.1583
        }));
        assert!(!b.contains(Coordinates {
            lat: -6.2,
            lon: 106.8
        }));
    }

    #[test]
    fn the_cache_parses_again_when_the_text_changes() {
        let cache = BoundaryCache::default();
        let wates = Coordinates {
            lat: -7.8606,
            lon: 110.1583,
        };
        let first = cache.get(1, REGENCY).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.get(1, REGENCY).unwrap()));
        assert!(first.contains(wates));
        let elsewhere = r#"{"type":"Polygon","coordinates":[[[106.7,-6.3],[106.9,-6.3],[106.9,-6.1],[106.7,-6.1],[106.7,-6.3]]]}"#;
        let changed = cache.get(1, elsewhere).unwrap();
        assert!(!changed.contains(wates));
        assert!(cache.get(1, "not json").is_err());
        assert!(cache.get(2, REGENCY).unwrap().contains(wates));
    }

    #[test]
    fn points_and_garbage_are_rejected() {
        assert!(Boundary::parse("b", r#"{"type":"Point","coordinates":[110.1,-7.8]}"#).is_err());
        assert!(Boundary::parse("b", "not json").is_err());
    }
}

/// Districts (kecamatan) by name, to say which one a place is in. The service knows the
/// districts of the embedded place data ([`DEMO_DISTRICTS`], Kulon Progo); a place outside all
/// of them is in none.
#[derive(Debug, Clone)]
pub struct Districts(Vec<(String, MultiPolygon<f64>)>);

/// Kulon Progo's districts, from the repository's `assets/` (MIT, licences there).
pub const DEMO_DISTRICTS: &str = include_str!("../../assets/kulon_progo_districts.geojson");

impl Districts {
    /// A GeoJSON FeatureCollection whose features carry their name in `nama` (or `name`).
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let invalid = |why: String| Invalid::new("districts", ErrorCode::InvalidBoundary, why);
        let collection = match text
            .parse::<geojson::GeoJson>()
            .map_err(|e| invalid(format!("not GeoJSON: {e}")))?
        {
            geojson::GeoJson::FeatureCollection(fc) => fc,
            _ => return Err(invalid("not a FeatureCollection".into())),
        };
        let mut districts = Vec::new();
        for feature in collection.features {
            let name = ["nama", "name"]
                .iter()
                .find_map(|key| feature.property(key).and_then(|v| v.as_str()))
                .ok_or_else(|| invalid("a district has no name".into()))?
                .to_string();
            let geometry = feature
                .geometry
                .ok_or_else(|| invalid(format!("{name} has no geometry")))?;
            let area = match geo::Geometry::<f64>::try_from(geometry)
                .map_err(|e| invalid(format!("{name}: unreadable geometry: {e}")))?
            {
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(mp) => mp,
                _ => return Err(invalid(format!("{name} is not an area"))),
            };
            districts.push((name, area));
        }
        Ok(Self(districts))
    }

    /// The name of the district `at` is in.
    pub fn name_at(&self, at: Coordinates) -> Option<&str> {
        let point = Point::new(at.lon, at.lat);
        self.0
            .iter()
            .find(|(_, area)| area.contains(&point))
            .map(|(name, _)| name.as_str())
    }
}
