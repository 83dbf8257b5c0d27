//! Procedural synthetic street network (placeholder; being written).

use super::RoadData;

/// Builds a deterministic synthetic city centred on `center`, covering `radius_m`.
pub fn city(_seed: u64, _center: [f64; 2], _radius_m: f64) -> RoadData {
    RoadData::default()
}
