//! Downloading a location's drive network from an Overpass API endpoint (placeholder; being written).
