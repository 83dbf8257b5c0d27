//! Which OSM ways a car may drive, and in which direction: osmnx's "drive"
//! network semantics, applied to a way's tags.

use super::Oneway;

/// Highway values that are never part of the drive network.
const EXCLUDED_HIGHWAYS: &[&str] = &[
    "abandoned",
    "bridleway",
    "bus_guideway",
    "construction",
    "corridor",
    "cycleway",
    "elevator",
    "escalator",
    "footway",
    "no",
    "path",
    "pedestrian",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "service",
    "steps",
    "track",
];

/// Whether a way with these tags belongs to the drive network.
pub fn is_drivable<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> bool {
    let Some(highway) = tag("highway") else { return false };
    !EXCLUDED_HIGHWAYS.contains(&highway)
        && tag("area") != Some("yes")
        && tag("access") != Some("private")
        && tag("motor_vehicle") != Some("no")
        && tag("motorcar") != Some("no")
}

/// The allowed direction of travel: explicit `oneway` first, then
/// roundabouts and motorways, which are one-way by definition.
pub fn oneway<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Oneway {
    match tag("oneway") {
        Some("yes" | "true" | "1") => Oneway::Forward,
        Some("-1" | "reverse") => Oneway::Backward,
        Some("no" | "false" | "0") => Oneway::Both,
        _ if tag("junction") == Some("roundabout") || tag("highway") == Some("motorway") => Oneway::Forward,
        _ => Oneway::Both,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
    }

    #[test]
    fn drive_filter() {
        assert!(is_drivable(tags(&[("highway", "residential")])));
        assert!(is_drivable(tags(&[("highway", "motorway_link")])));
        assert!(!is_drivable(tags(&[("name", "x")])));
        for h in ["footway", "service", "cycleway", "track", "steps", "proposed"] {
            assert!(!is_drivable(tags(&[("highway", h)])), "{h}");
        }
        assert!(!is_drivable(tags(&[("highway", "primary"), ("access", "private")])));
        assert!(!is_drivable(tags(&[("highway", "primary"), ("motor_vehicle", "no")])));
        assert!(!is_drivable(tags(&[("highway", "primary"), ("motorcar", "no")])));
        assert!(!is_drivable(tags(&[("highway", "pedestrian"), ("area", "yes")])));
        assert!(!is_drivable(tags(&[("highway", "residential"), ("area", "yes")])));
    }

    #[test]
    fn oneway_rules() {
        assert_eq!(oneway(tags(&[("highway", "primary"), ("oneway", "yes")])), Oneway::Forward);
        assert_eq!(oneway(tags(&[("highway", "primary"), ("oneway", "1")])), Oneway::Forward);
        assert_eq!(oneway(tags(&[("highway", "primary"), ("oneway", "-1")])), Oneway::Backward);
        assert_eq!(oneway(tags(&[("highway", "primary"), ("oneway", "reverse")])), Oneway::Backward);
        assert_eq!(oneway(tags(&[("highway", "primary"), ("junction", "roundabout")])), Oneway::Forward);
        assert_eq!(oneway(tags(&[("highway", "motorway")])), Oneway::Forward);
        assert_eq!(oneway(tags(&[("highway", "motorway"), ("oneway", "no")])), Oneway::Both);
        assert_eq!(oneway(tags(&[("highway", "residential")])), Oneway::Both);
    }
}
