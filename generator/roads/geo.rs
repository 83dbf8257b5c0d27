//! Small geodesy helpers: great-circle distance and a local planar projection.

/// Mean Earth radius in metres (IUGG), as used by osmnx's great-circle lengths.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Haversine distance in metres between two `[lat, lon]` points in degrees.
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, la2) = (a[0].to_radians(), b[0].to_radians());
    let dlat = la2 - la1;
    let dlon = (b[1] - a[1]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Metres per degree of latitude and of longitude around `lat`: a local
/// equirectangular projection, accurate to well under 1 % over a city.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let per_lat = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    (per_lat, per_lat * lat.to_radians().cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude is ~111.195 km on the mean sphere.
        assert!((haversine_m([0.0, 0.0], [1.0, 0.0]) - 111_195.08).abs() < 1.0);
        // SF kitchen to Palo Alto kitchen: ~ 49.8 km.
        let d = haversine_m([37.7910243, -122.3928646], [37.4029372, -122.1107398]);
        assert!((d - 49_800.0).abs() < 1500.0, "{d}");
        assert_eq!(haversine_m([10.0, 10.0], [10.0, 10.0]), 0.0);
    }
}
